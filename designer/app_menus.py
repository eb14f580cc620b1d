"""The main window's actions and menus: File, Edit, View, Run, Help, and each action's
shortcut. Mixed into :class:`designer.app.MainWindow`, which calls ``_build_actions`` and
``_build_menus`` once the editor is built, and ``_build_run_menu`` with the run panels."""

from __future__ import annotations

from collections.abc import Callable
from html import escape as html_escape
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget, QMenu, QMessageBox

from designer.i18n import translate

APP_NAME = "Torchwire"


class AppMenus:
    """The window's menus and actions (``actions_by_name``: each by its stable name)."""

    actions_by_name: dict[str, QAction]
    document: Any
    canvas: Any
    training_panel: Any

    def _act(
        self,
        name: str,
        text: str,
        slot: Callable[[], Any],
        shortcut: Any = None,
        *,
        canvas_only: bool = False,
        tip: str = "",
    ) -> QAction:
        a = QAction(text, self)
        a.setObjectName(f"action_{name}")
        if shortcut is not None:
            seqs = shortcut if isinstance(shortcut, list) else [shortcut]
            a.setShortcuts([QKeySequence(s) for s in seqs])
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        a.triggered.connect(lambda _checked=False: slot())
        if canvas_only:
            # keys like Del, F and Tab must not fire while typing in a panel
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.canvas.viewer.addAction(a)
        else:
            self.addAction(a)
        self.actions_by_name[name] = a
        return a

    def _build_actions(self) -> None:
        S = QKeySequence.StandardKey
        c = self.canvas
        self._act("new", translate("MainWindow", "&New"), self.new_file, S.New)
        self._act("open", translate("MainWindow", "&Open…"), self.open_file, S.Open)
        self._act("save", translate("MainWindow", "&Save"), self.save, S.Save)
        self._act("save_as", translate("MainWindow", "Save &As…"), self.save_as, "Ctrl+Shift+S")
        self._act("quit", translate("MainWindow", "&Quit"), self.close, S.Quit)
        undo = self.document.undo_stack.createUndoAction(self, translate("MainWindow", "&Undo"))
        undo.setShortcuts([QKeySequence(S.Undo)])
        redo = self.document.undo_stack.createRedoAction(self, translate("MainWindow", "&Redo"))
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self._plain_names = {
            "undo": translate("MainWindow", "Undo"),
            "redo": translate("MainWindow", "Redo"),
        }
        for name, a in (("undo", undo), ("redo", redo)):
            a.setObjectName(f"action_{name}")
            self.addAction(a)
            self.actions_by_name[name] = a
        self._act("cut", translate("MainWindow", "Cu&t"), c.cut_selected, S.Cut, canvas_only=True)
        self._act(
            "copy", translate("MainWindow", "&Copy"), c.copy_selected, S.Copy, canvas_only=True
        )
        self._act("paste", translate("MainWindow", "&Paste"), c.paste, S.Paste, canvas_only=True)
        self._act(
            "duplicate",
            translate("MainWindow", "&Duplicate"),
            c.duplicate_selected,
            "Ctrl+D",
            canvas_only=True,
        )
        self._act(
            "delete",
            translate("MainWindow", "De&lete"),
            c.delete_selected,
            [Qt.Key.Key_Delete, Qt.Key.Key_Backspace],
            canvas_only=True,
        )
        self._act(
            "rename",
            translate("MainWindow", "Re&name…"),
            self.rename_selected,
            "F2",
            canvas_only=True,
        )
        self._act(
            "freeze",
            translate("MainWindow", "Free&ze"),
            lambda: c.freeze_selected(True),
            canvas_only=True,
        )
        self._act(
            "unfreeze",
            translate("MainWindow", "Un&freeze"),
            lambda: c.freeze_selected(False),
            canvas_only=True,
        )
        self._act(
            "select_all",
            translate("MainWindow", "Select &All"),
            c.select_all,
            S.SelectAll,
            canvas_only=True,
        )
        self._act(
            "add_node",
            translate("MainWindow", "&Add Node…"),
            c.show_search,
            Qt.Key.Key_Tab,
            canvas_only=True,
            tip=translate("MainWindow", "Search the catalog and add a node (Tab on the canvas)"),
        )
        self._act(
            "fit", translate("MainWindow", "&Fit to View"), c.fit, Qt.Key.Key_F, canvas_only=True
        )
        self._act("auto_layout", translate("MainWindow", "Auto-&Layout"), c.auto_layout, "Ctrl+L")
        self._act(
            "zoom_in",
            translate("MainWindow", "Zoom &In"),
            lambda: c.zoom(1.2),
            [S.ZoomIn, "Ctrl+="],
        )
        self._act(
            "zoom_out", translate("MainWindow", "Zoom &Out"), lambda: c.zoom(1 / 1.2), S.ZoomOut
        )
        self._act(
            "zoom_reset", translate("MainWindow", "&Actual Size"), lambda: c.zoom(None), "Ctrl+0"
        )
        self._act(
            "check", translate("MainWindow", "Check &Now"), self.document.schedule_check, "Ctrl+K"
        )
        self._act(
            "preferences",
            translate("MainWindow", "&Settings…"),
            self.show_settings,
            S.Preferences,
            tip=translate("MainWindow", "Language and other preferences"),
        )
        self._act("find", translate("MainWindow", "&Find in Palette"), self._focus_palette, S.Find)

    def _build_shell_menus(self) -> None:
        """The whole menu bar at once, before the engine has loaded: each menu there,
        saying what is still loading (its items come with the editor, Run's with the
        training tools); Quit works from the start."""
        self.shell_menus: dict[str, QMenu] = {}
        for key, title in (
            ("file", translate("MainWindow", "&File")),
            ("edit", translate("MainWindow", "&Edit")),
            ("view", translate("MainWindow", "&View")),
            ("run", translate("MainWindow", "&Run")),
            ("help", translate("MainWindow", "&Help")),
        ):
            m = self.menuBar().addMenu(title)
            m.setObjectName(f"menu_{key}")
            self.shell_menus[key] = m
            what = (
                translate("MainWindow", "Loading the training tools…")
                if key == "run"
                else translate("MainWindow", "Loading the editor…")
            )
            loading = m.addAction(what)
            loading.setObjectName("loading")
            loading.setEnabled(False)
        self.shell_menus["file"].addSeparator()
        self.shell_menus["file"].addAction(translate("MainWindow", "&Quit"), self.close)

    def _menu(self, key: str) -> QMenu:
        """The menu bar's ``key`` menu, emptied of its loading note."""
        m = self.shell_menus.pop(key)
        m.clear()
        return m

    def _build_menus(self) -> None:
        A = self.actions_by_name
        f = self._menu("file")
        for n in ("new", "open"):
            f.addAction(A[n])
        self.recent_menu = f.addMenu(translate("MainWindow", "Open &Recent"))
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.examples_menu = f.addMenu(translate("MainWindow", "&Examples"))
        self._fill_examples()
        a = f.addAction(translate("MainWindow", "&Import Model…"), self._import_model)
        a.setObjectName("action_import_model")
        A["import_model"] = a
        f.addSeparator()
        f.addAction(A["save"])
        f.addAction(A["save_as"])
        f.addSeparator()
        self.export_menu = f.addMenu(translate("MainWindow", "E&xport"))
        self._fill_export()
        f.addSeparator()
        f.addAction(A["quit"])
        e = self._menu("edit")
        for n in (
            "undo",
            "redo",
            None,
            "cut",
            "copy",
            "paste",
            "duplicate",
            "delete",
            None,
            "rename",
            "select_all",
            None,
            "freeze",
            "unfreeze",
            None,
            "add_node",
            "find",
            None,
            "preferences",
        ):
            e.addSeparator() if n is None else e.addAction(A[n])
        v = self.view_menu = self._menu("view")
        for n in ("fit", "zoom_in", "zoom_out", "zoom_reset", "auto_layout", "check"):
            v.addAction(A[n])
        v.addSeparator()
        for d in self.findChildren(QDockWidget):
            v.addAction(d.toggleViewAction())
        h = self.help_menu = self._menu("help")
        h.addAction(translate("MainWindow", "Keyboard Shortcuts"), self._show_shortcuts)
        h.addAction(translate("MainWindow", "About %1").replace("%1", APP_NAME), self._about)

    def _build_run_menu(self, tp: Any) -> None:
        """Run ▸ Train/Pause/Resume/Stop (one state with the panel's buttons), Compress, Serve."""
        r = self._menu("run")
        for name, text, key in (
            ("train", translate("MainWindow", "&Train"), "Ctrl+R"),
            ("pause", translate("MainWindow", "&Pause"), None),
            ("resume", translate("MainWindow", "Res&ume"), None),
            ("stop", translate("MainWindow", "&Stop"), "Ctrl+."),
        ):
            slot = getattr(tp, {"train": "start"}.get(name, name), None)
            if slot is not None:
                r.addAction(self._act(name, text, self._show_training(slot), key))

        def sync_run_actions() -> None:  # one state: menu, button and shortcut (item 3)
            for name in ("train", "pause", "resume", "stop"):
                act = self.actions_by_name.get(name)
                if act is not None:
                    act.setEnabled(tp.action_enabled(name))

        tp.actionsChanged.connect(sync_run_actions)
        sync_run_actions()
        self._add_compress(r, tp)
        r.addSeparator()
        self._add_serve_actions(r)

    def _no_run_menu(self) -> None:
        """Without the run panels' modules there is nothing to run: no Run menu."""
        m = self.shell_menus.pop("run", None)
        if m is not None:
            self.menuBar().removeAction(m.menuAction())

    def _show_training(self, slot: Callable[[], Any]) -> Callable[[], Any]:
        def go() -> None:
            self.dock_training.show()
            self.dock_training.raise_()
            if self.dock_training.height() < 360:
                self.resizeDocks([self.dock_training], [420], Qt.Orientation.Vertical)
            slot()

        return go

    def _fill_export(self) -> None:
        try:
            from designer.panels import export as export_mod
        except ModuleNotFoundError as e:
            if not (e.name or "").startswith("designer"):
                raise
            self.export_menu.setEnabled(False)
            return

        def ckpt() -> Any:
            tp = self.training_panel
            return getattr(tp, "last_checkpoint", None) if tp is not None else None

        a1 = self.export_menu.addAction(
            translate("MainWindow", "&ONNX…"),
            lambda: export_mod.export_onnx_dialog(self, self.document, ckpt()),
        )
        a1.setObjectName("action_export_onnx")
        a2 = self.export_menu.addAction(
            translate("MainWindow", "&Python Code…"),
            lambda: export_mod.export_python_dialog(self, self.document, ckpt()),
        )
        a2.setObjectName("action_export_python")
        self.actions_by_name["export_onnx"] = a1
        self.actions_by_name["export_python"] = a2
        self._add_serve_actions()

    def _add_serve_actions(self, run_menu: QMenu | None = None) -> None:
        """File ▸ Export ▸ Server bundle… (with the export menu), Run ▸ Serve… (with Run)."""
        try:
            from designer.panels import serve as serve_mod
        except ModuleNotFoundError as e:
            if not (e.name or "").startswith("designer"):
                raise
            return
        if run_menu is None:
            a = self.export_menu.addAction(
                translate("MainWindow", "Server &Bundle…"), lambda: serve_mod.bundle_dialog(self)
            )
            a.setObjectName("action_export_bundle")
            self.actions_by_name["export_bundle"] = a
            return
        a = run_menu.addAction(
            translate("MainWindow", "Ser&ve…"), lambda: serve_mod.serve_dialog(self)
        )
        a.setObjectName("action_serve")
        self.actions_by_name["serve"] = a

    def _add_compress(self, menu: QMenu, tp: Any) -> None:
        """Run ▸ Compress…: the Compress dialog on the last finished run."""

        def open_dialog() -> None:
            from designer.panels.compress import compress_dialog

            self.compress_dialog = compress_dialog(self, tp)

        menu.addSeparator()
        a = menu.addAction(translate("MainWindow", "&Compress Last Run…"), open_dialog)
        a.setObjectName("action_compress")
        a.setEnabled(tp.last_run_dir is not None)
        tp.runFinished.connect(lambda _ev: a.setEnabled(tp.last_run_dir is not None))
        self.actions_by_name["compress"] = a

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """(what, keys) for Help ▸ Keyboard Shortcuts: each action by its own name (Undo's
        text follows the stack, "Undo Move", which is not what the key does in general)."""
        rows = []
        for name, a in self.actions_by_name.items():
            keys = ", ".join(
                s.toString(QKeySequence.SequenceFormat.NativeText) for s in a.shortcuts()
            )
            if keys:
                rows.append((self._plain_names.get(name) or a.text().replace("&", ""), keys))
        return rows

    def _show_shortcuts(self) -> None:
        rows = [
            f"<tr><td>{html_escape(t)}</td><td><b>{html_escape(k)}</b></td></tr>"
            for t, k in self.shortcut_rows()
        ]
        QMessageBox.information(
            self,
            translate("MainWindow", "Keyboard shortcuts"),
            "<table cellspacing=6>"
            + "".join(rows)
            + "</table><p>"
            + translate(
                "MainWindow",
                "Canvas: drag with the middle button or Alt to pan, wheel to zoom, drag on the "
                "background to select, drag from a port to connect.",
            )
            + "</p>",
        )

    def _about(self) -> None:
        from engine import __version__

        self.about_box = box = QMessageBox(self)
        box.setObjectName("about_box")
        box.setIcon(QMessageBox.Icon.Information)
        box.setWindowTitle(translate("MainWindow", "About %1").replace("%1", APP_NAME))
        box.setText(
            f"<b>{APP_NAME} {__version__}</b><p>"
            + translate("MainWindow", "Design, train and ship PyTorch models visually.")
            + "</p>"
        )
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        if QApplication.platformName() != "offscreen":
            box.exec()


__all__ = ["APP_NAME", "AppMenus"]
