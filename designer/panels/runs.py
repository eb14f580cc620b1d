"""The Runs dock: the project's runs (date, status, final metrics, settings that differ),
several runs' curves overlaid in one plot, and "Open this run's project".

Everything is read by ``engine.train.runs`` (the CLI's ``torchwire runs`` prints the same
list); the listing runs off the GUI thread through ``designer.bridge.run_task``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer.bridge import run_task
from designer.i18n import translate
from designer.widgets.plots import SeriesPlot
from engine.train.runs import RunSummary, format_runs, list_runs, printable, read_history

# a run's status as the engine names it (RunStatus), in the table's language
STATUS_LABELS = (
    QT_TRANSLATE_NOOP("RunsPanel", "running"),
    QT_TRANSLATE_NOOP("RunsPanel", "finished"),
    QT_TRANSLATE_NOOP("RunsPanel", "stopped"),
    QT_TRANSLATE_NOOP("RunsPanel", "incomplete"),
    QT_TRANSLATE_NOOP("RunsPanel", "unreadable"),
)
CURVE_COLORS = ("#5fa8ff", "#ff9f43", "#7fc98f", "#e0524a", "#c39bd3", "#f7dc6f", "#48c9b0")
METRICS = ("val_loss", "train_loss", "val_accuracy", "train_accuracy", "lr")


class RunsPanel(QWidget):
    """Lists the runs beside the project; ``loaded`` fires after each (re)load."""

    loaded = Signal(list)
    openRequested = Signal(str)  # a run folder whose project to open

    def __init__(self, document: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runs_panel")
        self.document = document
        self.runs: list[RunSummary] = []
        self.runs_root: Path | None = None  # None: where the Training dock puts runs
        self._task: Any = None
        self.table = QTableWidget(0, 6)
        self.table.setObjectName("runs_table")
        self.table.setHorizontalHeaderLabels(
            [
                translate("RunsPanel", "run"),
                translate("RunsPanel", "started"),
                translate("RunsPanel", "status"),
                translate("RunsPanel", "epochs"),
                translate("RunsPanel", "test"),
                translate("RunsPanel", "differs"),
            ]
        )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self.update_plot)
        self.metric = QComboBox()
        self.metric.setObjectName("runs_metric")
        self.metric.addItems(METRICS)
        self.metric.currentTextChanged.connect(lambda _t: self.update_plot())
        self.refresh_button = QPushButton(translate("RunsPanel", "Refresh"))
        self.refresh_button.clicked.connect(self.refresh)
        self.open_button = QPushButton(translate("RunsPanel", "Open This Run's Project"))
        self.open_button.setObjectName("runs_open")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self._open)
        self.status = QLabel()
        self.status.setStyleSheet("color: #9aa0aa;")
        self.plot_box = QVBoxLayout()
        self.plot: SeriesPlot = self._new_plot()
        bar = QHBoxLayout()
        bar.addWidget(self.status, 1)
        bar.addWidget(QLabel(translate("RunsPanel", "curve")))
        bar.addWidget(self.metric)
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.open_button)
        plot_w = QWidget()
        plot_w.setLayout(self.plot_box)
        self.plot_box.setContentsMargins(0, 0, 0, 0)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(plot_w)
        split.setSizes([520, 480])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(bar)
        lay.addWidget(split, 1)
        document.pathChanged.connect(lambda _p: self.refresh())
        document.graphReplaced.connect(self.refresh)

    def _new_plot(self) -> SeriesPlot:
        p = SeriesPlot(translate("RunsPanel", "runs compared"), legend_at="top", redraw_ms=0)
        p.setObjectName("runs_plot")
        self.plot_box.addWidget(p)
        return p

    # -- loading ------------------------------------------------------------------------------
    def _root(self) -> Path | None:
        if self.runs_root is not None:
            return self.runs_root
        from designer.panels.training import default_runs_root

        return default_runs_root(self.document)

    def refresh(self) -> None:
        """List the runs again (off the GUI thread)."""
        path = self.document.path
        if path is None:
            self._show([], translate("RunsPanel", "Save the project to list its runs."))
            return
        self.status.setText(translate("RunsPanel", "reading runs…"))
        self._task = run_task(
            list_runs,
            Path(path),
            self._root(),
            on_done=lambda runs: self._show(runs, ""),
            on_error=lambda reason, _d: self._show([], reason),
        )

    def _show(self, runs: list[RunSummary], message: str) -> None:
        self.runs = list(runs)
        t = self.table
        t.blockSignals(True)
        t.setRowCount(len(runs))
        for row, r in enumerate(runs):
            main = next((k for k in ("accuracy", "r2", "loss") if k in r.metrics), None)
            cells = [
                printable(r.name),
                r.started.strftime("%Y-%m-%d %H:%M"),
                translate("RunsPanel", r.status.value),
                str(r.epochs),
                f"{main} {r.metrics[main]:.4g}" if main else "—",
                ", ".join(f"{k}={v}" for k, v in r.differs.items()) or r.problem or "—",
            ]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(format_runs([r]) if col == 0 else text)
                t.setItem(row, col, item)
        t.blockSignals(False)
        t.resizeColumnsToContents()
        n = len(runs)
        self.status.setText(
            message
            or (
                translate("RunsPanel", "%1 runs").replace("%1", str(n))
                if n
                else translate("RunsPanel", "no runs yet")
            )
        )
        if n:
            t.selectRow(n - 1)
        self.update_plot()
        self.loaded.emit(self.runs)

    # -- the overlay plot ---------------------------------------------------------------------
    def selected_runs(self) -> list[RunSummary]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self.runs[r] for r in rows if r < len(self.runs)]

    def update_plot(self) -> None:
        """One curve per selected run, of the chosen column of its history."""
        sel = self.selected_runs()
        self.open_button.setEnabled(len(sel) == 1 and sel[0].has_project)
        old = self.plot
        self.plot = self._new_plot()
        old.setParent(None)
        old.deleteLater()
        col = self.metric.currentText()
        self.plot.set_title(
            f"{col} — " + translate("RunsPanel", "%1 runs").replace("%1", str(len(sel)))
        )
        for i, r in enumerate(sel):
            xs, ys = read_history(r.path).series(col)
            self.plot.add_series(r.name, CURVE_COLORS[i % len(CURVE_COLORS)], symbol="o")
            self.plot.extend(r.name, xs, ys)
        self.plot.redraw()

    def _open(self) -> None:
        sel = self.selected_runs()
        if len(sel) == 1:
            self.openRequested.emit(str(sel[0].path))


def install(window: Any) -> RunsPanel:
    """The Runs dock beside Training, refreshed after each run; View ▸ Runs."""
    panel = RunsPanel(window.document, window)
    dock = window._dock(
        translate("RunsPanel", "Runs"), panel, Qt.DockWidgetArea.BottomDockWidgetArea
    )
    dock.setObjectName("dock_runs")
    if getattr(window, "dock_training", None) is not None:
        window._tabify(window.dock_training, dock)
    window.dock_runs = dock
    window.runs_panel = panel
    window.view_menu.addAction(dock.toggleViewAction())
    tp = window.training_panel
    if tp is not None and hasattr(tp, "runFinished"):
        tp.runFinished.connect(lambda _ev: panel.refresh())

    def open_run(run_dir: str) -> None:
        project = Path(run_dir) / "project.json"
        base = window.document.path
        if window.open_path(project, ask=True, copy=True) and base is not None:
            # an untitled copy whose data paths still resolve from the project's folder
            window.document.graph.source_path = str(Path(base).resolve())

    panel.openRequested.connect(open_run)
    panel.refresh()
    return panel


__all__ = ["RunsPanel", "install"]
