"""Export dialogs: ONNX and Python code, each proven against torch by a parity report.

The export runs on a worker thread (``engine.export_onnx`` / ``engine.export_python``); the
dialog shows the exporter's progress text, then the parity table, or the engine's error in
the dialog itself. Nothing here knows how exporting works.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from designer.bridge import run_task
from designer.i18n import fmt, translate

WEIGHTS_INITIAL = QT_TRANSLATE_NOOP("ExportDialog", "Untrained (initial weights)")
WEIGHTS_BEST = QT_TRANSLATE_NOOP("ExportDialog", "Best model of the last run")
WEIGHTS_LAST = QT_TRANSLATE_NOOP("ExportDialog", "Last model of the last run")
WEIGHTS_FILE = QT_TRANSLATE_NOOP("ExportDialog", "Checkpoint file…")
OPSET_DEFAULT = 0  # the spin box's special value: the exporter's default opset


def _training_panel(parent: Any) -> Any:
    """The window's training panel, if any, for the last run's checkpoints and graph."""
    from designer.panels.training import TrainingPanel

    w = parent
    while w is not None:
        if isinstance(w, TrainingPanel):
            return w
        if isinstance(w, QWidget):
            found = w.findChild(TrainingPanel)
            if found is not None:
                return found
            w = w.parentWidget()
        else:
            break
    return None


def _onnx_job(
    graph: Any,
    path: str,
    checkpoint: str | None,
    opset: int | None,
    bake: bool,
    progress: Any = None,
) -> Any:
    from engine import export_onnx

    return export_onnx(
        graph,
        path,
        checkpoint=checkpoint,
        opset=opset,
        bake_preprocessing=bake,
        progress=progress,
    )


def _python_job(
    graph: Any, path: str, checkpoint: str | None, with_training: bool, progress: Any = None
) -> Any:
    from engine import export_python

    return export_python(
        graph, path, checkpoint=checkpoint, with_training=with_training, progress=progress
    )


class ExportDialog(QDialog):
    """Shared body of the two export dialogs: target file, weights, options, run, report."""

    exported = Signal(object)  # the ParityReport
    failed = Signal(str)

    kind = ""
    suffix = ""
    file_filter = ""

    def __init__(
        self, parent: QWidget | None, document: Any, checkpoint: str | Path | None = None
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.training_panel = _training_panel(parent)
        self.report: Any = None
        self.error: str | None = None
        self.running = False
        self.setMinimumWidth(640)
        self._build()
        self._init_weights(checkpoint)
        self.path_edit.setText(str(self._default_path()))

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        root = QVBoxLayout(self)
        form = QFormLayout()
        prow = QHBoxLayout()
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("exportPath")
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip(translate("ExportDialog", "Choose where to write the file"))
        browse.clicked.connect(self._browse_path)
        prow.addWidget(self.path_edit, 1)
        prow.addWidget(browse)
        form.addRow(translate("ExportDialog", "Save to"), prow)

        self.weights_combo = QComboBox()
        self.weights_combo.setObjectName("exportWeights")
        self.weights_combo.currentIndexChanged.connect(lambda *_: self._on_weights())
        form.addRow(translate("ExportDialog", "Weights"), self.weights_combo)
        crow = QHBoxLayout()
        self.checkpoint_edit = QLineEdit()
        self.checkpoint_edit.setObjectName("exportCheckpoint")
        self.checkpoint_edit.setPlaceholderText(
            translate("ExportDialog", "a checkpoint written by a training run")
        )
        self._ckpt_browse = QToolButton()
        self._ckpt_browse.setText("…")
        self._ckpt_browse.clicked.connect(self._browse_checkpoint)
        crow.addWidget(self.checkpoint_edit, 1)
        crow.addWidget(self._ckpt_browse)
        self._ckpt_row = QWidget()
        self._ckpt_row.setLayout(crow)
        crow.setContentsMargins(0, 0, 0, 0)
        form.addRow(translate("ExportDialog", "Checkpoint"), self._ckpt_row)
        self._add_options(form)
        root.addLayout(form)

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setMaximumHeight(8)
        self.progress_bar.hide()
        root.addWidget(self.progress_bar)
        self.status_label = QLabel("")
        self.status_label.setObjectName("exportStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        root.addWidget(self.status_label)
        self.report_view = QPlainTextEdit()
        self.report_view.setObjectName("exportReport")
        self.report_view.setReadOnly(True)
        self.report_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.report_view.setFont(mono)
        self.report_view.setPlaceholderText(
            translate(
                "ExportDialog", "The parity report (torch against the exported model) appears here."
            )
        )
        self.report_view.setMinimumHeight(180)
        root.addWidget(self.report_view, 1)

        buttons = QDialogButtonBox()
        self.export_button = QPushButton(translate("ExportDialog", "Export"))
        self.export_button.setObjectName("exportRun")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.export)
        buttons.addButton(self.export_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.clicked.connect(self.reject)
        root.addWidget(buttons)

    def _add_options(self, form: QFormLayout) -> None:
        raise NotImplementedError

    # -- weights --------------------------------------------------------------------------
    def _run_checkpoints(self) -> tuple[Path | None, Path | None]:
        tp = self.training_panel
        if tp is None:
            return None, None
        return getattr(tp, "best_checkpoint", None), getattr(tp, "latest_checkpoint", None)

    def _init_weights(self, checkpoint: str | Path | None) -> None:
        best, last = self._run_checkpoints()
        items = [translate("ExportDialog", WEIGHTS_INITIAL)]
        if best:
            items.append(translate("ExportDialog", WEIGHTS_BEST))
        if last:
            items.append(translate("ExportDialog", WEIGHTS_LAST))
        items.append(translate("ExportDialog", WEIGHTS_FILE))
        self.weights_combo.blockSignals(True)
        self.weights_combo.addItems(items)
        self.weights_combo.blockSignals(False)
        if checkpoint is not None:
            cp = Path(checkpoint)
            if best is not None and cp == Path(best):
                self.weights_combo.setCurrentText(translate("ExportDialog", WEIGHTS_BEST))
            elif last is not None and cp == Path(last):
                self.weights_combo.setCurrentText(translate("ExportDialog", WEIGHTS_LAST))
            else:
                self.weights_combo.setCurrentText(translate("ExportDialog", WEIGHTS_FILE))
                self.checkpoint_edit.setText(str(cp))
        elif best:
            self.weights_combo.setCurrentText(translate("ExportDialog", WEIGHTS_BEST))
        self._on_weights()

    def _on_weights(self) -> None:
        choice = self.weights_combo.currentText()
        best, last = self._run_checkpoints()
        self._ckpt_row.setEnabled(choice == translate("ExportDialog", WEIGHTS_FILE))
        if choice == translate("ExportDialog", WEIGHTS_BEST) and best:
            self.checkpoint_edit.setText(str(best))
        elif choice == translate("ExportDialog", WEIGHTS_LAST) and last:
            self.checkpoint_edit.setText(str(last))
        elif choice == translate("ExportDialog", WEIGHTS_INITIAL):
            self.checkpoint_edit.setText("")
        self._on_options()

    def _on_options(self) -> None:
        """Subclasses enable options that need trained weights."""

    def checkpoint(self) -> str | None:
        if self.weights_combo.currentText() == translate("ExportDialog", WEIGHTS_INITIAL):
            return None
        text = self.checkpoint_edit.text().strip()
        return text or None

    def graph(self) -> Any:
        """The graph the weights belong to: the run's copy for its checkpoints, else the document's."""
        choice = self.weights_combo.currentText()
        if (
            choice
            in (translate("ExportDialog", WEIGHTS_BEST), translate("ExportDialog", WEIGHTS_LAST))
            and self.training_panel is not None
        ):
            g = getattr(self.training_panel, "last_graph", None)
            if g is not None:
                return g
        return self.document.graph.copy()

    # -- paths ------------------------------------------------------------------------------
    def _default_path(self) -> Path:
        doc_path = getattr(self.document, "path", None)
        if doc_path is not None:
            return Path(doc_path).with_suffix(self.suffix)
        name = getattr(getattr(self.document, "graph", None), "name", None) or "model"
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "model"
        return Path.home() / f"{safe}{self.suffix}"

    def _browse_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            fmt(translate("ExportDialog", "Export %1"), str(self.kind)),
            self.path_edit.text(),
            self.file_filter,
        )
        if path:
            if not path.endswith(self.suffix):
                path += self.suffix
            self.path_edit.setText(path)

    def _browse_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            translate("ExportDialog", "Choose a checkpoint"),
            self.checkpoint_edit.text(),
            "Checkpoints (*.safetensors *.pt *.pth *.json);;All files (*)",
        )
        if path:
            self.checkpoint_edit.setText(path)

    # -- running --------------------------------------------------------------------------
    def _job(self) -> tuple[Any, tuple[Any, ...]]:
        raise NotImplementedError

    def export(self) -> None:
        """Export off the GUI thread; the result or the error appears in this dialog."""
        if self.running:
            return
        text = self.path_edit.text().strip()
        if not text:
            self._fail("choose a file to write")
            return
        path = Path(text).expanduser()
        if path.suffix != self.suffix:
            path = path.with_suffix(self.suffix)
            self.path_edit.setText(str(path))
        if not path.parent.exists():
            self._fail(f"{path.parent}: no such folder")
            return
        ckpt = self.checkpoint()
        if (
            self.weights_combo.currentText() != translate("ExportDialog", WEIGHTS_INITIAL)
            and ckpt is None
        ):
            self._fail("choose a checkpoint, or export the untrained model")
            return
        if ckpt is not None and not Path(ckpt).exists():
            self._fail(f"{ckpt}: no such checkpoint")
            return
        self.report = None
        self.error = None
        self.running = True
        self.export_button.setEnabled(False)
        self.progress_bar.show()
        self.report_view.clear()
        self.status_label.setStyleSheet("")
        self.status_label.setText(
            fmt(translate("ExportDialog", "Exporting to %1…"), str(path.name))
        )
        _preload_exporter()
        fn, args = self._job()
        run_task(
            fn,
            *args,
            on_done=self._on_done,
            on_error=self._on_error,
            on_progress=self._on_progress,
        )
        self._target = path

    def _on_progress(self, text: str) -> None:
        if self.running:
            self.status_label.setText(text)

    def _on_done(self, report: Any) -> None:
        self.running = False
        self.report = report
        self.export_button.setEnabled(True)
        self.progress_bar.hide()
        self.report_view.setPlainText(str(report))
        ok = bool(getattr(report, "ok", True))
        path = getattr(report, "path", "") or str(self._target)
        if ok:
            self.status_label.setStyleSheet("color: #3aa55d; font-weight: bold;")
            self.status_label.setText(
                fmt(
                    translate(
                        "ExportDialog", "Exported %1 — parity passed (max abs difference %2)"
                    ),
                    str(path),
                    f"{getattr(report, 'max_abs', 0.0):.3g}",
                )
            )
        else:
            self.status_label.setStyleSheet("color: #e0524a; font-weight: bold;")
            self.status_label.setText(
                fmt(translate("ExportDialog", "Parity FAILED for %1"), str(path))
            )
        self.exported.emit(report)

    def _on_error(self, message: str, details: str) -> None:
        self.running = False
        self.export_button.setEnabled(True)
        self.progress_bar.hide()
        self._fail(message)
        if details:
            tail = "\n".join(details.rstrip().splitlines()[-12:])
            self.report_view.appendPlainText(f"\nDetails:\n{tail}")

    def _fail(self, message: str) -> None:
        self.error = message
        self.status_label.setStyleSheet("color: #e0524a; font-weight: bold;")
        self.status_label.setText(fmt(translate("ExportDialog", "Export failed: %1"), str(message)))
        self.report_view.setPlainText(f"Export failed:\n{message}")
        self.failed.emit(message)

    def reject(self) -> None:
        # A running export finishes on its own thread; its file appears only if parity passes.
        super().reject()


class OnnxExportDialog(ExportDialog):
    kind = "ONNX"
    suffix = ".onnx"
    file_filter = "ONNX models (*.onnx)"

    def __init__(
        self, parent: QWidget | None, document: Any, checkpoint: str | Path | None = None
    ) -> None:
        super().__init__(parent, document, checkpoint)
        self.setWindowTitle(translate("OnnxExportDialog", "Export to ONNX"))

    def _add_options(self, form: QFormLayout) -> None:
        self.opset_spin = QSpinBox()
        self.opset_spin.setObjectName("exportOpset")
        self.opset_spin.setRange(OPSET_DEFAULT, 23)
        self.opset_spin.setSpecialValueText(translate("OnnxExportDialog", "exporter's default"))
        self.opset_spin.setValue(OPSET_DEFAULT)
        self.opset_spin.setToolTip(
            translate(
                "OnnxExportDialog", "ONNX operator set version; older runtimes need lower ones"
            )
        )
        form.addRow(translate("OnnxExportDialog", "Opset"), self.opset_spin)
        self.bake_check = QCheckBox(
            translate(
                "OnnxExportDialog", "Bake preprocessing into the model (it then takes raw features)"
            )
        )
        self.bake_check.setObjectName("exportBake")
        self.bake_check.setToolTip(
            translate(
                "OnnxExportDialog",
                "Puts the standardization / normalization fitted on the training split into the "
                "ONNX graph; needs trained weights",
            )
        )
        form.addRow("", self.bake_check)

    def _on_options(self) -> None:
        trained = self.weights_combo.currentText() != translate("ExportDialog", WEIGHTS_INITIAL)
        self.bake_check.setEnabled(trained)
        if not trained:
            self.bake_check.setChecked(False)

    def _job(self) -> tuple[Any, tuple[Any, ...]]:
        opset = self.opset_spin.value() or None
        path = str(Path(self.path_edit.text().strip()).expanduser().with_suffix(self.suffix))
        return _onnx_job, (
            self.graph(),
            path,
            self.checkpoint(),
            opset,
            self.bake_check.isChecked(),
        )


class PythonExportDialog(ExportDialog):
    kind = "Python"
    suffix = ".py"
    file_filter = "Python files (*.py)"

    def __init__(
        self, parent: QWidget | None, document: Any, checkpoint: str | Path | None = None
    ) -> None:
        super().__init__(parent, document, checkpoint)
        self.setWindowTitle(translate("PythonExportDialog", "Export as Python code"))

    def _add_options(self, form: QFormLayout) -> None:
        self.training_check = QCheckBox(
            translate(
                "PythonExportDialog", "Include data loading, preprocessing and the training loop"
            )
        )
        self.training_check.setObjectName("exportWithTraining")
        self.training_check.setToolTip(
            translate(
                "PythonExportDialog",
                "Without it the file holds the model class (and loads the checkpoint's weights)",
            )
        )
        form.addRow("", self.training_check)

    def _job(self) -> tuple[Any, tuple[Any, ...]]:
        path = str(Path(self.path_edit.text().strip()).expanduser().with_suffix(self.suffix))
        return _python_job, (
            self.graph(),
            path,
            self.checkpoint(),
            self.training_check.isChecked(),
        )


def _preload_exporter() -> None:
    """The exporter's packages on the GUI thread before the export's worker starts."""
    from designer.bridge import EXPORTER, preload

    preload(EXPORTER)


def export_onnx_dialog(
    parent: QWidget | None, document: Any, checkpoint: str | Path | None = None
) -> None:
    """File ▸ Export ▸ ONNX: a modal dialog; the export itself runs off the GUI thread."""
    dlg = OnnxExportDialog(parent, document, checkpoint)
    dlg.exec()


def export_python_dialog(
    parent: QWidget | None, document: Any, checkpoint: str | Path | None = None
) -> None:
    """File ▸ Export ▸ Python code: a modal dialog; the export runs off the GUI thread."""
    dlg = PythonExportDialog(parent, document, checkpoint)
    dlg.exec()


__all__ = [
    "ExportDialog",
    "OnnxExportDialog",
    "PythonExportDialog",
    "export_onnx_dialog",
    "export_python_dialog",
]
