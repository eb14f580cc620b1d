"""The Compress dialog: prune / quantize a finished run and see what each variant costs.

It opens on a finished run (the Training panel's ``last_run_dir`` and the graph it trained).
The user chooses the steps; ``engine.compress.compress`` runs on a worker thread
(``designer.bridge.run_task``), its progress lines appear in the log, then the report's
table: per variant its parameters, ONNX file size, CPU latency at batch 1 and 32, test
metric, drop and agreement with the original. A selected variant can be opened (its
project) or its ONNX file exported (copied) elsewhere. Nothing here knows how compressing
works.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer.bridge import EXPORTER, run_task
from designer.i18n import fmt, translate
from engine.compress.options import DEFAULT_MAX_DROP

REFUSED_COLOR = "#e0524a"

METHODS = (
    (
        QT_TRANSLATE_NOOP("CompressDialog", "Structured: whole channels/neurons, L1 norm"),
        True,
        1,
        "layer",
    ),
    (
        QT_TRANSLATE_NOOP("CompressDialog", "Structured: whole channels/neurons, L2 norm"),
        True,
        2,
        "layer",
    ),
    (
        QT_TRANSLATE_NOOP("CompressDialog", "Unstructured: smallest weights of each layer"),
        False,
        1,
        "layer",
    ),
    (
        QT_TRANSLATE_NOOP("CompressDialog", "Unstructured: smallest weights over all layers"),
        False,
        1,
        "global",
    ),
)
COLUMNS = (
    QT_TRANSLATE_NOOP("CompressDialog", "Variant"),
    QT_TRANSLATE_NOOP("CompressDialog", "Params"),
    QT_TRANSLATE_NOOP("CompressDialog", "Non-zero"),
    QT_TRANSLATE_NOOP("CompressDialog", "File"),
    QT_TRANSLATE_NOOP("CompressDialog", "Batch 1 (ms)"),
    QT_TRANSLATE_NOOP("CompressDialog", "Batch 32 (ms)"),
    QT_TRANSLATE_NOOP("CompressDialog", "Metric"),
    QT_TRANSLATE_NOOP("CompressDialog", "Drop"),
    QT_TRANSLATE_NOOP("CompressDialog", "Agreement / error"),
    "",
)


def _compress_job(graph: Any, checkpoint: str, out: str, options: dict[str, Any],
                  progress: Any = None) -> Any:  # fmt: skip
    import logging

    from engine.compress import compress

    logging.getLogger().setLevel(logging.ERROR)  # the quantizer's advice, already followed
    return compress(graph, checkpoint, out, progress=progress, **options)


QUANT_MODES = {
    "int8-dynamic": QT_TRANSLATE_NOOP("CompressDialog", "int8 dynamic"),
    "int8-static": QT_TRANSLATE_NOOP(
        "CompressDialog", "int8 static (QDQ, calibrated on the training split)"
    ),
    "fp16": "fp16",
}


SCOPES = {
    "layer": QT_TRANSLATE_NOOP("CompressDialog", "layer magnitude"),
    "global": QT_TRANSLATE_NOOP("CompressDialog", "global magnitude"),
}


def _made(r: Any) -> str:
    """What the variant started as (original, pruned, distilled), in the interface's language."""
    if r.kind == "pruned":
        how = (
            fmt(translate("CompressDialog", "L%1 channels"), r.norm)
            if r.structured
            else translate("CompressDialog", SCOPES.get(r.scope, r.scope))
        )
        if r.steps > 1:
            how += fmt(translate("CompressDialog", ", %1 steps"), r.steps)
        if r.finetune_epochs:
            how += fmt(
                translate("CompressDialog", ", fine-tuned %1 epoch(s)/step"), r.finetune_epochs
            )
        return fmt(translate("CompressDialog", "pruned %1% (%2)"), round(r.amount * 100), how)
    if r.kind == "distilled":
        return fmt(
            translate("CompressDialog", "%1 trained against the original (%2 epochs)"),
            r.student,
            r.epochs,
        )
    return translate("CompressDialog", "the trained model, fp32")


def describe(v: Any) -> str:
    """A variant's description built from its recipe, so it reads in the interface's language."""
    r = getattr(v, "recipe", None)
    if r is None:
        return str(v.description)
    text = _made(r)
    if r.quantization:
        mode = QUANT_MODES.get(r.quantization, r.quantization)
        text = fmt(translate("CompressDialog", "%1; %2"), text, translate("CompressDialog", mode))
    return text


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} KB"


class CompressDialog(QDialog):
    """Choose the steps, watch the progress, read the table, open or export a variant."""

    finished_report = Signal(object)  # the CompressionReport
    failed = Signal(str)
    openProject = Signal(str)  # a variant's project file

    def __init__(
        self,
        parent: QWidget | None,
        graph: Any,
        run_dir: str | Path | None,
        checkpoint: str | Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(translate("CompressDialog", "Compress the trained model"))
        self.setObjectName("CompressDialog")
        self.graph = graph
        self.run_dir = Path(run_dir) if run_dir else None
        self.checkpoint = Path(checkpoint) if checkpoint else self.run_dir
        self.report: Any = None
        self.error: str | None = None
        self.running = False
        self.setMinimumWidth(900)
        self._build()
        self.resize(1000, 700)

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        where = (
            str(self.checkpoint)
            if self.checkpoint
            else translate("CompressDialog", "no finished run: train first")
        )
        self.run_label = QLabel(fmt(translate("CompressDialog", "Run: %1"), str(where)))
        self.run_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        root.addWidget(self.run_label)

        steps = QHBoxLayout()
        steps.addWidget(self._build_prune())
        steps.addWidget(self._build_quantize())
        root.addLayout(steps)
        root.addLayout(self._build_distill())
        root.addLayout(self._build_output())

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 0)
        self.progress_bar.hide()
        root.addWidget(self.progress_bar)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        root.addWidget(self.status_label)

        root.addWidget(self._build_table(), 1)

        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setFont(QFont("monospace", 9))
        self.log.setMaximumHeight(110)
        root.addWidget(self.log)

        root.addLayout(self._build_buttons())
        self._on_select()

    def _build_prune(self) -> QGroupBox:
        """Prune: method, amount, steps and fine-tuning epochs."""
        pg = QGroupBox(translate("CompressDialog", "Prune"))
        pf = QFormLayout(pg)
        self.prune_check = QCheckBox(translate("CompressDialog", "Prune the trained weights"))
        self.prune_check.setChecked(True)
        pf.addRow(self.prune_check)
        self.method_combo = QComboBox()
        for text, *_ in METHODS:
            self.method_combo.addItem(translate("CompressDialog", text))
        pf.addRow(translate("CompressDialog", "Method"), self.method_combo)
        self.amount_spin = QDoubleSpinBox()
        self.amount_spin.setRange(0.05, 0.95)
        self.amount_spin.setSingleStep(0.05)
        self.amount_spin.setValue(0.5)
        self.amount_spin.setToolTip(
            translate("CompressDialog", "fraction of the channels (structured) or weights removed")
        )
        pf.addRow(translate("CompressDialog", "Amount"), self.amount_spin)
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 20)
        self.steps_spin.setToolTip(
            translate("CompressDialog", "iterative schedule: prune a little, fine-tune, repeat")
        )
        pf.addRow(translate("CompressDialog", "Steps"), self.steps_spin)
        self.finetune_spin = QSpinBox()
        self.finetune_spin.setRange(0, 1000)
        self.finetune_spin.setValue(2)
        pf.addRow(translate("CompressDialog", "Fine-tune epochs / step"), self.finetune_spin)
        self.prune_frozen_check = QCheckBox(translate("CompressDialog", "Prune frozen layers too"))
        self.prune_frozen_check.setToolTip(
            translate(
                "CompressDialog",
                "frozen layers keep their weights unless checked; pruned, they are unfrozen "
                "for the fine-tune",
            )
        )
        pf.addRow(self.prune_frozen_check)
        return pg

    def _build_quantize(self) -> QGroupBox:
        """Quantize the ONNX export: the modes, and the accuracy drop a variant may lose."""
        qg = QGroupBox(translate("CompressDialog", "Quantize the ONNX export"))
        qv = QVBoxLayout(qg)
        self.quant_checks: dict[str, QCheckBox] = {}
        for mode, text in (
            (
                "int8-dynamic",
                translate("CompressDialog", "int8 dynamic (weights int8, activations per batch)"),
            ),
            (
                "int8-static",
                translate("CompressDialog", "int8 static (QDQ, calibrated on the training split)"),
            ),
            ("fp16", "fp16"),
        ):
            cb = QCheckBox(text)
            cb.setChecked(mode == "int8-static")
            self.quant_checks[mode] = cb
            qv.addWidget(cb)
        dr = QHBoxLayout()
        self.max_drop_check = QCheckBox(
            translate("CompressDialog", "Refuse variants losing more than")
        )
        self.max_drop_check.setChecked(True)
        self.max_drop_spin = QDoubleSpinBox()
        self.max_drop_spin.setRange(0.0, 100.0)
        self.max_drop_spin.setValue(DEFAULT_MAX_DROP * 100.0)
        self.max_drop_spin.setSuffix(" " + translate("CompressDialog", "points"))
        dr.addWidget(self.max_drop_check)
        dr.addWidget(self.max_drop_spin)
        dr.addStretch(1)
        qv.addLayout(dr)
        qv.addStretch(1)
        return qg

    def _build_distill(self) -> QHBoxLayout:
        """Distill into an optional student project."""
        drow = QHBoxLayout()
        drow.addWidget(QLabel(translate("CompressDialog", "Distill into")))
        self.student_edit = QLineEdit()
        self.student_edit.setPlaceholderText(
            translate(
                "CompressDialog",
                "optional: a student project (same data chain) trained against this model",
            )
        )
        drow.addWidget(self.student_edit, 1)
        sb = QPushButton(translate("CompressDialog", "Browse…"))
        sb.clicked.connect(self._browse_student)
        drow.addWidget(sb)
        drow.addWidget(QLabel(translate("CompressDialog", "epochs")))
        self.distill_spin = QSpinBox()
        self.distill_spin.setRange(1, 100000)
        self.distill_spin.setValue(20)
        drow.addWidget(self.distill_spin)
        return drow

    def _build_output(self) -> QHBoxLayout:
        """The output folder and the Compress button."""
        orow = QHBoxLayout()
        orow.addWidget(QLabel(translate("CompressDialog", "Output folder")))
        self.out_edit = QLineEdit(str(self.run_dir / "compressed") if self.run_dir else "")
        orow.addWidget(self.out_edit, 1)
        browse = QPushButton(translate("CompressDialog", "Browse…"))
        browse.clicked.connect(self._browse_out)
        orow.addWidget(browse)
        self.compress_button = QPushButton(translate("CompressDialog", "Compress"))
        self.compress_button.setDefault(True)
        self.compress_button.clicked.connect(self.start)
        self.compress_button.setEnabled(self.checkpoint is not None)
        orow.addWidget(self.compress_button)
        return orow

    def _build_table(self) -> QTableWidget:
        """The variants table."""
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([translate("CompressDialog", c) for c in COLUMNS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setMinimumHeight(170)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._on_select)
        return self.table

    def _build_buttons(self) -> QHBoxLayout:
        """Open Project, Export ONNX…, Close."""
        brow = QHBoxLayout()
        self.open_button = QPushButton(translate("CompressDialog", "Open Project"))
        self.open_button.setToolTip(
            translate("CompressDialog", "open the selected variant's project in the designer")
        )
        self.open_button.clicked.connect(self.open_selected)
        self.export_button = QPushButton(translate("CompressDialog", "Export ONNX…"))
        self.export_button.clicked.connect(self._export_clicked)
        close = QPushButton(translate("CompressDialog", "Close"))
        close.clicked.connect(self.reject)
        brow.addWidget(self.open_button)
        brow.addWidget(self.export_button)
        brow.addStretch(1)
        brow.addWidget(close)
        return brow

    # -- options --------------------------------------------------------------------------
    def options(self) -> dict[str, Any]:
        """The ``engine.compress.compress`` keywords the dialog's choices make."""
        _, structured, norm, scope = METHODS[self.method_combo.currentIndex()]
        prune = self.amount_spin.value() if self.prune_check.isChecked() else 0.0
        return {
            "prune": round(prune, 4),
            "structured": structured,
            "norm": norm,
            "scope": scope,
            "steps": self.steps_spin.value(),
            "finetune_epochs": self.finetune_spin.value() if prune else 0,
            "prune_frozen": bool(prune) and self.prune_frozen_check.isChecked(),
            "quantize_modes": tuple(m for m, cb in self.quant_checks.items() if cb.isChecked()),
            "max_drop": self.max_drop_spin.value() / 100.0
            if self.max_drop_check.isChecked()
            else None,
            "distill": self.student_edit.text().strip() or None,
            "distill_epochs": self.distill_spin.value()
            if self.student_edit.text().strip()
            else None,
        }

    def _browse_student(self) -> None:
        f, _ = QFileDialog.getOpenFileName(
            self,
            translate("CompressDialog", "Student project"),
            self.student_edit.text(),
            "Torchwire projects (*.json)",
        )
        if f:
            self.student_edit.setText(f)

    def _browse_out(self) -> None:
        d = QFileDialog.getExistingDirectory(
            self, translate("CompressDialog", "Output folder"), self.out_edit.text()
        )
        if d:
            self.out_edit.setText(d)

    # -- running --------------------------------------------------------------------------
    def start(self) -> None:
        if self.running:
            return
        if self.checkpoint is None or not self.checkpoint.exists():
            self._fail("no finished run to compress: train the project first")
            return
        out = self.out_edit.text().strip()
        if not out:
            self._fail("choose an output folder")
            return
        opts = self.options()
        if not opts["prune"] and not opts["quantize_modes"] and not opts["distill"]:
            self._fail("choose pruning, a quantization or a student to distill into")
            return
        if opts["distill"] and not Path(opts["distill"]).exists():
            self._fail(f"{opts['distill']}: no such project")
            return
        self.running = True
        self.report = self.error = None
        self.compress_button.setEnabled(False)
        self.progress_bar.show()
        self.table.setRowCount(0)
        self.log.clear()
        self.status_label.setStyleSheet("")
        self.status_label.setText(translate("CompressDialog", "Compressing…"))
        run_task(
            _compress_job, self.graph, str(self.checkpoint), out, opts,
            on_done=self._on_done, on_error=self._on_error, on_progress=self._on_progress,
            imports=(*EXPORTER, "onnxruntime.quantization", "engine.compress"),
        )  # fmt: skip

    def _on_progress(self, text: str) -> None:
        self.log.appendPlainText(text)
        if not text.startswith("  "):
            self.status_label.setText(text)

    def _on_done(self, report: Any) -> None:
        self.running = False
        self.report = report
        self.compress_button.setEnabled(True)
        self.progress_bar.hide()
        self._fill(report)
        refused = [v.name for v in report.refused]
        if refused:
            self.status_label.setStyleSheet(f"color: {REFUSED_COLOR}; font-weight: bold;")
            self.status_label.setText(
                fmt(
                    translate("CompressDialog", "Refused (too lossy): %1; the others are in %2/"),
                    str(", ".join(refused)),
                    str(Path(report.out_dir).name),
                )
            )
        else:
            self.status_label.setStyleSheet("color: #3aa55d; font-weight: bold;")
            self.status_label.setText(
                fmt(
                    translate("CompressDialog", "%1 variants in %2/ (report.json)"),
                    str(len(report.variants)),
                    str(Path(report.out_dir).name),
                )
            )
        self.status_label.setToolTip(report.out_dir)
        kept = [r for r, v in enumerate(report.variants) if r and not v.refused]
        if kept:  # a refused row stays unselected, so its red shows
            self.table.selectRow(kept[0])
        self.finished_report.emit(report)

    def _on_error(self, message: str, details: str) -> None:
        self.running = False
        self.compress_button.setEnabled(True)
        self.progress_bar.hide()
        self._fail(message)

    def _fail(self, message: str) -> None:
        self.error = message
        self.status_label.setStyleSheet(f"color: {REFUSED_COLOR}; font-weight: bold;")
        self.status_label.setText(f"✖ {message}")
        self.failed.emit(message)

    def _fill(self, report: Any) -> None:
        metric = translate("CompressDialog", "Accuracy") if report.metric == "accuracy" else "R²"
        self.table.horizontalHeaderItem(6).setText(metric)
        self.table.setRowCount(len(report.variants))
        for r, v in enumerate(report.variants):
            pv = v.parity.get("class_agreement", v.parity.get("max_abs_error"))
            par = ""
            if pv is not None:
                par = (
                    f"{pv:.2%}"
                    if report.task == "classification"
                    else fmt(translate("CompressDialog", "max %1"), f"{pv:.3g}")
                )
            what = describe(v)
            drop = fmt(translate("CompressDialog", "%1 pts"), f"{-v.drop * 100:+.2f}")
            cells = [
                v.name, f"{v.params:,}", f"{v.nonzero_params:,}", _size(v.file_bytes),
                f"{v.latency_ms.get('1', 0):.3f}", f"{v.latency_ms.get('32', 0):.3f}",
                f"{v.value:.4f}", "" if r == 0 else drop, par,
                fmt(translate("CompressDialog", "refused: %1"), v.refused) if v.refused else what,
            ]  # fmt: skip
            for c, text in enumerate(cells):
                it = QTableWidgetItem(text)
                if 0 < c < 9:
                    it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if v.refused:
                    it.setForeground(QColor(REFUSED_COLOR))
                it.setToolTip(what + ("\n" + "\n".join(v.notes) if v.notes else ""))
                self.table.setItem(r, c, it)

    # -- variants -------------------------------------------------------------------------
    def selected(self) -> Any:
        if self.report is None:
            return None
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.report.variants[rows[0].row()]

    def _file(self, rel: str | None) -> Path | None:
        if not rel or self.report is None:
            return None
        p = Path(rel)
        return p if p.is_absolute() else Path(self.report.out_dir) / p

    def _on_select(self) -> None:
        v = self.selected()
        self.open_button.setEnabled(v is not None and bool(v.project) and not v.refused)
        self.export_button.setEnabled(v is not None and bool(v.onnx) and not v.refused)

    def open_selected(self) -> None:
        v = self.selected()
        p = self._file(v.project) if v is not None else None
        if p is not None and p.exists():
            self.openProject.emit(str(p))

    def _export_clicked(self) -> None:
        v = self.selected()
        src = self._file(v.onnx) if v is not None else None
        if src is None:
            return
        dst, _ = QFileDialog.getSaveFileName(
            self, translate("CompressDialog", "Export ONNX"), str(src.name), "ONNX (*.onnx)"
        )
        if dst:
            self.export_selected(dst)

    def export_selected(self, dst: str | Path) -> Path | None:
        """Copy the selected variant's ONNX file to ``dst``."""
        from engine.fileio import atomic_write

        v = self.selected()
        src = self._file(v.onnx) if v is not None else None
        if src is None or not src.exists():
            self._fail("the selected variant has no ONNX file")
            return None
        dst = Path(dst)

        def copy(f: Any) -> None:
            with open(src, "rb") as s:
                shutil.copyfileobj(s, f)

        atomic_write(dst, copy)
        self.status_label.setStyleSheet("")
        self.status_label.setText(
            fmt(translate("CompressDialog", "Exported %1 to %2"), str(v.name), str(dst))
        )
        return dst

    def reject(self) -> None:
        if self.running:  # the worker finishes in the background; its files stay consistent
            self.status_label.setText(
                translate("CompressDialog", "Still compressing; close again when it is done")
            )
            return
        super().reject()


def compress_dialog(parent: Any, training_panel: Any) -> CompressDialog:
    """Open the dialog (non-modal) on the Training panel's last finished run."""
    graph = getattr(training_panel, "last_graph", None)
    run_dir = getattr(training_panel, "last_run_dir", None)
    ckpt = getattr(training_panel, "last_checkpoint", None)
    if graph is None and parent is not None and getattr(parent, "document", None) is not None:
        graph = parent.document.graph
    dlg = CompressDialog(parent, graph, run_dir, ckpt)
    if parent is not None and hasattr(parent, "open_path"):
        dlg.openProject.connect(lambda p: parent.open_path(p, ask=True))
    dlg.show()
    return dlg
