"""The training panel's results: the test metrics table, the confusion matrix or the
predicted-vs-true scatter, the run's folder and checkpoints (found again after a reopen,
moved beside the project on its first save), and the failure banner."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QStandardPaths, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from designer.i18n import fmt, translate
from designer.widgets.plots import ConfusionMatrixView, ScatterView
from engine.train.rundir import RUNS_FOLDER, latest_run
from engine.train.runs import move_run

# Metric names as the engine writes them, and how the panel labels them.
METRIC_LABELS = {
    "loss": QT_TRANSLATE_NOOP("Metrics", "loss"),
    "accuracy": QT_TRANSLATE_NOOP("Metrics", "accuracy"),
    "precision": QT_TRANSLATE_NOOP("Metrics", "precision (macro)"),
    "recall": QT_TRANSLATE_NOOP("Metrics", "recall (macro)"),
    "f1": QT_TRANSLATE_NOOP("Metrics", "F1 (macro)"),
    "mse": "MSE",
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
}


def metric_label(key: str) -> str:
    """A metric's label in the current language (its key when it has none)."""
    return translate("Metrics", METRIC_LABELS.get(key, key))


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
        bundled = Path(__file__).resolve().parents[3] / "resources"
        if os.access(folder, os.W_OK) and bundled not in (folder, *folder.parents):
            return folder / RUNS_FOLDER
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or tempfile.gettempdir()) / RUNS_FOLDER


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Results:
    """Mixed into :class:`~designer.panels.training.TrainingPanel`: a run's outcome."""

    document: Any

    def _build_banner(self) -> QLabel:
        """The failure banner (hidden until a run fails)."""
        self.banner = QLabel("")
        self.banner.setObjectName("trainBanner")
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.setStyleSheet(
            "QLabel { background: #5c1f1b; color: #ffdcd8; border: 1px solid #e0524a;"
            " border-radius: 3px; padding: 6px; }"
        )
        self.banner.hide()
        return self.banner

    def _build_results(self) -> QWidget:
        """The Results tab: the metrics table and the confusion matrix or scatter."""
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
        return results

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
        try:
            target = move_run(run, root, old_name, self.document.graph.name)
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
        run = latest_run(
            self.runs_root or default_runs_root(self.document), self.document.graph.name
        )
        if run is None:
            return
        best, last = run / "best.pt", run / "last.pt"
        self.last_run_dir = run
        self.best_checkpoint = best if best.exists() else None
        self.latest_checkpoint = last if last.exists() else None
        self.last_checkpoint = self.best_checkpoint or self.latest_checkpoint

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
                parts.append(
                    fmt(translate("TrainingPanel", "test %1 %2"), metric_label(k), _fmt_num(v))
                )
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
            name = QTableWidgetItem(metric_label(k))
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


__all__ = ["METRIC_LABELS", "Results", "default_runs_root", "metric_label"]
