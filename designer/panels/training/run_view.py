"""The training panel's run view: the controls (Train, Pause, Stop, Continue, device,
processes), the progress bar, the live plots and the log; starting a run off the GUI
thread and following its events."""

from __future__ import annotations

import datetime as _dt
import sys
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QToolButton,
    QWidget,
)

from designer.bridge import run_task
from designer.i18n import fmt, translate
from designer.panels.training.results import (
    METRIC_LABELS,
    _fmt_duration,
    _fmt_num,
    default_runs_root,
    metric_label,
)
from designer.widgets.plots import EXTRA, FAINT, TRAIN, VAL, SeriesPlot
from engine.runtime.device import DEVICE_CHOICES
from engine.train.progress import ProgressEstimator
from engine.train.rundir import new_run_dir

_ACTIVE = ("starting", "running", "paused", "stopping")


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


class RunView:
    """Mixed into :class:`~designer.panels.training.TrainingPanel`: running and watching."""

    document: Any

    def _build_controls(self) -> QHBoxLayout:
        """The button bar: Train, Pause, Stop, Continue, device, processes, status."""
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
        self.device_combo.addItems(list(DEVICE_CHOICES))
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
        return bar

    def _build_progress(self) -> QProgressBar:
        """The progress bar (epoch, batch, time left, loss)."""
        self.progress = QProgressBar()
        self.progress.setObjectName("trainProgress")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat(translate("TrainingPanel", "Not started"))
        return self.progress

    def _build_plots(self) -> QWidget:
        """The Progress tab: loss, the chosen metric and the learning rate per epoch."""
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
        return plots

    def _build_log(self) -> QPlainTextEdit:
        """The Log tab."""
        # log
        self.log_view = QPlainTextEdit()
        self.log_view.setObjectName("trainLog")
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(5000)
        self.log_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.log_view.setFont(mono)
        return self.log_view

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
        # time left measured over whole epochs: their evaluation and saving count too
        self._est = ProgressEstimator(epoch_fraction=1 / self._epochs if self._epochs else 0.0)
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
                self.metric_plot.set_title(metric_label(k).capitalize())
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

    def _on_init_loaded(self, ev: Any) -> None:
        """Say which weights ``init_from`` loaded, in the engine's words, as the CLI does."""
        self.log(f"init_from: {ev.summary()}")

    def _prefer_ui_thread(self, on: bool) -> None:
        if on and self.gil_switch_interval:
            if self._saved_switch is None:
                self._saved_switch = sys.getswitchinterval()
            sys.setswitchinterval(min(self._saved_switch, self.gil_switch_interval))
        elif not on and self._saved_switch is not None:
            sys.setswitchinterval(self._saved_switch)
            self._saved_switch = None

    def log(self, text: str) -> None:
        stamp = _dt.datetime.now().strftime("%H:%M:%S")
        self.log_view.appendPlainText(f"{stamp}  {text}")


__all__ = ["RunView"]
