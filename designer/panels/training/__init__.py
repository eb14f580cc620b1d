"""The training panel: settings, start/pause/stop, live plots, log, and the test results.

Its parts: :mod:`.settings_form` (the settings column), :mod:`.run_view` (controls,
progress, live plots, log) and :mod:`.results` (test metrics, checkpoints, run folder,
failure banner); :class:`TrainingPanel` builds them and wires them to the document.

Training runs on a copy of the graph taken at start, in the engine's own background thread;
events reach this panel through :class:`designer.bridge.TrainingBridge` (queued, batch
events throttled), so the UI thread never waits on training. Creating the session (which
imports torch and loads the data) also happens off the GUI thread.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from PySide6.QtWidgets import QLabel, QMessageBox, QSplitter, QTabWidget, QVBoxLayout, QWidget

from designer.bridge import TrainingBridge, run_task
from designer.i18n import fmt, translate
from designer.panels.training.results import (
    METRIC_LABELS,
    Results,
    default_runs_root,
)
from designer.panels.training.run_view import _ACTIVE, RunView, _default_session_factory
from designer.panels.training.settings_form import (
    SettingsForm,
    _detect_devices,
    _detect_processes,
    _training_settings_params,
)
from engine.analysis.report import Reason
from engine.train.progress import ProgressEstimator


def _load_environment() -> tuple[tuple[Any, ...], dict[str, str | None]]:
    # looked up here, in the package: tests replace ``training._detect_processes``
    devices: dict[str, Any] = dict(_detect_devices())
    devices["processes"] = _detect_processes()
    return _training_settings_params(), devices


class TrainingPanel(SettingsForm, RunView, Results, QWidget):
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
        self.bridge.initLoaded.connect(self._on_init_loaded)
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
        root.addLayout(self._build_controls())
        root.addWidget(self._build_progress())
        root.addWidget(self._build_banner())

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
        split.addWidget(self._build_settings_area())
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._build_plots(), translate("TrainingPanel", "Progress"))
        self.tabs.addTab(self._build_results(), translate("TrainingPanel", "Results"))
        self.tabs.addTab(self._build_log(), translate("TrainingPanel", "Log"))
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
        # the document as it is now: a project opened before this panel existed (the run
        # panels are built after the canvas) has its last run found as one opened later
        self._find_project_run()
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
            self.log_view.clear()  # the log was the other project's
        self._load_settings_values()
        self._on_report(getattr(self.document, "report", None))

    def _on_graph_changed(self) -> None:
        # settings may have changed through undo/redo
        self._load_settings_values()

    # -- state ----------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        self.state = state
        self._update_buttons()
        self._show_reasons(self._last_report)
        self.stateChanged.emit(state)

    @property
    def is_running(self) -> bool:
        return self.state in _ACTIVE


__all__ = [
    "METRIC_LABELS",
    "TrainingPanel",
    "_default_session_factory",
    "_detect_devices",
    "_detect_processes",
    "_training_settings_params",
    "default_runs_root",
]
