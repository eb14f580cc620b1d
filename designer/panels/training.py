"""The training panel: settings, start/pause/stop, live plots, log, and the test results.

Training runs on a copy of the graph taken at start, in the engine's own background thread;
events reach this panel through :class:`designer.bridge.TrainingBridge` (queued, batch
events throttled), so the UI thread never waits on training. Creating the session (which
imports torch and loads the data) also happens off the GUI thread.
"""

from __future__ import annotations

import copy
import datetime as _dt
import html
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from PySide6.QtCore import QCoreApplication, QObject, QStandardPaths, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFont, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from designer import i18n
from designer.bridge import TrainingBridge, readable_error, run_task
from designer.i18n import fmt, translate
from designer.widgets.plots import (
    EXTRA,
    FAINT,
    TRAIN,
    VAL,
    ConfusionMatrixView,
    ScatterView,
    SeriesPlot,
)
from engine.check import Reason
from engine.graph import GraphChanged
from engine.train.progress import ProgressEstimator

DEVICES = ("auto", "cpu", "cuda", "mps")
_ACTIVE = ("starting", "running", "paused", "stopping")
# Metric names as the engine writes them, and how the panel labels them.
METRIC_LABELS = {
    "loss": "loss",
    "accuracy": "accuracy",
    "precision": "precision (macro)",
    "recall": "recall (macro)",
    "f1": "F1 (macro)",
    "mse": "MSE",
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
}


def _fmt_num(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if v != v:  # NaN
        return "nan"
    a = abs(v)
    if a != 0 and (a < 1e-3 or a >= 1e5):
        return f"{v:.3e}"
    return f"{v:.4f}"


def _fmt_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def default_runs_root(document: Any) -> Path:
    """Where run folders go: ``runs/`` beside a saved project, else the user's data folder.

    Never beside the bundled examples (the install may be read-only) and never the
    current directory, which for a GUI is wherever it happened to be started.
    """
    path = getattr(document, "path", None)
    if path is not None:
        folder = Path(path).resolve().parent
        bundled = Path(__file__).resolve().parents[2] / "resources"
        if os.access(folder, os.W_OK) and bundled not in (folder, *folder.parents):
            return folder / "runs"
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or tempfile.gettempdir()) / "runs"


def _slug(name: str) -> str:
    """A run folder's name prefix for a project named ``name``."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in (name or "model")) or "model"


def new_run_dir(root: Path, name: str) -> Path:
    slug = _slug(name)
    base = root / f"{slug}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    p, i = base, 2
    while p.exists():
        p = base.with_name(f"{base.name}-{i}")
        i += 1
    return p


def _training_settings_params() -> tuple[Any, ...]:
    """The training settings as declared once by the engine (``TRAINING_SETTINGS``)."""
    import importlib

    for mod_name in ("engine.train.settings", "engine.train"):
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            continue
        params = getattr(mod, "TRAINING_SETTINGS", None)
        if params:
            return tuple(params)
    return ()


def _detect_devices() -> dict[str, str | None]:
    """For each device choice: None when usable here, else why not."""
    import torch

    out: dict[str, str | None] = {"auto": None, "cpu": None}
    out["cuda"] = (
        None
        if torch.cuda.is_available()
        else translate("TrainingPanel", "no CUDA device on this machine")
    )
    mps = getattr(torch.backends, "mps", None)
    ok = bool(mps is not None and mps.is_available())
    out["mps"] = None if ok else translate("TrainingPanel", "no Apple GPU (MPS) on this machine")
    return out


def _detect_processes() -> tuple[int, str | None]:
    """How many training processes the panel offers, and why not more (None: it can).

    Several processes pay off with one GPU each (DDP over NCCL); on the CPU they share the
    same cores, so the panel offers them only with two CUDA devices or more. The command
    line trains on several CPU processes too (``--nproc-per-node``).
    """
    import torch

    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n >= 2:
        return n, None
    have = (
        translate("TrainingPanel", "one CUDA device")
        if n == 1
        else translate("TrainingPanel", "no CUDA device")
    )
    return 1, fmt(
        translate(
            "TrainingPanel",
            "Several processes need two or more CUDA devices; this machine has %1. "
            "On the CPU: torchwire train FILE --nproc-per-node N",
        ),
        have,
    )


def _load_environment() -> tuple[tuple[Any, ...], dict[str, str | None]]:
    devices: dict[str, Any] = dict(_detect_devices())
    devices["processes"] = _detect_processes()
    return _training_settings_params(), devices


class TrainingPanel(QWidget):
    """Dock content: train the document's graph and watch it learn.

    ``runFinished(event)`` carries the engine's ``Finished`` event (``run_dir``,
    ``test_metrics``, ``stopped``, ``history``); ``runFailed(reason)`` a readable sentence.
    After a run, ``last_run_dir`` is its folder and ``last_checkpoint`` its best checkpoint
    (or its last one when no best was written); ``last_graph`` is the graph it trained.
    """

    runStarted = Signal()
    runFinished = Signal(object)
    runFailed = Signal(str)
    stateChanged = Signal(str)
    nodeRequested = Signal(str)  # a reason's link was clicked: select that node
    # the buttons' enabled state changed: Run ▸ Train/Pause/Resume/Stop follow it (item 3)
    actionsChanged = Signal()
    runsMoved = Signal()  # the last run's folder moved (the project's first save)

    # Tests and embedders may replace how a session is made: fn(graph, device=...) -> session.
    session_factory: Callable[..., Any] | None = None
    show_failure_popup = True
    runs_root: Path | None = None  # None: default_runs_root(document)
    # While a run trains, Python hands the GIL over every millisecond instead of every 5:
    # each paint calls into Python dozens of times and would otherwise queue behind the
    # training thread at each call (measured in bench/ui.py: longest stall ~4× shorter).
    gil_switch_interval: float | None = 0.001

    def __init__(self, document: QObject, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TrainingPanel")
        self.document = document
        self.session: Any = None
        self.state = "idle"
        self.last_run_dir: Path | None = None
        self.last_checkpoint: Path | None = None
        self.best_checkpoint: Path | None = None
        self.latest_checkpoint: Path | None = None
        self.last_graph: Any = None
        self.last_metrics: dict[str, Any] | None = None
        self.last_error: str | None = None
        self.task: str | None = None
        self.class_names: list[str] = []
        self._epochs = 0
        self._batches = 0
        self._run_started_at = 0.0
        self._frac0 = 0.0
        self._paused_total = 0.0
        self._paused_at: float | None = None
        self._est = ProgressEstimator()
        self._stop_requested = False
        self._metric_key: str | None = None
        self._settings_params: tuple[Any, ...] = ()
        self._device_problems: dict[str, str | None] = {"auto": None, "cpu": None}
        self._env_loaded = False
        self._editors: dict[str, QWidget] = {}
        self._ready = False
        self._ready_reason = translate("TrainingPanel", "The graph is being checked…")
        self._popup: QMessageBox | None = None
        self._saved_switch: float | None = None
        self._continuing = False

        self.bridge = TrainingBridge(self)
        self.bridge.started.connect(self._on_started)
        self.bridge.batch.connect(self._on_batch)
        self.bridge.epochEnded.connect(self._on_epoch)
        self.bridge.checkpointSaved.connect(self._on_checkpoint)
        self.bridge.finished.connect(self._on_finished)
        self.bridge.failed.connect(self._on_failed)

        self._build()
        self._connect_document()
        self._set_state("idle")
        app = QCoreApplication.instance()
        if app is not None:
            # quitting mid-run: stop at the next batch and let the last checkpoint be written
            app.aboutToQuit.connect(self.shutdown)
        # torch and the settings declaration load off the GUI thread.
        self._env_task = run_task(
            _load_environment, on_done=self._on_environment, on_error=self._on_environment_error
        )

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(6, 6, 6, 6)
        root.setSpacing(6)

        bar = QHBoxLayout()
        bar.setSpacing(6)
        icon = self.style().standardIcon
        self.start_button = QPushButton(
            icon(QStyle.StandardPixmap.SP_MediaPlay), translate("TrainingPanel", "Train")
        )
        self.start_button.setObjectName("trainStart")
        self.start_button.clicked.connect(self.start)
        self._play_icon = icon(QStyle.StandardPixmap.SP_MediaPlay)
        self._pause_icon = icon(QStyle.StandardPixmap.SP_MediaPause)
        self.pause_button = QPushButton(self._pause_icon, translate("TrainingPanel", "Pause"))
        self.pause_button.setObjectName("trainPause")
        self.pause_button.clicked.connect(self._toggle_pause)
        self.stop_button = QPushButton(
            icon(QStyle.StandardPixmap.SP_MediaStop), translate("TrainingPanel", "Stop")
        )
        self.continue_button = QPushButton(
            icon(QStyle.StandardPixmap.SP_MediaSeekForward), translate("TrainingPanel", "Continue")
        )
        self.continue_button.setObjectName("trainContinue")
        self.continue_button.setToolTip(
            translate(
                "TrainingPanel",
                "Resume the last run from its last checkpoint with the current settings "
                "(e.g. more epochs, a lower learning rate)",
            )
        )
        self.continue_button.clicked.connect(self.continue_run)
        self.stop_button.setObjectName("trainStop")
        self.stop_button.clicked.connect(self.stop)
        for b in (self.start_button, self.pause_button, self.stop_button, self.continue_button):
            b.setMinimumWidth(84)
            bar.addWidget(b)
        bar.addSpacing(12)
        bar.addWidget(QLabel(translate("TrainingPanel", "Device")))
        self.device_combo = QComboBox()
        self.device_combo.setObjectName("trainDevice")
        self.device_combo.addItems(list(DEVICES))
        self.device_combo.setToolTip(
            translate("TrainingPanel", "Where to train; 'auto' picks CUDA or MPS when present")
        )
        self.device_combo.currentTextChanged.connect(self._on_device_changed)
        bar.addWidget(self.device_combo)
        self.processes_label = QLabel(translate("TrainingPanel", "Processes"))
        bar.addWidget(self.processes_label)
        self.processes_spin = QSpinBox()
        self.processes_spin.setObjectName("trainProcesses")
        self.processes_spin.setRange(1, 1)
        self.processes_spin.setEnabled(False)
        self.processes_spin.setToolTip(
            translate("TrainingPanel", "Checking the machine's devices…")
        )
        self._max_processes = 1
        bar.addWidget(self.processes_spin)
        bar.addSpacing(12)
        self.status_label = QLabel("")
        self.status_label.setObjectName("trainStatus")
        self.status_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(self.status_label, 1)
        self.folder_button = QToolButton()
        self.folder_button.setText(translate("TrainingPanel", "Run folder"))
        self.folder_button.setObjectName("trainFolder")
        self.folder_button.setToolTip(
            translate("TrainingPanel", "Open the last run's folder (checkpoints, metrics, history)")
        )
        self.folder_button.setEnabled(False)
        self.folder_button.clicked.connect(self.open_run_folder)
        bar.addWidget(self.folder_button)
        self.settings_toggle = QToolButton()
        self.settings_toggle.setText(translate("TrainingPanel", "Settings"))
        self.settings_toggle.setCheckable(True)
        self.settings_toggle.setChecked(True)
        self.settings_toggle.setToolTip(
            translate("TrainingPanel", "Show or hide the training settings")
        )
        bar.addWidget(self.settings_toggle)
        root.addLayout(bar)

        self.progress = QProgressBar()
        self.progress.setObjectName("trainProgress")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat(translate("TrainingPanel", "Not started"))
        root.addWidget(self.progress)

        self.banner = QLabel("")
        self.banner.setObjectName("trainBanner")
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setStyleSheet(
            "QLabel { background: #5c1f1b; color: #ffdcd8; border: 1px solid #e0524a;"
            " border-radius: 3px; padding: 6px; }"
        )
        self.banner.hide()
        root.addWidget(self.banner)

        # why the graph cannot train yet, each reason a link selecting its node (#16 item 8)
        self.reasons_label = QLabel("")
        self.reasons_label.setObjectName("trainReasons")
        self.reasons_label.setWordWrap(True)
        self.reasons_label.setTextFormat(Qt.TextFormat.RichText)
        self.reasons_label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.reasons_label.linkActivated.connect(self._on_reason_link)
        self.reasons_label.hide()
        root.addWidget(self.reasons_label)
        self._last_report: Any = None

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        # settings column
        self.settings_area = QScrollArea()
        self.settings_area.setWidgetResizable(True)
        self.settings_area.setFrameShape(QFrame.Shape.NoFrame)
        self.settings_area.setMinimumWidth(220)
        holder = QWidget()
        self.settings_form = QFormLayout(holder)
        self.settings_form.setContentsMargins(2, 2, 8, 2)
        self.settings_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._settings_note = QLabel(translate("TrainingPanel", "Loading the training settings…"))
        self._settings_note.setWordWrap(True)
        self.settings_form.addRow(self._settings_note)
        self.settings_area.setWidget(holder)
        self.settings_toggle.toggled.connect(self.settings_area.setVisible)
        split.addWidget(self.settings_area)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        # plots
        plots = QWidget()
        pl = QHBoxLayout(plots)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.setSpacing(4)
        self.loss_plot = SeriesPlot(
            translate("TrainingPanel", "Loss"), translate("TrainingPanel", "epoch"), ""
        )
        self.loss_plot.add_series("train (batch)", FAINT, width=1.0)
        self.loss_plot.add_series("train", TRAIN, symbol="o")
        self.loss_plot.add_series("validation", VAL, symbol="s")
        self.metric_plot = SeriesPlot(
            translate("TrainingPanel", "Accuracy"),
            translate("TrainingPanel", "epoch"),
            "",
            legend_at="bottom",
        )
        self.metric_plot.add_series("train", TRAIN, symbol="o")
        self.metric_plot.add_series("validation", VAL, symbol="s")
        self.lr_plot = SeriesPlot(
            translate("TrainingPanel", "Learning rate"), translate("TrainingPanel", "epoch"), ""
        )
        self.lr_plot.add_series("lr", EXTRA, symbol="t", legend=False)
        for p in (self.loss_plot, self.metric_plot, self.lr_plot):
            pl.addWidget(p, 1)
        self.tabs.addTab(plots, translate("TrainingPanel", "Progress"))
        # results
        results = QWidget()
        rl = QHBoxLayout(results)
        rl.setContentsMargins(0, 0, 0, 0)
        self.metrics_table = QTableWidget(0, 2)
        self.metrics_table.setObjectName("trainMetrics")
        self.metrics_table.setHorizontalHeaderLabels(
            [translate("TrainingPanel", "Test metric"), translate("TrainingPanel", "Value")]
        )
        self.metrics_table.verticalHeader().setVisible(False)
        self.metrics_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.Stretch
        )
        self.metrics_table.horizontalHeader().setSectionResizeMode(
            1, QHeaderView.ResizeMode.ResizeToContents
        )
        self.metrics_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.metrics_table.setMinimumWidth(200)
        self.metrics_table.setMaximumWidth(320)
        rl.addWidget(self.metrics_table)
        self.result_stack = QStackedWidget()
        self._no_result = QLabel(
            translate("TrainingPanel", "Test results appear here when a run finishes.")
        )
        self._no_result.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.confusion_view = ConfusionMatrixView()
        self.scatter_view = ScatterView()
        for w in (self._no_result, self.confusion_view, self.scatter_view):
            self.result_stack.addWidget(w)
        rl.addWidget(self.result_stack, 1)
        self.tabs.addTab(results, translate("TrainingPanel", "Results"))
        # log
        self.log_view = QPlainTextEdit()
        self.log_view.setObjectName("trainLog")
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(5000)
        self.log_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.log_view.setFont(mono)
        self.tabs.addTab(self.log_view, translate("TrainingPanel", "Log"))
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([250, 900])
        root.addWidget(split, 1)

    # -- document -------------------------------------------------------------------------
    def _connect_document(self) -> None:
        doc = self.document
        for name, slot in (
            ("reportReady", self._on_report),
            ("graphReplaced", self._on_graph_replaced),
            ("graphChanged", self._on_graph_changed),
        ):
            sig = getattr(doc, name, None)
            if sig is not None:
                sig.connect(slot)
        self._on_report(getattr(doc, "report", None))

    def _on_report(self, report: Any) -> None:
        graph = getattr(self.document, "graph", None)
        if report is None and graph is not None and not graph.nodes:
            # an empty canvas needs no check to say what is missing (the first check in a
            # process takes seconds: torch loads); never "being checked…" for nothing
            self._ready = False
            self._ready_reason = translate(
                "TrainingPanel",
                "Nothing to train yet: add a dataset, an Input, layers, a loss and an "
                "optimizer (palette, or Tab on the canvas), or open File ▸ Examples",
            )
            self._last_report = None
            self._update_buttons()
            self.reasons_label.hide()
            return
        ready, reason = self._readiness(report)
        self._ready, self._ready_reason = ready, reason
        self._last_report = report
        self._update_buttons()
        self._show_reasons(report)

    @staticmethod
    def _reasons(report: Any) -> tuple[bool, list[Reason]]:
        """The typed training verdict of ``report`` (``report.training``), or its errors."""
        verdict = getattr(report, "training", None)
        if verdict is not None:
            reasons = list(verdict.reasons)
            ready = verdict.ready and report.ok
        else:
            reasons, ready = [], False
        if not report.ok and not reasons:
            reasons = [Reason(d.message, d.node) for d in report.errors]
        if not ready and not reasons:
            reasons = [Reason(translate("TrainingPanel", "the graph is not ready to train"))]
        return ready, reasons

    @classmethod
    def _readiness(cls, report: Any) -> tuple[bool, str]:
        if report is None:
            return False, translate("TrainingPanel", "The graph is being checked…")
        ready, reasons = cls._reasons(report)
        if ready:
            return True, translate("TrainingPanel", "Train the current graph")
        shown = [r.message for r in reasons[:6]] + (
            [fmt(translate("TrainingPanel", "… and %1 more"), len(reasons) - 6)]
            if len(reasons) > 6
            else []
        )
        return False, translate("TrainingPanel", "Cannot train yet:") + "\n• " + "\n• ".join(shown)

    def _show_reasons(self, report: Any) -> None:
        """Each reason the graph cannot train, in the dock; one on a node selects it."""
        if report is None or self.state in _ACTIVE:
            self.reasons_label.hide()
            return
        ready, reasons = self._reasons(report)
        if ready:
            self.reasons_label.hide()
            return
        items = []
        for r in reasons[:6]:
            text = html.escape(r.message)
            if r.node:
                href = "node:" + quote(r.node, safe="")
                items.append(f"<li><a href='{href}' style='color:#8ab4f8'>{text}</a></li>")
            else:
                items.append(f"<li>{text}</li>")
        if len(reasons) > 6:
            items.append(
                f"<li>{html.escape(fmt(translate('TrainingPanel', '… and %1 more'), len(reasons) - 6))}</li>"
            )
        head = html.escape(translate("TrainingPanel", "Cannot train yet:"))
        self.reasons_label.setText(
            f"<b>{head}</b><ul style='margin:0 0 0 -20px'>{''.join(items)}</ul>"
        )
        self.reasons_label.show()

    def _on_reason_link(self, href: str) -> None:
        if href.startswith("node:"):
            self.nodeRequested.emit(unquote(href[5:]))

    def runs_follow_project(self, old_name: str) -> None:
        """The project was saved for the first time: the run made while it was untitled
        moves to the project's own ``runs/`` (named after it), and every path to it is
        re-pointed, so Predict finds the model after a reopen (#16 item 12)."""
        run = self.last_run_dir
        if self.is_running or run is None or not run.is_dir():
            return
        root = self.runs_root or default_runs_root(self.document)
        if run.parent.resolve() == root.resolve():
            return
        import shutil

        old_slug, new_slug = _slug(old_name), _slug(self.document.graph.name)
        stamp = run.name[len(old_slug) :] if run.name.startswith(old_slug + "-") else "-" + run.name
        target = root / f"{new_slug}{stamp}"
        i = 2
        while target.exists():
            target = root / f"{new_slug}{stamp}-{i}"
            i += 1
        try:
            root.mkdir(parents=True, exist_ok=True)
            shutil.move(str(run), str(target))
        except OSError as e:
            self.log(f"the run folder stays at {run}: {e}")
            return

        def moved(p: Path | None) -> Path | None:
            if p is None:
                return None
            try:
                return target / Path(p).relative_to(run)
            except ValueError:
                return p

        self.last_run_dir = target
        self.best_checkpoint = moved(self.best_checkpoint)
        self.latest_checkpoint = moved(self.latest_checkpoint)
        self.last_checkpoint = moved(self.last_checkpoint)
        self.log(f"run folder moved beside the project: {target}")
        self._update_buttons()
        self.runsMoved.emit()

    def _find_project_run(self) -> None:
        """A saved project's newest run with a checkpoint, in its ``runs/``: Predict and
        Continue work after a reopen."""
        if getattr(self.document, "path", None) is None:
            return
        root = self.runs_root or default_runs_root(self.document)
        slug = _slug(self.document.graph.name)
        try:
            runs = [p for p in root.glob(f"{slug}-*") if p.is_dir()]
        except OSError:
            return
        for run in sorted(runs, key=lambda p: p.stat().st_mtime, reverse=True):
            best, last = run / "best.pt", run / "last.pt"
            if best.exists() or last.exists():
                self.last_run_dir = run
                self.best_checkpoint = best if best.exists() else None
                self.latest_checkpoint = last if last.exists() else None
                self.last_checkpoint = self.best_checkpoint or self.latest_checkpoint
                return

    def _on_graph_replaced(self) -> None:
        """Another project: the last run's banner, results and checkpoints were the old
        project's, so they go (a run still going keeps its view until it ends)."""
        if not self.is_running:
            self._reset_run_view()
            self.last_graph = None
            self.last_run_dir = None
            self.last_checkpoint = None
            self.progress.setFormat(translate("TrainingPanel", "Not started"))
            self.progress.setValue(0)
            if self.state != "idle":
                self._set_state("idle")
            self._find_project_run()
        self._load_settings_values()
        self._on_report(getattr(self.document, "report", None))

    def _on_graph_changed(self) -> None:
        # settings may have changed through undo/redo
        self._load_settings_values()

    # -- settings form --------------------------------------------------------------------
    def _on_environment(self, result: Any) -> None:
        params, devices = result
        self._env_loaded = True
        devices = dict(devices)
        most, why = devices.pop("processes", (1, None))
        self._max_processes = int(most)
        self.processes_spin.setRange(1, max(1, self._max_processes))
        tip = why or fmt(
            translate(
                "TrainingPanel",
                "Train on up to %1 processes, one GPU each (DistributedDataParallel); "
                "the batch size stays the global batch",
            ),
            most,
        )
        self.processes_spin.setToolTip(tip)
        self.processes_label.setToolTip(tip)
        self._device_problems = devices
        model = self.device_combo.model()
        if isinstance(model, QStandardItemModel):
            for i, name in enumerate(DEVICES):
                item = model.item(i)
                problem = devices.get(name)
                item.setEnabled(problem is None)
                item.setToolTip(
                    problem or fmt(translate("TrainingPanel", "train on %1"), str(name))
                )
        self._settings_params = tuple(p for p in params if p.name != "device")
        self._build_settings_form()
        self._update_buttons()

    def _on_environment_error(self, message: str, details: str) -> None:
        self._env_loaded = True
        self._settings_note.setText(
            fmt(translate("TrainingPanel", "Training is unavailable: %1"), str(message))
        )
        self.log(f"could not load the training engine: {message}")
        self._update_buttons()

    def _build_settings_form(self) -> None:
        form = self.settings_form
        while form.rowCount():
            form.removeRow(0)
        self._editors = {}
        if not self._settings_params:
            self._settings_note = QLabel(
                translate("TrainingPanel", "The engine declares no training settings.")
            )
            form.addRow(self._settings_note)
            return
        make_editor = _editor_factory()
        values = self._current_settings()
        for p in self._settings_params:
            value = values.get(p.name, p.default)
            try:
                ed = make_editor(p, value, lambda v, name=p.name: self._set_setting(name, v))
            except Exception as e:  # a declaration the editors do not know yet
                ed = QLabel(f"{value!r} ({readable_error(e)})")
            label = QLabel(p.name.replace("_", " "))
            label.setToolTip(i18n.doc(p.doc))
            ed.setToolTip(i18n.doc(p.doc))
            form.addRow(label, ed)
            self._editors[p.name] = ed
        self._load_settings_values()

    def _current_settings(self) -> dict[str, Any]:
        graph = getattr(self.document, "graph", None)
        if graph is None:
            return {}
        return dict(graph.settings.get("training") or {})

    def _load_settings_values(self) -> None:
        values = self._current_settings()
        resolved = {p.name: values.get(p.name, p.default) for p in self._settings_params}
        for p in self._settings_params:
            ed = self._editors.get(p.name)
            if ed is not None and hasattr(ed, "set_value"):
                ed.set_value(values.get(p.name, p.default))
            if ed is not None and getattr(p, "enabled_if", None) is not None:
                # e.g. patience while early stopping is off (Param.enabled_if, item 11)
                self.settings_form.setRowVisible(ed, p.enabled(resolved))
        dev = values.get("device", "auto")
        if dev in DEVICES and self.device_combo.currentText() != dev:
            self.device_combo.blockSignals(True)
            self.device_combo.setCurrentText(dev)
            self.device_combo.blockSignals(False)

    def _set_setting(self, name: str, value: Any) -> None:
        """One training setting changed: an undoable edit of the document's graph."""
        current = self._current_settings()
        if current.get(name) == value and name in current:
            return
        new = copy.deepcopy(current)
        new[name] = value
        doc = self.document
        if hasattr(doc, "set_setting"):
            doc.set_setting("training", new)  # undoable; marks the document modified
            return
        doc.graph.settings["training"] = new
        doc.graph._emit(GraphChanged("settings", "training"))

    def _on_device_changed(self, device: str) -> None:
        if getattr(self.document, "graph", None) is None:
            return
        if self._current_settings().get("device", "auto") != device:
            self._set_setting("device", device)

    # -- state ----------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        self.state = state
        self._update_buttons()
        self._show_reasons(self._last_report)
        self.stateChanged.emit(state)

    @property
    def is_running(self) -> bool:
        return self.state in _ACTIVE

    def _update_buttons(self) -> None:
        active = self.state in _ACTIVE
        can_start = not active and self._ready
        self.start_button.setEnabled(can_start)
        self.start_button.setToolTip(
            self._ready_reason if not active else translate("TrainingPanel", "A run is in progress")
        )
        several = self._processes() > 1
        self.pause_button.setEnabled(self.state in ("running", "paused") and not several)
        self.pause_button.setToolTip(
            translate("TrainingPanel", "Several processes cannot pause; Stop keeps last.pt")
            if several
            else ""
        )
        paused = self.state == "paused"
        self.pause_button.setText(
            translate("TrainingPanel", "Resume") if paused else translate("TrainingPanel", "Pause")
        )
        self.pause_button.setIcon(self._play_icon if paused else self._pause_icon)
        self.stop_button.setEnabled(self.state in ("starting", "running", "paused"))
        self.continue_button.setEnabled(self.can_continue)
        self.device_combo.setEnabled(not active)
        self.processes_spin.setEnabled(not active and self._max_processes > 1)
        self.settings_area.setEnabled(not active)
        self.folder_button.setEnabled(self.last_run_dir is not None and self.last_run_dir.exists())
        if not active:
            if self.state == "idle":
                self.status_label.setText(
                    translate("TrainingPanel", "Ready to train")
                    if self._ready
                    else self._ready_reason.split("\n")[0]
                )
            self.status_label.setToolTip("" if self._ready else self._ready_reason)
        self.actionsChanged.emit()

    def action_enabled(self, name: str) -> bool:
        """Whether Run ▸ ``name`` (train, pause, resume, stop) is enabled: the buttons' state."""
        pausable = self.pause_button.isEnabled()
        return {
            "train": self.start_button.isEnabled(),
            "pause": pausable and self.state == "running",
            "resume": pausable and self.state == "paused",
            "stop": self.stop_button.isEnabled(),
        }.get(name, True)

    # -- actions --------------------------------------------------------------------------
    def start(self) -> None:
        """Train a copy of the document's graph on the chosen device."""
        self._start(None)

    def continue_run(self) -> None:
        """Resume the last run from its last checkpoint with the project's current settings."""
        if self.can_continue:
            self._start(self.latest_checkpoint)

    def _processes(self) -> int:
        return self.processes_spin.value() if self._max_processes > 1 else 1

    @property
    def can_continue(self) -> bool:
        return (
            not self.is_running
            and self.last_graph is not None
            and self.latest_checkpoint is not None
            and self.latest_checkpoint.exists()
        )

    def _start(self, resume: Path | None) -> None:
        if self.is_running:
            return
        if resume is None and not self._ready:
            # nothing started, so nothing failed: the reasons show, each linking its node
            self._show_reasons(self._last_report)
            self.status_label.setText(self._ready_reason.split("\n")[0])
            return
        device = self.device_combo.currentText()
        if resume is None:
            graph = self.document.graph.copy()
            self.last_graph = graph
            self._reset_run_view()
            self._continuing = False
            out_dir = new_run_dir(self.runs_root or default_runs_root(self.document), graph.name)
            extra: dict[str, Any] = {}
        else:
            # The project as it is now: a fixed learning rate or more epochs apply; a changed
            # architecture is refused by the engine with the reason (weights do not fit).
            graph = self.document.graph.copy()
            self.last_graph = graph
            self._continuing = True
            self.banner.hide()
            out_dir = resume.parent
            epochs = self._current_settings().get("epochs")
            extra = {"resume": resume, "epochs": epochs}
            self.log(f"continuing from {resume} (epochs: {epochs or 'as planned'})")
        if self._processes() > 1:
            extra["processes"] = self._processes()
        self._stop_requested = False
        self._set_state("starting")
        self.status_label.setText(translate("TrainingPanel", "Preparing the data and the model…"))
        self.progress.setRange(0, 0)  # busy until Started
        self.log(f"starting: {graph.name}, device {device}")
        self.bridge.reset()
        self._prefer_ui_thread(True)
        self.runStarted.emit()
        factory = self.session_factory or _default_session_factory
        bridge = self.bridge

        def create_and_start() -> Any:
            session = factory(graph, device=device, out_dir=out_dir, **extra)
            unsubscribe = session.subscribe(bridge.post)
            session.start()
            return session, unsubscribe

        run_task(create_and_start, on_done=self._on_session, on_error=self._on_start_error)

    def _on_session(self, result: Any) -> None:
        session, unsubscribe = result
        if self.state not in _ACTIVE:  # it already ended (failed at once, say)
            unsubscribe()
            return
        self.session = session
        self.bridge.adopt(session, unsubscribe)
        if self._stop_requested:
            session.stop()

    def _on_start_error(self, message: str, details: str) -> None:
        if details:
            self.log(details.rstrip())
        self._fail(message)

    def pause(self) -> None:
        if self.state == "running" and self.session is not None:
            self.session.pause()
            self._paused_at = time.monotonic()
            self._est.pause(self._paused_at)
            self._set_state("paused")
            self.status_label.setText(translate("TrainingPanel", "Paused"))
            self.log("paused")

    def resume(self) -> None:
        if self.state == "paused" and self.session is not None:
            self.session.resume()
            if self._paused_at is not None:
                self._paused_total += time.monotonic() - self._paused_at
            self._paused_at = None
            self._est.resume(time.monotonic())
            self._set_state("running")
            self.status_label.setText(translate("TrainingPanel", "Training…"))
            self.log("resumed")

    def _toggle_pause(self) -> None:
        if self.state == "paused":
            self.resume()
        else:
            self.pause()

    def stop(self) -> None:
        """Ask the run to stop at the next batch; it still writes its last checkpoint."""
        if self.state not in ("starting", "running", "paused"):
            return
        self._stop_requested = True
        if self.session is not None:
            if self.state == "paused":
                self.session.resume()  # let the loop reach its stop check
            self.session.stop()
        self._set_state("stopping")
        self.status_label.setText(translate("TrainingPanel", "Stopping at the next batch…"))
        self.log("stop requested")

    def open_run_folder(self) -> None:
        if self.last_run_dir is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.last_run_dir)))

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop a run and wait for it (the window is closing)."""
        session = self.session
        if session is not None and self.is_running:
            if self.state == "paused":
                session.resume()
            session.stop()
            try:
                session.join(timeout)
            except Exception:
                pass
        self.bridge.detach()
        self._prefer_ui_thread(False)

    # -- events ---------------------------------------------------------------------------
    def _reset_run_view(self) -> None:
        for p in (self.loss_plot, self.metric_plot, self.lr_plot):
            p.clear_data()
        self.metrics_table.setRowCount(0)
        self.result_stack.setCurrentWidget(self._no_result)
        self.confusion_view.clear_matrix()
        self.banner.hide()
        self.last_error = None
        self.last_metrics = None
        self._metric_key = None
        self._epochs = self._batches = 0
        self.best_checkpoint = self.latest_checkpoint = None
        self._paused_total = 0.0
        self._paused_at = None
        self.tabs.setCurrentIndex(0)

    def _on_started(self, ev: Any) -> None:
        self._epochs = int(getattr(ev, "epochs", 0) or 0)
        self._batches = int(getattr(ev, "batches_per_epoch", 0) or 0)
        self.task = getattr(ev, "task", None)
        self.class_names = [str(c) for c in (getattr(ev, "class_names", None) or [])]
        run_dir = getattr(ev, "run_dir", None)
        self.last_run_dir = Path(run_dir) if run_dir else None
        self._run_started_at = time.monotonic()
        self._est = ProgressEstimator()
        start_epoch = int(getattr(ev, "start_epoch", 1) or 1)
        self._frac0 = (start_epoch - 1) / self._epochs if self._epochs else 0.0
        if self.state == "starting":
            self._set_state("running")
            self.status_label.setText(translate("TrainingPanel", "Training…"))
        self._choose_metric(None)
        if self._epochs:
            lo = 0.0 if self._continuing else float(start_epoch - 1)
            for plot in (self.loss_plot, self.metric_plot, self.lr_plot):
                plot.set_x_range(lo, float(self._epochs))
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat(
            fmt(translate("TrainingPanel", "Epoch 1/%1 · starting"), str(self._epochs))
        )
        self.log(
            f"started on {getattr(ev, 'device', '?')}: {self._epochs} epochs × "
            f"{self._batches} batches, task {self.task}, run folder {run_dir}"
        )

    def _choose_metric(self, metrics: dict[str, Any] | None) -> None:
        if self._metric_key is not None:
            return
        keys = set(metrics or {})
        if self.task == "regression" or (keys and "accuracy" not in keys and "r2" in keys):
            order = ("r2", "mae", "mse")
        else:
            order = ("accuracy", "f1")
        for k in order:
            if not keys or k in keys:
                self._metric_key = k if keys else None
                self.metric_plot.set_title(METRIC_LABELS.get(k, k).capitalize())
                break

    def _on_batch(self, ev: Any, points: list[tuple[float, float]]) -> None:
        bpe = self._batches or int(getattr(ev, "batches", 0) or 0) or 1
        if points:
            self.loss_plot.extend(
                "train (batch)", [s / bpe for s, _ in points], [loss for _, loss in points]
            )
        if self.state not in ("running", "stopping", "paused"):
            return
        epoch = int(getattr(ev, "epoch", 1))
        batch = int(getattr(ev, "batch", 0))
        batches = int(getattr(ev, "batches", bpe) or bpe)
        total = max(1, self._epochs * bpe)
        frac = min(1.0, ((epoch - 1) * bpe + batch) / total)
        self.progress.setValue(int(frac * 1000))
        left = ""
        raw_speed = getattr(ev, "samples_per_s", None)
        # averaged over batches, paused time left out (engine.train.progress, item 15)
        self._est.update(
            time.monotonic(),
            frac,
            float(raw_speed) if isinstance(raw_speed, (int, float)) else None,
        )
        elapsed = time.monotonic() - self._run_started_at - self._paused_total
        if self._est.time_left is not None and elapsed > 0.5:
            left = " · " + fmt(
                translate("TrainingPanel", "%1 left"), _fmt_duration(self._est.time_left)
            )
        speed = self._est.samples_per_s
        sp = (
            " · " + fmt(translate("TrainingPanel", "%1 samples/s"), f"{speed:,.0f}")
            if isinstance(speed, (int, float)) and speed
            else ""
        )
        self.progress.setFormat(
            fmt(
                translate("TrainingPanel", "Epoch %1/%2 · batch %3/%4%5 · loss %6%7"),
                str(epoch),
                str(self._epochs),
                str(batch),
                str(batches),
                str(left),
                str(_fmt_num(float(getattr(ev, "loss", float("nan"))))),
                str(sp),
            )
        )

    def _on_epoch(self, ev: Any) -> None:
        epoch = int(getattr(ev, "epoch", 0))
        train = dict(getattr(ev, "train", {}) or {})
        val = dict(getattr(ev, "val", {}) or {})
        self._choose_metric(val or train)
        x = float(epoch)
        if "loss" in train:
            self.loss_plot.append("train", x, float(train["loss"]))
        if "loss" in val:
            self.loss_plot.append("validation", x, float(val["loss"]))
        k = self._metric_key
        if k is not None:
            if k in train:
                self.metric_plot.append("train", x, float(train[k]))
            if k in val:
                self.metric_plot.append("validation", x, float(val[k]))
        lr = getattr(ev, "lr", None)
        if isinstance(lr, (int, float)):
            self.lr_plot.append("lr", x, float(lr))
        epochs = int(getattr(ev, "epochs", self._epochs) or self._epochs)
        if epochs and self.state in ("running", "paused", "stopping"):
            self.progress.setValue(int(min(1.0, epoch / epochs) * 1000))

        def part(d: dict[str, Any]) -> str:
            return " ".join(
                f"{METRIC_LABELS.get(n, n)} {_fmt_num(v)}"
                for n, v in d.items()
                if isinstance(v, (int, float))
            )

        secs = getattr(ev, "seconds", None)
        tail = f" | {secs:.1f} s" if isinstance(secs, (int, float)) else ""
        lr_txt = f" | lr {_fmt_num(lr)}" if isinstance(lr, (int, float)) else ""
        self.log(f"epoch {epoch}/{epochs}  train: {part(train)} | val: {part(val)}{lr_txt}{tail}")

    def _on_checkpoint(self, ev: Any) -> None:
        path = Path(str(getattr(ev, "path", "")))
        kind = str(getattr(ev, "kind", ""))
        if kind == "best":
            self.best_checkpoint = path
        else:
            self.latest_checkpoint = path
        self.last_checkpoint = self.best_checkpoint or self.latest_checkpoint
        self.log(f"checkpoint ({kind}, epoch {getattr(ev, 'epoch', '?')}): {path}")

    def _prefer_ui_thread(self, on: bool) -> None:
        if on and self.gil_switch_interval:
            if self._saved_switch is None:
                self._saved_switch = sys.getswitchinterval()
            sys.setswitchinterval(min(self._saved_switch, self.gil_switch_interval))
        elif not on and self._saved_switch is not None:
            sys.setswitchinterval(self._saved_switch)
            self._saved_switch = None

    def _on_finished(self, ev: Any) -> None:
        self.bridge.detach()
        self._prefer_ui_thread(False)
        stopped = bool(getattr(ev, "stopped", False))
        run_dir = getattr(ev, "run_dir", None)
        if run_dir:
            self.last_run_dir = Path(run_dir)
        result = getattr(self.session, "result", None)
        for attr, target in (("best_checkpoint", "best"), ("last_checkpoint", "latest")):
            p = getattr(result, attr, None)
            if p:
                setattr(self, f"{target}_checkpoint", Path(p))
        self.last_checkpoint = self.best_checkpoint or self.latest_checkpoint
        metrics = dict(getattr(ev, "test_metrics", None) or {})
        self.last_metrics = metrics
        self._show_results(metrics)
        self.progress.setRange(0, 1000)
        if not stopped:
            self.progress.setValue(1000)
        elapsed = time.monotonic() - self._run_started_at - self._paused_total
        summary = self._summary(metrics)
        what = "Stopped" if stopped else "Finished"
        shown = (
            translate("TrainingPanel", "Stopped")
            if stopped
            else translate("TrainingPanel", "Finished")
        )
        self.progress.setFormat(
            f"{shown} · {_fmt_duration(elapsed)}" + (f" · {summary}" if summary else "")
        )
        self._set_state("stopped" if stopped else "finished")
        self.status_label.setText(f"{shown}. {summary}".strip())
        self.log(f"{what.lower()}: {summary or 'no test metrics'}; run folder {run_dir}")
        if metrics and not stopped:
            self.tabs.setCurrentIndex(1)
        self.session = None
        self.runFinished.emit(ev)

    def _summary(self, metrics: dict[str, Any]) -> str:
        parts = []
        for k in ("accuracy", "f1", "r2", "mae", "mse", "loss"):
            v = metrics.get(k)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                parts.append(f"test {METRIC_LABELS.get(k, k)} {_fmt_num(v)}")
            if len(parts) == 2:
                break
        return ", ".join(parts)

    def _show_results(self, metrics: dict[str, Any]) -> None:
        rows = [
            (k, v)
            for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        ]
        self.metrics_table.setRowCount(len(rows))
        for i, (k, v) in enumerate(rows):
            name = QTableWidgetItem(METRIC_LABELS.get(k, k))
            name.setData(Qt.ItemDataRole.UserRole, k)
            val = QTableWidgetItem(_fmt_num(v))
            val.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.metrics_table.setItem(i, 0, name)
            self.metrics_table.setItem(i, 1, val)
        cm = metrics.get("confusion_matrix")
        names = metrics.get("class_names") or self.class_names
        if cm is not None:
            self.confusion_view.set_matrix(cm, names)
            self.result_stack.setCurrentWidget(self.confusion_view)
        elif metrics.get("y_true") is not None and metrics.get("y_pred") is not None:
            self.scatter_view.set_points(metrics["y_true"], metrics["y_pred"])
            self.result_stack.setCurrentWidget(self.scatter_view)
        else:
            self.result_stack.setCurrentWidget(self._no_result)

    def metric_value(self, name: str) -> float | None:
        """A test metric of the last run, as shown in the results table (tests read it)."""
        for i in range(self.metrics_table.rowCount()):
            item = self.metrics_table.item(i, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == name:
                return float((self.last_metrics or {}).get(name))
        return None

    def _on_failed(self, reason: str) -> None:
        self.bridge.detach()
        self._fail(reason)

    def _fail(self, reason: str) -> None:
        self.session = None
        self.bridge.detach()
        self._prefer_ui_thread(False)
        self.progress.setRange(0, 1000)
        self.progress.setFormat(translate("TrainingPanel", "Failed"))
        self._set_state("failed")
        self._show_failure(reason, popup=self.show_failure_popup)
        self.status_label.setText(translate("TrainingPanel", "Training failed"))
        self.log(f"FAILED: {reason}")
        self.runFailed.emit(reason)

    def _show_failure(self, reason: str, popup: bool) -> None:
        self.last_error = reason
        self.banner.setText(
            fmt(translate("TrainingPanel", "<b>Training failed.</b> %1"), str(_html(reason)))
        )
        self.banner.show()
        if popup and self.isVisible():
            if self._popup is not None:
                self._popup.close()
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                translate("TrainingPanel", "Training failed"),
                reason,
                parent=self,
            )
            box.setModal(False)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.show()
            self._popup = box
            box.destroyed.connect(lambda *_: setattr(self, "_popup", None))

    def log(self, text: str) -> None:
        stamp = _dt.datetime.now().strftime("%H:%M:%S")
        self.log_view.appendPlainText(f"{stamp}  {text}")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _default_session_factory(
    graph: Any,
    *,
    device: str | None = None,
    out_dir: Path | None = None,
    resume: Path | None = None,
    epochs: int | None = None,
    processes: int = 1,
) -> Any:
    if processes > 1:  # torchrun workers; events come back from rank 0
        from engine.train.launch import ProcessSession

        assert out_dir is not None
        return ProcessSession(graph, processes, out_dir, epochs, device, resume=resume)
    from engine.train import TrainingSession

    return TrainingSession(graph, out_dir=out_dir, epochs=epochs, device=device, resume=resume)


def _editor_factory() -> Callable[..., QWidget]:
    from designer.widgets.param_editors import make_editor

    return make_editor


__all__ = ["TrainingPanel"]
