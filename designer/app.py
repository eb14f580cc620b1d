"""The main window: canvas in the middle, palette, properties, problems, code, training docks.

Start-up shows the window first and loads torch, the engine and NodeGraphQt on a
background thread (``import torch`` alone takes seconds); the window becomes the editor
once they are in. ``run(argv)`` is what ``torchwire [FILE]`` calls.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from html import escape as html_escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QFrame,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QWidget,
)

from designer.i18n import translate

APP_NAME = "Torchwire"
LAYOUT_VERSION = "1"  # bump when the docks change, so an old saved layout is not applied
FILE_FILTER = "Torchwire projects (*.json);;All files (*)"


def load_modules() -> None:
    """Everything the editor needs, imported (safe to call from any thread)."""
    import engine.check  # noqa: F401  (torch)
    from engine import catalog

    list(catalog.all_specs())
    from designer.files import load_plugins

    load_plugins()  # the user's own node types, imported here, off the GUI thread
    import NodeGraphQt  # noqa: F401

    import designer.canvas
    import designer.document
    import designer.panels.code
    import designer.panels.palette
    import designer.panels.problems
    import designer.panels.properties  # noqa: F401

    # The run panels (pyqtgraph) load after the first check is drawn: designer/features.py.


class MainWindow(QMainWindow):
    """The designer window. ``load()`` turns the start-up shell into the editor."""

    loaded = Signal()

    def __init__(self, path: str | Path | None = None, *, eager: bool = True) -> None:
        super().__init__()
        from designer.bridge import gui_thread_gc

        gui_thread_gc()  # the app runs engine work on threads: collect only on this one
        self.setWindowTitle(APP_NAME)
        self.resize(1500, 920)
        self.setDockNestingEnabled(True)
        self.document: Any = None
        self.canvas: Any = None
        self.actions_by_name: dict[str, QAction] = {}
        self.training_panel: QWidget | None = None
        self.predict_panel: QWidget | None = None
        self._initial_path = Path(path) if path is not None else None
        self._splash = QLabel(self.tr("Loading Torchwire…"))
        self._splash.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._splash.setStyleSheet("color: #9aa0aa; font-size: 16px;")
        self.setCentralWidget(self._splash)
        self.statusBar().showMessage(self.tr("Loading the engine…"))
        # Confirmation hooks: tests replace these instead of clicking modal boxes.
        self.ask_save_changes: Callable[[], str] = self._ask_save_changes
        self.ask_stop_training: Callable[[str], bool] = self._ask_stop_training
        self.ask_open_path: Callable[[], str | None] = self._ask_open_path
        self.ask_save_path: Callable[[], str | None] = self._ask_save_path
        self.ask_recover: Callable[[list[Any]], Any] = self._ask_recover
        self.is_loaded = False
        self.defer_run_panels = False
        if eager:
            self.load()

    # -- start-up -------------------------------------------------------------------------
    def load(self) -> None:
        """Build the editor (the heavy modules must be importable; fast once imported)."""
        from designer.canvas import Canvas
        from designer.document import Document
        from designer.files import Autosaver, load_plugins
        from designer.panels.code import CodePanel
        from designer.panels.palette import PalettePanel
        from designer.panels.problems import ProblemsPanel
        from designer.panels.properties import PropertiesPanel

        plugins = load_plugins()  # before the canvas and palette read the catalog
        self.document = doc = Document(parent=self)
        self.canvas = Canvas(doc, self)
        self.setCentralWidget(self.canvas)
        self._splash = None
        self.palette = PalettePanel()
        self.properties = PropertiesPanel(doc)
        self.problems = ProblemsPanel(doc)
        self.code = CodePanel(doc)
        self.dock_palette = self._dock(
            self.tr("Palette"), self.palette, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.dock_properties = self._dock(
            self.tr("Properties"), self.properties, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.dock_problems = self._dock(
            self.tr("Problems"), self.problems, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.dock_code = self._dock(
            self.tr("Code"), self.code, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self._saved_layout = self._read_layout()
        self._tabify(self.dock_properties, self.dock_code)
        self.dock_code.visibilityChanged.connect(self.code.set_active)
        self.dock_properties.raise_()
        self._build_actions()
        self._build_menus()
        from designer import features

        features.install(self)  # minimap, frames, collapse, node help (designer/features.py)
        if self.defer_run_panels:
            features.after_first_check(self, self._add_run_panels)  # the canvas first
        else:
            self._add_run_panels()
        self._build_status()
        self._wire()
        from designer.blocks_ui import BlocksController

        self.blocks = BlocksController(self)  # block instances, Make Block…, the block library
        self.autosaver = Autosaver(doc)
        doc.warm_up()
        self._size_docks()
        QTimer.singleShot(0, self._size_docks)
        self.is_loaded = True
        self._update_title()
        self.statusBar().showMessage(self.tr("Ready"), 3000)
        self._plugin_problems(plugins)
        if self._initial_path is not None:
            self.open_path(self._initial_path)
        self.loaded.emit()

    def _size_docks(self) -> None:
        # in proportion to the window, so a small one keeps a usable canvas (#16 item 14)
        w, h = max(self.width(), 800), max(self.height(), 560)
        self.resizeDocks([self.dock_palette], [min(240, w // 5)], Qt.Orientation.Horizontal)
        self.resizeDocks([self.dock_properties], [min(320, w // 4)], Qt.Orientation.Horizontal)
        self.resizeDocks([self.dock_problems], [min(240, h // 3)], Qt.Orientation.Vertical)

    def _dock(
        self, title: str, widget: QWidget, area: Qt.DockWidgetArea, scroll: bool = False
    ) -> QDockWidget:
        d = QDockWidget(title, self)
        name = {w: n for n, w in self._dock_names().items()}.get(widget, title)
        d.setObjectName(f"dock_{name.lower()}")
        if scroll:
            # a tall panel scrolls instead of taking the canvas's room
            area_w = QScrollArea()
            area_w.setWidgetResizable(True)
            area_w.setFrameShape(QFrame.Shape.NoFrame)
            area_w.setWidget(widget)
            d.setWidget(area_w)
        else:
            d.setWidget(widget)
        self.addDockWidget(area, d)
        return d

    def _dock_names(self) -> dict[str, Any]:
        """Each dock's English name (its object name, kept across languages)."""
        return {
            n: getattr(self, a, None)
            for n, a in (
                ("Palette", "palette"),
                ("Properties", "properties"),
                ("Problems", "problems"),
                ("Code", "code"),
                ("Training", "training_panel"),
                ("Predict", "predict_panel"),
                ("Tuning", "tuning_panel"),
            )
        }

    def _add_run_panels(self) -> None:
        """Training and Predict docks and the Run menu, when the run panels' modules exist.

        At start-up this runs one event-loop turn after the editor appears (the plots take
        a while to build), so the canvas is usable first.
        """
        if self.training_panel is not None:
            return
        self._make_run_panels()
        if self.training_panel is None:
            return
        tp = self.training_panel
        r = QMenu(self.tr("&Run"), self)
        self.menuBar().insertMenu(self.help_menu.menuAction(), r)
        for name, text, key in (
            ("train", self.tr("&Train"), "Ctrl+R"),
            ("pause", self.tr("&Pause"), None),
            ("resume", self.tr("Res&ume"), None),
            ("stop", self.tr("&Stop"), "Ctrl+."),
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
        self.view_menu.addAction(self.dock_training.toggleViewAction())
        if self.predict_panel is not None:
            self.view_menu.addAction(self.dock_predict.toggleViewAction())
        self._make_tuning_panel()
        from designer import features

        features.install_run_docks(self)  # the Runs dock
        self.dock_problems.raise_()
        self._size_docks()
        self._restore_layout()

    def _read_layout(self) -> Any:
        from designer.files import settings

        s = settings()
        if s.value("window/layout_version") != LAYOUT_VERSION:
            return None
        return s.value("window/state")

    def _tabify(self, first: QDockWidget, second: QDockWidget) -> None:
        # With a saved layout, restoreState arranges the docks; tabifying first as well
        # leaves a stale tab bar painted over the docks (Qt 6).
        if self._saved_layout is None:
            self.tabifyDockWidget(first, second)

    def _restore_layout(self) -> None:
        """The user's dock layout from the last session (once every dock exists)."""
        if self._saved_layout is not None:
            self.restoreState(self._saved_layout)

    def _save_layout(self) -> None:
        from designer.files import settings

        s = settings()
        s.setValue("window/state", self.saveState())
        s.setValue("window/layout_version", LAYOUT_VERSION)
        s.sync()

    def _make_run_panels(self) -> None:
        try:
            from designer.panels.training import TrainingPanel
        except ModuleNotFoundError as e:
            if not (e.name or "").startswith("designer"):
                raise
            return
        self.training_panel = TrainingPanel(self.document, self)
        self.training_panel.nodeRequested.connect(
            lambda nid: self.canvas.select([nid], center=True)
        )
        self.dock_training = self._dock(
            self.tr("Training"),
            self.training_panel,
            Qt.DockWidgetArea.BottomDockWidgetArea,
            scroll=True,
        )
        # never so short that the plots or the Train button are cut off (a restored
        # layout included); taller content scrolls (#16 item 14)
        self.dock_training.setMinimumHeight(MIN_RUN_DOCK_HEIGHT)
        self._tabify(self.dock_problems, self.dock_training)
        self.dock_problems.raise_()
        try:
            from designer.panels.predict import PredictPanel
        except ModuleNotFoundError as e:
            if not (e.name or "").startswith("designer"):
                raise
            return
        self.predict_panel = PredictPanel(self.document, self.training_panel, self)
        self.dock_predict = self._dock(
            self.tr("Predict"),
            self.predict_panel,
            Qt.DockWidgetArea.BottomDockWidgetArea,
            scroll=True,
        )
        self.dock_predict.setMinimumHeight(MIN_RUN_DOCK_HEIGHT)
        self._tabify(self.dock_training, self.dock_predict)
        self.dock_problems.raise_()

    def _make_tuning_panel(self) -> None:
        """The Tuning dock (a study over the parameters marked "tune"), beside Training."""
        from designer.panels.tuning import TuningPanel

        self.tuning_panel = TuningPanel(self.document, self)
        self.tuning_panel.openBest.connect(lambda path: self.open_path(path, ask=True))
        self.dock_tuning = self._dock(
            self.tr("Tuning"),
            self.tuning_panel,
            Qt.DockWidgetArea.BottomDockWidgetArea,
            scroll=True,
        )
        self._tabify(self.dock_training, self.dock_tuning)
        self.view_menu.addAction(self.dock_tuning.toggleViewAction())

    # -- actions ----------------------------------------------------------------------------
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
        self._act("new", self.tr("&New"), self.new_file, S.New)
        self._act("open", self.tr("&Open…"), self.open_file, S.Open)
        self._act("save", self.tr("&Save"), self.save, S.Save)
        self._act("save_as", self.tr("Save &As…"), self.save_as, "Ctrl+Shift+S")
        self._act("quit", self.tr("&Quit"), self.close, S.Quit)
        undo = self.document.undo_stack.createUndoAction(self, self.tr("&Undo"))
        undo.setShortcuts([QKeySequence(S.Undo)])
        redo = self.document.undo_stack.createRedoAction(self, self.tr("&Redo"))
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self._plain_names = {"undo": self.tr("Undo"), "redo": self.tr("Redo")}
        for name, a in (("undo", undo), ("redo", redo)):
            a.setObjectName(f"action_{name}")
            self.addAction(a)
            self.actions_by_name[name] = a
        self._act("cut", self.tr("Cu&t"), c.cut_selected, S.Cut, canvas_only=True)
        self._act("copy", self.tr("&Copy"), c.copy_selected, S.Copy, canvas_only=True)
        self._act("paste", self.tr("&Paste"), c.paste, S.Paste, canvas_only=True)
        self._act(
            "duplicate", self.tr("&Duplicate"), c.duplicate_selected, "Ctrl+D", canvas_only=True
        )
        self._act(
            "delete",
            self.tr("De&lete"),
            c.delete_selected,
            [Qt.Key.Key_Delete, Qt.Key.Key_Backspace],
            canvas_only=True,
        )
        self._act("rename", self.tr("Re&name…"), self.rename_selected, "F2", canvas_only=True)
        self._act("freeze", self.tr("Free&ze"), lambda: c.freeze_selected(True), canvas_only=True)
        self._act(
            "unfreeze", self.tr("Un&freeze"), lambda: c.freeze_selected(False), canvas_only=True
        )
        self._act("select_all", self.tr("Select &All"), c.select_all, S.SelectAll, canvas_only=True)
        self._act(
            "add_node",
            self.tr("&Add Node…"),
            c.show_search,
            Qt.Key.Key_Tab,
            canvas_only=True,
            tip=self.tr("Search the catalog and add a node (Tab on the canvas)"),
        )
        self._act("fit", self.tr("&Fit to View"), c.fit, Qt.Key.Key_F, canvas_only=True)
        self._act("auto_layout", self.tr("Auto-&Layout"), c.auto_layout, "Ctrl+L")
        self._act("zoom_in", self.tr("Zoom &In"), lambda: c.zoom(1.2), [S.ZoomIn, "Ctrl+="])
        self._act("zoom_out", self.tr("Zoom &Out"), lambda: c.zoom(1 / 1.2), S.ZoomOut)
        self._act("zoom_reset", self.tr("&Actual Size"), lambda: c.zoom(None), "Ctrl+0")
        self._act("check", self.tr("Check &Now"), self.document.schedule_check, "Ctrl+K")
        self._act(
            "preferences",
            self.tr("&Settings…"),
            self.show_settings,
            S.Preferences,
            tip=self.tr("Language and other preferences"),
        )
        self._act("find", self.tr("&Find in Palette"), self._focus_palette, S.Find)

    def _build_menus(self) -> None:
        A = self.actions_by_name
        mb = self.menuBar()
        f = mb.addMenu(self.tr("&File"))
        for n in ("new", "open"):
            f.addAction(A[n])
        self.recent_menu = f.addMenu(self.tr("Open &Recent"))
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.examples_menu = f.addMenu(self.tr("&Examples"))
        self._fill_examples()
        a = f.addAction(self.tr("&Import Model…"), self._import_model)
        a.setObjectName("action_import_model")
        A["import_model"] = a
        f.addSeparator()
        f.addAction(A["save"])
        f.addAction(A["save_as"])
        f.addSeparator()
        self.export_menu = f.addMenu(self.tr("E&xport"))
        self._fill_export()
        f.addSeparator()
        f.addAction(A["quit"])
        e = mb.addMenu(self.tr("&Edit"))
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
        v = self.view_menu = mb.addMenu(self.tr("&View"))
        for n in ("fit", "zoom_in", "zoom_out", "zoom_reset", "auto_layout", "check"):
            v.addAction(A[n])
        v.addSeparator()
        for d in self.findChildren(QDockWidget):
            v.addAction(d.toggleViewAction())
        h = self.help_menu = mb.addMenu(self.tr("&Help"))
        h.addAction(self.tr("Keyboard Shortcuts"), self._show_shortcuts)
        h.addAction(self.tr("About %1").replace("%1", APP_NAME), self._about)

    def _show_training(self, slot: Callable[[], Any]) -> Callable[[], Any]:
        def go() -> None:
            self.dock_training.show()
            self.dock_training.raise_()
            if self.dock_training.height() < 360:
                self.resizeDocks([self.dock_training], [420], Qt.Orientation.Vertical)
            slot()

        return go

    def _fill_recent(self) -> None:
        from designer.files import clear_recent, recent_files

        m = self.recent_menu
        m.clear()
        items = recent_files()
        for p in items:
            m.addAction(str(p), lambda p=p: self.open_path(p, ask=True))
        if not items:
            m.addAction(self.tr("(none)")).setEnabled(False)
        else:
            m.addSeparator()
            m.addAction(self.tr("Clear Recent"), clear_recent)

    def _fill_examples(self) -> None:
        from designer.files import examples

        m = self.examples_menu
        m.clear()
        for p in examples():
            a = m.addAction(p.stem.replace("_", " "), lambda p=p: self.open_example(p))
            a.setObjectName(f"example_{p.stem}")
            a.setData(str(p))
        if not m.actions():
            m.addAction(self.tr("(no examples found)")).setEnabled(False)

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
            self.tr("&ONNX…"), lambda: export_mod.export_onnx_dialog(self, self.document, ckpt())
        )
        a1.setObjectName("action_export_onnx")
        a2 = self.export_menu.addAction(
            self.tr("&Python Code…"),
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
                self.tr("Server &Bundle…"), lambda: serve_mod.bundle_dialog(self)
            )
            a.setObjectName("action_export_bundle")
            self.actions_by_name["export_bundle"] = a
            return
        a = run_menu.addAction(self.tr("Ser&ve…"), lambda: serve_mod.serve_dialog(self))
        a.setObjectName("action_serve")
        self.actions_by_name["serve"] = a

    def _add_compress(self, menu: QMenu, tp: Any) -> None:
        """Run ▸ Compress…: the Compress dialog on the last finished run."""

        def open_dialog() -> None:
            from designer.panels.compress import compress_dialog

            self.compress_dialog = compress_dialog(self, tp)

        menu.addSeparator()
        a = menu.addAction(self.tr("&Compress Last Run…"), open_dialog)
        a.setObjectName("action_compress")
        a.setEnabled(tp.last_run_dir is not None)
        tp.runFinished.connect(lambda _ev: a.setEnabled(tp.last_run_dir is not None))
        self.actions_by_name["compress"] = a

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.status_params = QLabel("—")
        self.status_params.setObjectName("status_params")
        self.status_problems = QLabel("")
        self.status_problems.setObjectName("status_problems")
        self.status_ready = QLabel("")
        self.status_ready.setObjectName("status_ready")
        self.status_check = QLabel("")
        self.status_check.setStyleSheet("color: #80868f;")
        for w in (self.status_check, self.status_problems, self.status_params, self.status_ready):
            sb.addPermanentWidget(w)

    def _wire(self) -> None:
        doc, c = self.document, self.canvas
        doc.reportReady.connect(self._on_report)
        doc.modifiedChanged.connect(lambda _m: self._update_title())
        doc.pathChanged.connect(lambda _p: self._update_title())
        doc.graphChanged.connect(self._update_title)
        doc.graphChanged.connect(lambda: self.status_check.setText(self.tr("checking…")))
        doc.refused.connect(lambda m: self.statusBar().showMessage(f"✖ {m}", 6000))
        c.refused.connect(lambda m: self.statusBar().showMessage(f"✖ {m}", 6000))
        c.selectionChanged.connect(self.properties.show_nodes)
        c.nodeActivated.connect(self._activate_node)
        self.palette.addRequested.connect(self._palette_add)
        self.problems.nodeRequested.connect(lambda nid: c.select([nid], center=True))
        self.problems.fixRequested.connect(c.apply_fix)
        self.properties.fixRequested.connect(c.apply_fix)
        doc.graphReplaced.connect(lambda: self.properties.show_nodes([]))

    # -- status ---------------------------------------------------------------------------
    def _on_report(self, rep: Any) -> None:
        from designer import style

        self.status_params.setText(self.tr("%1 parameters").replace("%1", f"{rep.total_params:,}"))
        ne, nw = len(rep.errors), len(rep.warnings)
        if ne or nw:
            self.status_problems.setText(
                "<span style='color:#e0524a'>"
                + (self.tr("%1 errors") if ne != 1 else self.tr("%1 error")).replace("%1", str(ne))
                + "</span>, <span style='color:#e6b43c'>"
                + (self.tr("%1 warnings") if nw != 1 else self.tr("%1 warning")).replace(
                    "%1", str(nw)
                )
                + "</span>"
            )
        else:
            self.status_problems.setText(
                "<span style='color:#7fc98f'>" + self.tr("no problems") + "</span>"
            )
        ready, why = ready_to_train(rep)
        if ready:
            self.status_ready.setText(
                "<span style='color:#7fc98f'>● " + self.tr("ready to train") + "</span>"
            )
        else:
            first = why.splitlines()[0] if why else ""
            if len(first) > 60:
                first = first[:57] + "…"
            self.status_ready.setText(
                "<span style='color:#9aa0aa'>○ "
                + self.tr("not ready to train")
                + (f": {html_escape(first)}" if first else "")
                + "</span>"
            )
        self.status_ready.setToolTip(why)
        ms = self.document.check_seconds * 1000
        self.status_check.setText(
            self.tr("check %1 ms").replace("%1", f"{ms:.0f}") if ms >= 1 else self.tr("check <1 ms")
        )
        self.dock_problems.setWindowTitle(
            f"{self.tr('Problems')} ({ne + nw})" if ne + nw else self.tr("Problems")
        )
        del style

    def _update_title(self) -> None:
        if self.document is None:
            return
        self.setWindowModified(self.document.modified)
        self.setWindowTitle(f"{self.document.title}[*] — {APP_NAME}")

    # -- files ------------------------------------------------------------------------------
    def maybe_save(self) -> bool:
        """Before losing changes: Save / Discard / Cancel. True when it is fine to go on."""
        if self.document is None or not self.document.modified:
            return True
        answer = self.ask_save_changes()
        if answer == "save":
            return self.save()
        return answer == "discard"

    def _run_description(self) -> str:
        tp = self.training_panel
        epochs = getattr(tp, "_epochs", 0)
        where = self.tr(" (%1 epochs)").replace("%1", str(epochs)) if epochs else ""
        return self.tr(
            "A training run is going on%1. Closing stops it; its last checkpoint is kept."
        ).replace("%1", where)

    def _ask_stop_training(self, what: str) -> bool:
        b = QMessageBox.question(
            self,
            APP_NAME,
            what + "\n\n" + self.tr("Stop the run and close?"),
            QMessageBox.StandardButton.Close | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return b == QMessageBox.StandardButton.Close

    def _ask_save_changes(self) -> str:
        b = QMessageBox.question(
            self,
            APP_NAME,
            self.tr("Save changes to %1?").replace("%1", self.document.title),
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        return {
            QMessageBox.StandardButton.Save: "save",
            QMessageBox.StandardButton.Discard: "discard",
        }.get(b, "cancel")

    def _ask_open_path(self) -> str | None:
        start = str(self.document.path.parent) if self.document.path else str(Path.cwd())
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Open project"), start, self._filter())
        return path or None

    def _ask_save_path(self) -> str | None:
        d = self.document
        start = str(d.path) if d.path else str(Path.cwd() / f"{d.graph.name or 'model'}.json")
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Save project as"), start, self._filter()
        )
        if path and not Path(path).suffix:
            path += ".json"
        return path or None

    def _filter(self) -> str:
        return self.tr("Torchwire projects (*.json);;All files (*)")

    def _import_model(self) -> None:
        """File ▸ Import Model…: an ONNX file or PyTorch module as a project (see the dialog)."""
        from designer.widgets.import_dialog import import_model_dialog

        self.import_dialog = import_model_dialog(self)

    def new_file(self) -> None:
        if self.maybe_save():
            self.document.new()

    def open_file(self) -> None:
        if not self.maybe_save():
            return
        path = self.ask_open_path()
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path, ask: bool = False, copy: bool = False) -> bool:
        """Open a project; a problem is shown in a message box, never raised.

        ``copy``: open it as an untitled copy (a run's snapshot, a bundled example): Save
        asks where, and the file never enters Open Recent.

        A file that cannot be opened leaves the current document exactly as it was (its
        graph, path and unsaved edits): nothing is replaced by an empty document.
        """
        from designer.files import add_recent, is_example
        from engine.errors import TorchwireError

        if ask and not self.maybe_save():
            return False
        t = time.perf_counter()
        try:
            self.document.open(path)
        except TorchwireError as e:
            self.show_error(self.tr("Cannot open project"), _naming(e, path))
            return False
        except Exception as e:  # an engine bug: still one message, the document kept
            self.show_error(self.tr("Cannot open project"), f"{path}: {type(e).__name__}: {e}")
            return False
        if copy or is_example(path):  # however it was reached: an untitled copy (#16 item 1)
            self.document.path = None
            self.document.pathChanged.emit(None)
        else:
            try:
                add_recent(Path(path))
            except OSError:
                pass
        self.statusBar().showMessage(
            self.tr("Opened %1 (%2 nodes, %3 ms)")
            .replace("%1", Path(path).name)
            .replace("%2", str(len(self.document.graph)))
            .replace("%3", f"{(time.perf_counter() - t) * 1000:.0f}"),
            5000,
        )
        return True

    def open_example(self, path: Path) -> bool:
        """Examples open as untitled copies, so saving never overwrites the bundled file."""
        if not self.maybe_save():
            return False
        return self.open_path(path)  # open_path makes any example an untitled copy

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        path = self.ask_save_path()
        if not path:
            return False
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        """Save; on failure a message names the file and why, and the document stays as it
        was (modified, with every edit), so nothing is lost."""
        from designer.files import add_recent
        from engine.errors import TorchwireError

        first_save = self.document.path is None
        old_name = self.document.graph.name
        renamed = first_save and old_name in ("", "untitled")
        if renamed:
            self.document.set_name(Path(path).stem)  # the project is called what it is saved as
        error = None
        try:
            saved = self.document.save(path)
        except TorchwireError as e:
            error = _naming(e, path)
        except OSError as e:
            error = f"{path}: {e.strerror or e}"
        except Exception as e:  # an engine bug must not lose the user's edits silently
            error = f"{path}: {type(e).__name__}: {e}"
        if error is not None:
            if renamed:
                self.document.undo_stack.undo()  # not saved: still the name it had
            self.show_error(self.tr("Cannot save project"), error)
            return False
        try:
            add_recent(saved)
        except OSError:
            pass
        if first_save and self.training_panel is not None:
            self.training_panel.runs_follow_project(old_name)  # item 12
        self.statusBar().showMessage(self.tr("Saved %1").replace("%1", str(saved)), 4000)
        return True

    def show_error(self, title: str, message: str) -> None:
        self.statusBar().showMessage(f"✖ {message}", 8000)
        if QApplication.platformName() != "offscreen":
            QMessageBox.warning(self, title, message)
        self.last_error = message

    last_error: str = ""

    def offer_recovery(self) -> bool:
        """After a crash: offer the newest autosave left behind. True when one was recovered."""
        from designer.files import find_recoveries, recover

        recs = find_recoveries()
        if not recs:
            return False
        rec = self.ask_recover(recs)
        if rec is None:
            return False
        from engine.errors import TorchwireError

        try:
            recover(self.document, rec)
        except (TorchwireError, OSError) as e:  # changed since it was offered: say so
            self.show_error(self.tr("Cannot recover unsaved work"), _naming(e, rec.side_file))
            return False
        self.statusBar().showMessage(self.tr("Recovered %1").replace("%1", rec.label), 6000)
        return True

    def _ask_recover(self, recs: list[Any]) -> Any:
        labels = [r.label for r in recs]
        item, ok = QInputDialog.getItem(
            self,
            self.tr("Recover unsaved work"),
            self.tr("Torchwire did not close cleanly. Recover this unsaved work?"),
            labels,
            0,
            False,
        )
        if not ok:
            for r in recs:  # declined: do not ask again
                try:
                    r.side_file.unlink()
                except OSError:
                    pass
            return None
        return recs[labels.index(item)]

    # -- edits that need a dialog ------------------------------------------------------------
    def rename_selected(self) -> None:
        ids = self.canvas.selected_ids()
        if len(ids) != 1:
            return
        node = self.document.graph.nodes[ids[0]]
        name, ok = QInputDialog.getText(
            self, self.tr("Rename node"), self.tr("Name:"), text=node.name
        )
        if ok:
            from engine.graph import GraphError

            try:
                self.document.rename(ids[0], name)
            except GraphError as e:
                self.statusBar().showMessage(f"✖ {e}", 6000)

    def _palette_add(self, type_name: str) -> None:
        """Double-click in the palette: add; wire after the single selected node if it fits."""
        self.canvas.add_after_selection(type_name)

    def _activate_node(self, nid: str) -> None:
        self.dock_properties.show()
        self.dock_properties.raise_()
        self.properties.show_nodes([nid])

    def _focus_palette(self) -> None:
        self.dock_palette.show()
        self.palette.search.setFocus()
        self.palette.search.selectAll()

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
            self.tr("Keyboard shortcuts"),
            "<table cellspacing=6>"
            + "".join(rows)
            + "</table><p>"
            + self.tr(
                "Canvas: drag with the middle button or Alt to pan, wheel to zoom, drag on the "
                "background to select, drag from a port to connect."
            )
            + "</p>",
        )

    def reload_plugins(self) -> Any:
        """Load the custom node types (start-up, Settings ▸ Node folders changed); new types
        join the palette and the canvas. Removing a folder takes effect on restart."""
        from designer.files import load_plugins
        from engine import catalog

        result = load_plugins()
        if self.canvas is not None:
            from designer.canvas import node_class_for

            known = set(self.canvas.ng.registered_nodes())
            for spec in catalog.all_specs():
                cls = node_class_for(spec)
                if cls.type_ not in known:
                    self.canvas.ng.register_node(cls)
        if getattr(self, "palette", None) is not None:
            self.palette.reload()
        self._plugin_problems(result)
        return result

    def _plugin_problems(self, result: Any) -> None:
        if result.problems:
            text = "; ".join(str(e) for e in result.problems)
            self.statusBar().showMessage(
                self.tr("Custom node types refused: %1").replace("%1", text)
            )

    def show_settings(self) -> Any:
        """The Settings dialog (language; takes effect on restart). Returns the dialog."""
        from designer.widgets.settings_dialog import SettingsDialog

        self.settings_dialog = d = SettingsDialog(self)
        if QApplication.platformName() != "offscreen":
            d.open()
        return d

    def _about(self) -> None:
        from engine import __version__

        self.about_box = box = QMessageBox(self)
        box.setObjectName("about_box")
        box.setIcon(QMessageBox.Icon.Information)
        box.setWindowTitle(self.tr("About %1").replace("%1", APP_NAME))
        box.setText(
            f"<b>{APP_NAME} {__version__}</b><p>"
            + self.tr("Design, train and ship PyTorch models visually.")
            + "</p>"
        )
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        if QApplication.platformName() != "offscreen":
            box.exec()

    # -- closing ------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        tp = self.training_panel
        running = tp is not None and getattr(tp, "is_running", False)
        if running and not self.ask_stop_training(self._run_description()):
            event.ignore()
            return
        if self.document is not None and not self.maybe_save():
            event.ignore()
            return
        if tp is not None and hasattr(tp, "stop"):
            try:
                tp.stop()
            except Exception:
                pass
        if self.document is not None:
            self.autosaver.stop()
            self.document.close()
            self._save_layout()
        event.accept()

    def sizeHint(self) -> QSize:
        return QSize(1500, 920)


MIN_RUN_DOCK_HEIGHT = 210  # the Training/Predict docks: button bar, progress and a plot


def _naming(e: BaseException, path: str | Path) -> str:
    """The error's message, starting with the file it is about when it does not already."""
    text = str(e) or type(e).__name__
    return text if str(path) in text else f"{path}: {text}"


def ready_to_train(rep: Any) -> tuple[bool, str]:
    """The training checks' verdict (``rep.training``) when present, else: no errors."""
    verdict = getattr(rep, "training", None)
    if verdict is not None:
        why = "\n".join(verdict.messages)
        ready = verdict.ready and rep.ok
        return ready, why or (
            translate("MainWindow", "ready") if ready else translate("MainWindow", "not ready")
        )
    if rep.errors:
        return False, translate("MainWindow", "fix the errors first")
    return False, translate("MainWindow", "add a dataset, a loss and an optimizer to train")


# -- entry point ----------------------------------------------------------------------------
def run(argv: Sequence[str]) -> int:
    """``torchwire [FILE]``: show the window at once, load the engine behind it, open FILE."""
    args = [a for a in argv if not a.startswith("-")]
    path = Path(args[0]) if args else None
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    from designer import style

    style.apply_dark_palette(app)  # type: ignore[arg-type]
    from designer import i18n

    i18n.install(app)  # the setting, or Chinese on a Chinese system locale
    win = MainWindow(path, eager=False)
    win.show()
    from designer.workers import submit

    def loaded(error: str | None) -> None:
        if error is not None:
            msg = translate("MainWindow", "Could not load the engine:")
            win.statusBar().showMessage(f"✖ {msg} {error}")
            QMessageBox.critical(win, APP_NAME, f"{msg}\n{error}")
            return
        win.defer_run_panels = True  # the canvas first, the plots one turn later
        win.load()
        QTimer.singleShot(0, win.offer_recovery)  # also when FILE is what crashed

    # the heavy imports on a worker; the window is live meanwhile (designer.workers)
    submit(
        load_modules,
        on_done=lambda _: loaded(None),
        on_error=lambda e: loaded(f"{type(e).__name__}: {e}"),
        thread_name="torchwire-load",
    )
    from designer.features import warm_start

    warm_start(path)  # the first check's imports, kernels and data, off the GUI thread
    return app.exec()


__all__ = ["MainWindow", "load_modules", "ready_to_train", "run"]
