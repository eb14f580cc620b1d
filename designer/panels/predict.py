"""The predict panel: run a trained model on a file or a typed row, see classes and probabilities.

The model is a checkpoint: the best (or last) one of the training panel's last run, or a
checkpoint file the user picks. Prediction runs through ``engine.train.predict`` on a worker
thread, with the same preprocessing the run fitted, so the UI never waits.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QT_TRANSLATE_NOOP, QObject, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from designer.bridge import run_task
from designer.i18n import fmt, translate
from designer.widgets.plots import ProbabilityBars
from engine.train.rundir import RUNS_FOLDER

SOURCE_BEST = QT_TRANSLATE_NOOP("PredictPanel", "Best model of the last run")
SOURCE_LAST = QT_TRANSLATE_NOOP("PredictPanel", "Last model of the last run")
SOURCE_FILE = QT_TRANSLATE_NOOP("PredictPanel", "Checkpoint file…")
MAX_TABLE_ROWS = 5000


def parse_row(text: str) -> list[Any]:
    """One sample typed by a user: numbers (or category names) separated by commas, ; or tabs.

    Quoted values keep their commas; a value that is not a number stays text (a category).
    """
    text = text.strip()
    if not text:
        raise ValueError("type the feature values of one sample, separated by commas")
    # the delimiter that splits the row into the most cells, honouring quotes
    parsed = [
        next(csv.reader(io.StringIO(text), delimiter=d, skipinitialspace=True))
        for d in (",", ";")
        if d in text
    ]
    cells = max(parsed, key=len) if parsed else text.split()
    out: list[Any] = []
    for c in cells:
        c = c.strip()
        if c == "":
            out.append(float("nan"))  # a missing value; the project's cleaning decides
            continue
        try:
            out.append(float(c))
        except ValueError:
            out.append(c)
    return out


def _predict_job(
    graph: Any, checkpoint: Path, data: Any, progress: Any = None
) -> tuple[Any, float]:
    """Worker-thread side: load the engine lazily and predict.

    ``graph`` None: the project saved inside the checkpoint is used.
    """
    import time

    from engine.train import predict

    if progress is not None:
        progress("loading the model…")
    t = time.perf_counter()
    pred = predict(graph, checkpoint, data)
    return pred, time.perf_counter() - t


def _input_hint(document: Any) -> str:
    """What a typed row should hold, from the live check (feature count and names)."""
    rep = getattr(document, "report", None)
    graph = getattr(document, "graph", None)
    if rep is None or graph is None:
        return ""
    names: list[str] = []
    for info in (getattr(rep, "data", None) or {}).values():
        for attr in ("feature_names", "columns", "features"):
            v = getattr(info, attr, None)
            if v:
                names = [str(x) for x in v]
        if names:
            break
    shapes = [rep.shapes.get(i) for i in getattr(rep, "inputs", [])]
    shape = shapes[0] if shapes and shapes[0] is not None else None
    if names:
        shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
        return fmt(translate("PredictPanel", "%1 values: %2"), len(names), shown)
    if shape is not None:
        n = int(np.prod(shape))
        if len(shape) == 1:
            return fmt(translate("PredictPanel", "%1 numbers"), n)
        return fmt(
            translate("PredictPanel", "%1 numbers (reshaped to %2), or use a file"), n, tuple(shape)
        )
    return ""


class PredictPanel(QWidget):
    """Dock content: choose a model and an input, predict, see the result."""

    predicted = Signal(object)  # the engine's Prediction
    failed = Signal(str)

    def __init__(
        self, document: QObject, training_panel: Any = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("PredictPanel")
        self.document = document
        self.training_panel = training_panel
        self.prediction: Any = None
        self.last_error: str | None = None
        self.busy = False
        self._build()
        if training_panel is not None and hasattr(training_panel, "runFinished"):
            training_panel.runFinished.connect(
                self._refresh_source
            )  # a method: dies with the panel
            moved = getattr(training_panel, "runsMoved", None)
            if moved is not None:
                moved.connect(self._refresh_source)
        for name in ("reportReady", "graphReplaced"):
            sig = getattr(document, name, None)
            if sig is not None:
                sig.connect(self._refresh_hint)  # a method: disconnected when the panel dies
        replaced = getattr(document, "graphReplaced", None)
        if replaced is not None:
            replaced.connect(self._on_graph_replaced)
        self._refresh_source()
        self._refresh_hint()

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(6, 6, 6, 6)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        root.addWidget(split)
        split.addWidget(self._build_left())
        split.addWidget(self._build_right())
        split.setSizes([380, 700])

    def _build_left(self) -> QWidget:
        """The left side: the model, the input, the Predict button and the status."""
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self._build_model_box())
        ll.addWidget(self._build_input_box())
        self.predict_button = QPushButton(translate("PredictPanel", "Predict"))
        self.predict_button.setObjectName("predictRun")
        self.predict_button.clicked.connect(self.run)
        ll.addWidget(self.predict_button)
        self.status_label = QLabel("")
        self.status_label.setObjectName("predictStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        ll.addWidget(self.status_label)
        ll.addStretch(1)
        return left

    def _build_model_box(self) -> QGroupBox:
        """Model: which run's checkpoint, or a checkpoint file."""
        model_box = QGroupBox(translate("PredictPanel", "Model"))
        mf = QFormLayout(model_box)
        self.source_combo = QComboBox()
        self.source_combo.setObjectName("predictSource")
        self.source_combo.addItems(
            [
                translate("PredictPanel", SOURCE_BEST),
                translate("PredictPanel", SOURCE_LAST),
                translate("PredictPanel", SOURCE_FILE),
            ]
        )
        self.source_combo.currentIndexChanged.connect(lambda *_: self._refresh_source())
        mf.addRow(translate("PredictPanel", "Use"), self.source_combo)
        row = QHBoxLayout()
        self.checkpoint_edit = QLineEdit()
        self.checkpoint_edit.setObjectName("predictCheckpoint")
        self.checkpoint_edit.setPlaceholderText(
            translate("PredictPanel", "a checkpoint written by a training run")
        )
        self.checkpoint_edit.textChanged.connect(lambda *_: self._update_buttons())
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip(translate("PredictPanel", "Choose a checkpoint file"))
        browse.clicked.connect(self._browse_checkpoint)
        self._ckpt_browse = browse
        row.addWidget(self.checkpoint_edit, 1)
        row.addWidget(browse)
        mf.addRow(translate("PredictPanel", "Checkpoint"), row)
        return model_box

    def _build_input_box(self) -> QGroupBox:
        """Input: a row typed in, or a file or an image folder."""
        input_box = QGroupBox(translate("PredictPanel", "Input"))
        il = QVBoxLayout(input_box)
        self.mode_row = QRadioButton(translate("PredictPanel", "A row typed in"))
        self.mode_file = QRadioButton(
            translate("PredictPanel", "A file: CSV, .npz, or an image folder")
        )
        self.mode_row.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.mode_row)
        group.addButton(self.mode_file)
        il.addWidget(self.mode_row)
        self.row_edit = QLineEdit()
        self.row_edit.setObjectName("predictRow")
        self.row_edit.setPlaceholderText(translate("PredictPanel", "e.g. 5.1, 3.5, 1.4, 0.2"))
        self.row_edit.returnPressed.connect(self.run)
        self.row_edit.textEdited.connect(lambda *_: self.mode_row.setChecked(True))
        il.addWidget(self.row_edit)
        self.hint_label = QLabel("")
        self.hint_label.setWordWrap(True)
        self.hint_label.setStyleSheet("color: gray;")
        il.addWidget(self.hint_label)
        il.addWidget(self.mode_file)
        frow = QHBoxLayout()
        self.file_edit = QLineEdit()
        self.file_edit.setObjectName("predictFile")
        self.file_edit.setPlaceholderText(
            translate("PredictPanel", "path to a CSV, a .npz, or a folder of images")
        )
        self.file_edit.textEdited.connect(lambda *_: self.mode_file.setChecked(True))
        fbtn = QToolButton()
        fbtn.setText(translate("PredictPanel", "File…"))
        fbtn.clicked.connect(self._browse_file)
        dbtn = QToolButton()
        dbtn.setText(translate("PredictPanel", "Folder…"))
        dbtn.clicked.connect(self._browse_folder)
        frow.addWidget(self.file_edit, 1)
        frow.addWidget(fbtn)
        frow.addWidget(dbtn)
        il.addLayout(frow)
        for b in (self.mode_row, self.mode_file):
            b.toggled.connect(lambda *_: self._update_buttons())
        self.row_edit.textChanged.connect(lambda *_: self._update_buttons())
        self.file_edit.textChanged.connect(lambda *_: self._update_buttons())
        return input_box

    def _build_right(self) -> QWidget:
        """The right side: the answer, and the table of rows with their probabilities."""
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.answer_label = QLabel(translate("PredictPanel", "No prediction yet."))
        self.answer_label.setObjectName("predictAnswer")
        big = QFont()
        big.setPointSizeF(big.pointSizeF() * 1.5)
        big.setBold(True)
        self.answer_label.setFont(big)
        self.answer_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        rl.addWidget(self.answer_label)
        inner = self._build_result_table()
        self._placeholder = QLabel(
            translate(
                "PredictPanel",
                "Choose a model and an input, then Predict.\n"
                "One sample: its class and the probability of each class.\n"
                "A file: one row per sample; select a row to see its probabilities.",
            )
        )
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setStyleSheet("color: gray;")
        self._results = QStackedWidget()
        self._results.addWidget(self._placeholder)
        self._results.addWidget(inner)
        rl.addWidget(self._results, 1)
        return right

    def _build_result_table(self) -> QSplitter:
        """One row per sample beside the selected row's class probabilities."""
        inner = QSplitter(Qt.Orientation.Horizontal)
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("predictTable")
        self.table.setHorizontalHeaderLabels(
            ["#", translate("PredictPanel", "prediction"), translate("PredictPanel", "confidence")]
        )
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumWidth(240)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.itemSelectionChanged.connect(self._on_row_selected)
        self.bars = ProbabilityBars()
        inner.addWidget(self.table)
        inner.addWidget(self.bars)
        inner.setSizes([320, 420])
        return inner

    # -- model source ----------------------------------------------------------------------
    def _run_checkpoints(self) -> tuple[Path | None, Path | None]:
        tp = self.training_panel
        if tp is None:
            return None, None
        best = getattr(tp, "best_checkpoint", None)
        last = getattr(tp, "latest_checkpoint", None) or getattr(tp, "last_checkpoint", None)
        return best, last

    def _refresh_source(self) -> None:
        best, last = self._run_checkpoints()
        src = self.source_combo.currentText()
        from_file = src == translate("PredictPanel", SOURCE_FILE)
        self.checkpoint_edit.setReadOnly(not from_file)
        self._ckpt_browse.setEnabled(from_file)
        if not from_file:
            path = (
                (best or last) if src == translate("PredictPanel", SOURCE_BEST) else (last or best)
            )
            self.checkpoint_edit.setText(str(path) if path else "")
            self.checkpoint_edit.setPlaceholderText(
                translate(
                    "PredictPanel",
                    "train the model first (Training panel), or choose a checkpoint file",
                )
            )
        self._update_buttons()

    def checkpoint(self) -> Path | None:
        text = self.checkpoint_edit.text().strip()
        return Path(text) if text else None

    def _graph_for_checkpoint(self) -> Any:
        """The graph the checkpoint was trained from: the run's copy, else the checkpoint's own."""
        if (
            self.source_combo.currentText() != translate("PredictPanel", SOURCE_FILE)
            and self.training_panel is not None
        ):
            g = getattr(self.training_panel, "last_graph", None)
            if g is not None:
                return g
        return None  # the worker reads it from the checkpoint

    # -- input -----------------------------------------------------------------------------
    def _refresh_hint(self) -> None:
        hint = _input_hint(self.document)
        self.hint_label.setText(
            fmt(translate("PredictPanel", "Expected: %1"), str(hint)) if hint else ""
        )

    def input_data(self) -> Any:
        """What goes to ``predict``: a list with one typed row, or a path."""
        if self.mode_row.isChecked():
            return [parse_row(self.row_edit.text())]
        text = self.file_edit.text().strip()
        if not text:
            raise ValueError("choose a CSV, a .npz or an image folder to predict on")
        path = Path(text).expanduser()
        if not path.exists():
            raise ValueError(f"{path}: no such file or folder")
        return str(path)

    def _browse_checkpoint(self) -> None:
        start = str(self.checkpoint() or _runs_dir(self.document))
        path, _ = QFileDialog.getOpenFileName(
            self,
            translate("PredictPanel", "Choose a checkpoint"),
            start,
            "Checkpoints (*.safetensors *.pt *.pth *.json);;All files (*)",
        )
        if path:
            self.checkpoint_edit.setText(path)

    def _browse_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            translate("PredictPanel", "Data to predict on"),
            "",
            "Data (*.csv *.tsv *.txt *.npz *.npy);;All files (*)",
        )
        if path:
            self.file_edit.setText(path)
            self.mode_file.setChecked(True)

    def _browse_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, translate("PredictPanel", "Folder of images to predict on")
        )
        if path:
            self.file_edit.setText(path)
            self.mode_file.setChecked(True)

    def _update_buttons(self) -> None:
        has_model = self.checkpoint() is not None
        has_input = bool(
            self.row_edit.text().strip()
            if self.mode_row.isChecked()
            else self.file_edit.text().strip()
        )
        self.predict_button.setEnabled(has_model and has_input and not self.busy)
        if not has_model:
            self.predict_button.setToolTip(
                translate("PredictPanel", "No model yet: train one, or choose a checkpoint file")
            )
        elif not has_input:
            self.predict_button.setToolTip(
                translate("PredictPanel", "Type a row or choose a file to predict on")
            )
        else:
            self.predict_button.setToolTip(
                translate("PredictPanel", "Run the model on this input (Enter)")
            )

    # -- running ---------------------------------------------------------------------------
    def run(self) -> None:
        """Predict on the chosen input, off the GUI thread."""
        if self.busy:
            return
        ckpt = self.checkpoint()
        if ckpt is None:
            self._show_error("no model yet: train one, or choose a checkpoint file")
            return
        if not ckpt.exists():
            self._show_error(f"{ckpt}: no such checkpoint")
            return
        try:
            data = self.input_data()
        except ValueError as e:
            self._show_error(str(e))
            return
        self.busy = True
        self._update_buttons()
        self.status_label.setStyleSheet("")
        self.status_label.setText(translate("PredictPanel", "Predicting…"))
        run_task(
            _predict_job,
            self._graph_for_checkpoint(),
            ckpt,
            data,
            on_done=self._on_done,
            on_error=lambda m, _tb: self._on_error(m),
            on_progress=self.status_label.setText,
        )

    def _on_error(self, message: str) -> None:
        self.busy = False
        self._update_buttons()
        self._show_error(message)

    def _on_graph_replaced(self) -> None:
        self._clear_prediction()
        self.last_error = None
        self.status_label.setStyleSheet("")
        self.status_label.setText("")
        self._refresh_source()

    def _clear_prediction(self) -> None:
        """No result on show that is not the current input's (#16 items 2, 13)."""
        self.prediction = None
        self._results.setCurrentIndex(0)
        self.answer_label.setText(translate("PredictPanel", "No prediction yet."))

    def _show_error(self, message: str) -> None:
        self._clear_prediction()
        self.last_error = message
        self.status_label.setStyleSheet("color: #e0524a;")
        self.status_label.setText(
            fmt(translate("PredictPanel", "Could not predict: %1"), str(message))
        )
        self.failed.emit(message)

    def _on_done(self, result: Any) -> None:
        pred, seconds = result
        self.busy = False
        self.last_error = None
        self.prediction = pred
        self._update_buttons()
        labels = list(getattr(pred, "labels", []) or [])
        status = fmt(
            translate("PredictPanel", "%1 sample%2 in %3 ms"),
            str(len(labels)),
            str("s" if len(labels) != 1 else ""),
            f"{seconds * 1000:.0f}",
        )
        warnings = list(getattr(pred, "warnings", None) or [])
        for w in warnings:  # the engine's words: column, values, rows
            status += "\n" + fmt(translate("PredictPanel", "Warning: %1"), str(w))
        self.status_label.setStyleSheet("color: #d08a1e;" if warnings else "")
        self.status_label.setText(status)
        self._show_prediction(pred)
        self.predicted.emit(pred)

    def _show_prediction(self, pred: Any) -> None:
        self._results.setCurrentIndex(1)
        labels = list(getattr(pred, "labels", []) or [])
        probs = getattr(pred, "probabilities", None)
        probs = np.asarray(probs, dtype=float) if probs is not None else None
        classes = [str(c) for c in (getattr(pred, "class_names", None) or [])]
        classification = getattr(pred, "task", "") == "classification" or probs is not None
        sources = list(getattr(pred, "sources", None) or [])
        self.table.setHorizontalHeaderLabels(
            [
                translate("PredictPanel", "file") if sources else "#",
                translate("PredictPanel", "class")
                if classification
                else translate("PredictPanel", "value"),
                translate("PredictPanel", "confidence") if probs is not None else "",
            ]
        )
        shown = min(len(labels), MAX_TABLE_ROWS)
        self.table.setRowCount(shown)
        for i in range(shown):
            conf = float(probs[i].max()) if probs is not None and probs.ndim == 2 else None
            first = Path(sources[i]).name if i < len(sources) else str(i + 1)
            cells = [first, _fmt_label(labels[i]), f"{conf:.1%}" if conf is not None else ""]
            for j, c in enumerate(cells):
                item = QTableWidgetItem(c)
                if j == 0 and i < len(sources):
                    item.setToolTip(sources[i])
                elif j != 1:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(i, j, item)
        self.bars.setVisible(probs is not None)
        self.table.setVisible(len(labels) > 1 or probs is None)
        if labels:
            self.table.selectRow(0)
            self._show_sample(0)
        if len(labels) > 1:
            if classification:
                values, counts = np.unique(np.asarray([str(x) for x in labels]), return_counts=True)
                top = sorted(zip(counts, values), reverse=True)[:3]
                summary = ", ".join(f"{v} ×{c}" for c, v in top)
                self.answer_label.setText(
                    fmt(translate("PredictPanel", "%1 samples: %2"), str(len(labels)), str(summary))
                )
            else:
                arr = np.asarray(labels, dtype=float).reshape(len(labels), -1)
                self.answer_label.setText(
                    fmt(
                        translate("PredictPanel", "%1 samples: mean %2, range %3 – %4"),
                        str(len(labels)),
                        f"{arr.mean():.4g}",
                        f"{arr.min():.4g}",
                        f"{arr.max():.4g}",
                    )
                )
        self._classes = classes

    def _on_row_selected(self) -> None:
        rows = {i.row() for i in self.table.selectedItems()}
        if rows:
            self._show_sample(min(rows))

    def _show_sample(self, i: int) -> None:
        pred = self.prediction
        if pred is None:
            return
        labels = list(getattr(pred, "labels", []) or [])
        if not 0 <= i < len(labels):
            return
        probs = getattr(pred, "probabilities", None)
        classes = [str(c) for c in (getattr(pred, "class_names", None) or [])]
        if probs is not None:
            p = np.asarray(probs, dtype=float)[i]
            self.bars.set_probabilities(p, classes)
            if len(labels) == 1:
                self.answer_label.setText(f"{_fmt_label(labels[i])}  ({float(p.max()):.1%})")
        elif len(labels) == 1:
            self.answer_label.setText(
                fmt(translate("PredictPanel", "Predicted value: %1"), str(_fmt_label(labels[i])))
            )


def _fmt_label(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.5g}"
    if isinstance(v, (list, tuple, np.ndarray)):
        return ", ".join(_fmt_label(x) for x in np.asarray(v).reshape(-1)[:8])
    return str(v)


def _runs_dir(document: Any) -> str:
    path = getattr(document, "path", None)
    if path is not None:
        runs = Path(path).parent / RUNS_FOLDER
        return str(runs if runs.exists() else Path(path).parent)
    return ""


__all__ = ["PredictPanel", "parse_row"]
