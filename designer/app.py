"""The main window: canvas in the middle, palette, properties, problems, code, training docks.

Start-up shows the window first and loads torch, the engine and NodeGraphQt on a
background thread (``import torch`` alone takes seconds); the window becomes the editor
once they are in. ``run(argv)`` is what ``torchwire [FILE]`` calls.

:class:`MainWindow` builds the editor, its docks and the wiring between them; its actions and
menus are in :mod:`designer.app_menus`, its file operations in :mod:`designer.file_actions`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from html import escape as html_escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFrame,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QWidget,
)

from designer.app_menus import APP_NAME, AppMenus
from designer.file_actions import FileActions
from designer.files import identify
from designer.i18n import font_warning, translate
from designer.widgets.dock import Dock

LAYOUT_VERSION = "1"  # bump when the docks change, so an old saved layout is not applied
FILE_FILTER = "Torchwire projects (*.json);;All files (*)"


def load_modules() -> None:
    """Everything the editor needs, imported (safe to call from any thread)."""
    import engine.analysis.check  # noqa: F401  (torch)
    from engine import catalog

    list(catalog.all_specs())
    from designer.files import load_plugins

    load_plugins()  # the user's own node types, imported here, off the GUI thread
    import designer.canvas  # NodeGraphQt
    import designer.document
    import designer.panels.code
    import designer.panels.palette
    import designer.panels.problems
    import designer.panels.properties  # noqa: F401

    # The run panels (pyqtgraph) load after the first check is drawn: designer/features.py.


class MainWindow(FileActions, AppMenus, QMainWindow):
    """The designer window. ``load()`` turns the start-up shell into the editor."""

    loaded = Signal()

    def __init__(self, path: str | Path | None = None, *, eager: bool = True) -> None:
        super().__init__()
        from designer.bridge import gui_thread_gc

        gui_thread_gc()  # the app runs engine work on threads: collect only on this one
        self.setWindowTitle(APP_NAME)
        self.resize(_fitting_size())
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
        self._build_shell_menus()  # every menu at once, saying what is still loading
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
        no_font = font_warning()  # Chinese without a CJK font: said once, at start
        if no_font:
            self.statusBar().showMessage(no_font, 15000)
        elif self.training_panel is None:  # the run panels come after the first check
            self.statusBar().showMessage(self.tr("Ready; loading the training tools…"))
        else:
            self.statusBar().showMessage(self.tr("Ready"), 3000)
        self._plugin_problems(plugins)
        if self._initial_path is not None:
            self.open_path(self._initial_path)
        self.loaded.emit()

    def _size_docks(self) -> None:
        # in proportion to the window, so a small one keeps a usable canvas
        w, h = max(self.width(), 800), max(self.height(), 560)
        self.resizeDocks([self.dock_palette], [min(240, w // 5)], Qt.Orientation.Horizontal)
        self.resizeDocks([self.dock_properties], [min(320, w // 4)], Qt.Orientation.Horizontal)
        self.resizeDocks([self.dock_problems], [min(240, h // 3)], Qt.Orientation.Vertical)
        self.keep_canvas_share()

    def keep_canvas_share(self) -> None:
        """Give the canvas back its share of the window (``CANVAS_SHARE``) when the docks
        took it: they keep their size when the window shrinks or a layout saved on a larger
        screen is restored, which left a small window a strip of canvas."""
        if self.canvas is None:
            return
        area = self.centralWidget()
        inner = self.height() - self.menuBar().height() - self.statusBar().height()
        want_h, want_w = int(inner * CANVAS_SHARE[1]), int(self.width() * CANVAS_SHARE[0])
        docks = [d for d in self.findChildren(QDockWidget) if d.isVisible() and not d.isFloating()]
        if area.height() < want_h:
            bottom = [
                d for d in docks if self.dockWidgetArea(d) == Qt.DockWidgetArea.BottomDockWidgetArea
            ]
            if bottom:
                room = max(inner - want_h, 1)
                self.resizeDocks(bottom, [room] * len(bottom), Qt.Orientation.Vertical)
        if area.width() < want_w:
            sides = [
                d
                for d in docks
                if self.dockWidgetArea(d)
                in (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea)
            ]
            if sides:
                room = max((self.width() - want_w) // 2, 1)
                self.resizeDocks(sides, [room] * len(sides), Qt.Orientation.Horizontal)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.is_loaded:
            QTimer.singleShot(0, self.keep_canvas_share)  # once the docks are laid out

    def _dock(
        self, title: str, widget: QWidget, area: Qt.DockWidgetArea, scroll: bool = False
    ) -> QDockWidget:
        d = Dock(title, self)  # a double-clicked title leaves it where it is
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
            self._no_run_menu()
            return
        tp = self.training_panel
        self._build_run_menu(tp)
        self.view_menu.addAction(self.dock_training.toggleViewAction())
        if self.predict_panel is not None:
            self.view_menu.addAction(self.dock_predict.toggleViewAction())
        self._make_tuning_panel()
        from designer import features

        features.install_run_docks(self)  # the Runs dock
        # The first screen's bottom dock is the Training one (its Train button and, when not
        # ready, the reasons as links) unless the graph has errors: an empty Problems list
        # would take that space for nothing (#16 item 14); its tab title counts problems.
        QTimer.singleShot(0, self._raise_first_dock)  # once the tabs exist and are laid out
        self._size_docks()
        self._restore_layout()
        self.statusBar().showMessage(self.tr("Ready"), 3000)
        features.probe_run_ready(self)

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
            QTimer.singleShot(0, self.keep_canvas_share)  # saved on a larger screen, maybe

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

    def _raise_first_dock(self) -> None:
        if self._saved_layout is not None:
            return  # the user's own layout says which tab was in front
        rep = self.document.report if self.document is not None else None
        if rep is not None and rep.errors:
            self.dock_problems.raise_()
        elif getattr(self, "dock_training", None) is not None:
            self.dock_training.raise_()

    def _make_tuning_panel(self) -> None:
        """The Tuning dock (a study over the parameters marked "tune"), beside Training."""
        from designer.panels.tuning import TuningPanel

        self.tuning_panel = TuningPanel(self.document, self)
        self.tuning_panel.openBest.connect(lambda path: self.open_path(path, ask=True, copy=True))
        self.dock_tuning = self._dock(
            self.tr("Tuning"),
            self.tuning_panel,
            Qt.DockWidgetArea.BottomDockWidgetArea,
            scroll=True,
        )
        self._tabify(self.dock_training, self.dock_tuning)
        self.view_menu.addAction(self.dock_tuning.toggleViewAction())

    # -- status ---------------------------------------------------------------------------
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

    # -- closing ------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        tp = self.training_panel
        running = tp is not None and getattr(tp, "is_running", False)
        if running and not self.ask_stop_training(self._run_description()):
            event.ignore()
            return
        tuning = getattr(self, "tuning_panel", None)
        tuning_running = tuning is not None and tuning.running
        if tuning_running and not self.ask_stop_training(tuning.running_description()):
            event.ignore()
            return
        if self.document is not None and not self.maybe_save():
            event.ignore()
            return
        if tuning_running:
            tuning.shutdown()
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


# the canvas's least share of the window's width and of its height below the menu bar
CANVAS_SHARE = (0.4, 0.5)
MIN_RUN_DOCK_HEIGHT = 210  # the Training/Predict docks: button bar, progress and a plot


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


DEFAULT_SIZE = (1500, 920)


def _fitting_size() -> QSize:
    """The window's first size: ``DEFAULT_SIZE``, or most of a smaller screen."""
    screen = QApplication.primaryScreen()
    if screen is None:
        return QSize(*DEFAULT_SIZE)
    avail = screen.availableGeometry()
    return QSize(
        min(DEFAULT_SIZE[0], int(avail.width() * 0.95)),
        min(DEFAULT_SIZE[1], int(avail.height() * 0.92)),
    )


# -- entry point ----------------------------------------------------------------------------
def run(argv: Sequence[str]) -> int:
    """``torchwire [FILE]``: show the window at once, load the engine behind it, open FILE."""
    args = [a for a in argv if not a.startswith("-")]
    path = Path(args[0]) if args else None
    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    identify(app, APP_NAME)
    from designer import style

    style.apply_dark_palette(app)  # type: ignore[arg-type]
    from designer import i18n

    i18n.install(app)  # the setting, or Chinese on a Chinese system locale
    win = MainWindow(path, eager=False)
    win.show()
    from designer.features import probe

    QTimer.singleShot(0, lambda: probe("TORCHWIRE_WINDOW_SHOWN"))  # painted, menus and all
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
