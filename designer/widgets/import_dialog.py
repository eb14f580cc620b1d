"""File ▸ Import Model…: an ONNX file or a PyTorch module as a new project, weights included.

The dialog only gathers the choices and shows the engine's report: the import itself is
``engine.imports.import_model`` and ``save_import`` (the same as ``torchwire import``), run
off the GUI thread with ``designer.bridge.run_task``. Where the project goes is asked first,
because the weights are written beside it and the project's ``init_from`` names them: the
opened project then trains from the imported weights with nothing else to set. Files
already there are replaced only once the user confirms (the engine decides which files an
import writes and refuses to write over the model it reads).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from designer.bridge import preload, run_task
from designer.i18n import fmt, translate

# What the import's worker imports: first imported on the GUI thread (see bridge.preload).
IMPORTER = (
    "onnx", "onnx.reference", "onnx.shape_inference", "onnxruntime", "safetensors.torch",
    "torch.fx", "engine.imports", "engine.imports.onnx_import", "engine.imports.fx_import",
)  # fmt: skip


def parse_shape(text: str) -> tuple[int, ...] | None:
    """``3,224,224`` (or ``3x224x224``) → a shape; empty → None; ValueError otherwise."""
    text = text.strip()
    if not text:
        return None
    dims = tuple(int(v) for v in text.replace("x", ",").split(",") if v.strip())
    if not dims or any(d < 1 for d in dims):
        raise ValueError(text)
    return dims


def import_job(
    source: str,
    project: str,
    input_shape: tuple[int, ...] | None,
    dtype: str,
    freeze_all_but: int | None,
    progress: Any,
    *,
    overwrite: bool = False,
) -> Any:
    """The worker: import, check against the original, write project and weights
    (replacing files already there only with ``overwrite``)."""
    from engine.imports import import_model, save_import

    progress(translate("ImportDialog", "Importing and checking against the original…"))
    result = import_model(source, input_shape=input_shape, dtype=dtype)
    progress(translate("ImportDialog", "Writing the project and its weights…"))
    save_import(result, project, freeze_all_but=freeze_all_but, overwrite=overwrite)
    return result


class ImportDialog(QDialog):
    """Choose the model and where the project goes; the import runs on a worker.

    ``imported(path)`` is emitted with the written project's path (the window opens it).
    ``report_view`` holds the import's summary, or on failure every unsupported op with
    its location, as selectable text.
    """

    imported = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("import_dialog")
        self.setWindowTitle(translate("ImportDialog", "Import Model"))
        self.running = False
        self.result: Any = None
        self.error: str | None = None
        self.task: Any = None

        self.onnx_radio = QRadioButton(translate("ImportDialog", "ONNX file"))
        self.module_radio = QRadioButton(translate("ImportDialog", "PyTorch module"))
        self.onnx_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.onnx_radio)
        group.addButton(self.module_radio)
        self.onnx_edit = QLineEdit()
        self.onnx_edit.setPlaceholderText("model.onnx")
        browse = QPushButton(translate("ImportDialog", "Browse…"))
        browse.clicked.connect(self._browse_onnx)
        row = QHBoxLayout()
        row.addWidget(self.onnx_edit, 1)
        row.addWidget(browse)
        self.module_edit = QLineEdit()
        self.module_edit.setPlaceholderText("package.module:callable")
        self.shape_edit = QLineEdit()
        self.shape_edit.setPlaceholderText("3,224,224")
        self.dtype_combo = QComboBox()
        self.dtype_combo.addItems(["float32", "int64"])
        self.project_edit = QLineEdit()
        self.project_edit.setPlaceholderText("project.json")
        browse_p = QPushButton(translate("ImportDialog", "Browse…"))
        browse_p.clicked.connect(self._browse_project)
        prow = QHBoxLayout()
        prow.addWidget(self.project_edit, 1)
        prow.addWidget(browse_p)
        self.freeze_spin = QSpinBox()
        self.freeze_spin.setRange(-1, 999)
        self.freeze_spin.setValue(-1)
        self.freeze_spin.setSpecialValueText(translate("ImportDialog", "no freezing"))
        self.freeze_spin.setToolTip(
            translate("ImportDialog", "Freeze every imported layer except the last N")
        )

        form = QFormLayout()
        form.addRow(self.onnx_radio, row)
        form.addRow(self.module_radio, self.module_edit)
        form.addRow(translate("ImportDialog", "Input shape (one sample)"), self.shape_edit)
        form.addRow(translate("ImportDialog", "Input type"), self.dtype_combo)
        form.addRow(translate("ImportDialog", "Save project as"), prow)
        form.addRow(translate("ImportDialog", "Freeze all but the last"), self.freeze_spin)

        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 0)  # busy: the import has no steps to count
        self.progress_bar.hide()
        self.report_view = QPlainTextEdit()
        self.report_view.setReadOnly(True)
        self.report_view.setFont(QFont("monospace"))
        self.report_view.setMinimumHeight(160)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.import_button = buttons.addButton(
            translate("ImportDialog", "Import"), QDialogButtonBox.ButtonRole.ActionRole
        )
        self.import_button.clicked.connect(self.start)
        buttons.rejected.connect(self.reject)

        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.status_label)
        lay.addWidget(self.progress_bar)
        lay.addWidget(self.report_view, 1)
        lay.addWidget(buttons)
        self.resize(640, 480)

    # -- choices --------------------------------------------------------------------------
    def _browse_onnx(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            translate("ImportDialog", "Choose an ONNX model"),
            self.onnx_edit.text(),
            "ONNX (*.onnx);;All files (*)",
        )
        if path:
            self.onnx_edit.setText(path)
            self.onnx_radio.setChecked(True)
            if not self.project_edit.text().strip():
                self.project_edit.setText(str(Path(path).with_suffix(".json")))

    def _browse_project(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            translate("ImportDialog", "Save the imported project as"),
            self.project_edit.text(),
            "Torchwire projects (*.json)",
        )
        if path:
            self.project_edit.setText(path)

    def _job_args(self) -> tuple[str, str, tuple[int, ...] | None, str, int | None]:
        """The worker's arguments, or ValueError with what to fix (in the user's words)."""
        if self.onnx_radio.isChecked():
            source = self.onnx_edit.text().strip()
            if not source:
                raise ValueError(translate("ImportDialog", "choose an ONNX file"))
            if not Path(source).is_file():
                raise ValueError(fmt(translate("ImportDialog", "%1: no such file"), source))
        else:
            source = self.module_edit.text().strip()
            if ":" not in source:
                raise ValueError(
                    translate("ImportDialog", "give the module as package.module:callable")
                )
        try:
            shape = parse_shape(self.shape_edit.text())
        except ValueError:
            raise ValueError(
                translate("ImportDialog", "the input shape is sizes like 3,224,224")
            ) from None
        if self.module_radio.isChecked() and shape is None:
            raise ValueError(translate("ImportDialog", "a PyTorch module needs the input shape"))
        text = self.project_edit.text().strip()
        if not text:
            raise ValueError(translate("ImportDialog", "choose where to save the project"))
        project = Path(text).expanduser()
        if project.suffix != ".json":
            project = project.with_suffix(".json")
            self.project_edit.setText(str(project))
        if not project.parent.is_dir():
            raise ValueError(fmt(translate("ImportDialog", "%1: no such folder"), project.parent))
        freeze = self.freeze_spin.value()
        return (
            source,
            str(project),
            shape,
            self.dtype_combo.currentText(),
            (freeze if freeze >= 0 else None),
        )

    def confirm_replace(self, paths: list[Path]) -> bool:
        """Ask before the import replaces files that exist (the project, its weights)."""
        names = "\n".join(str(p) for p in paths)
        answer = QMessageBox.question(
            self,
            translate("ImportDialog", "Replace files?"),
            fmt(
                translate("ImportDialog", "These files exist and the import replaces them:\n%1"),
                names,
            ),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _may_write(self, source: str | None, project: str) -> bool | None:
        """Whether to replace existing outputs: False (none), True (confirmed), None (the
        import must not run: refused by the engine, or the user said no)."""
        preload(IMPORTER)
        from engine.errors import TorchwireError
        from engine.imports import check_import_outputs, replaced_by_import

        try:
            check_import_outputs(project, source, overwrite=True)
        except TorchwireError as e:
            self._fail(str(e))
            return None
        existing = replaced_by_import(project)
        if not existing:
            return False
        if self.confirm_replace(existing):
            return True
        self._fail(translate("ImportDialog", "nothing was replaced"))
        return None

    # -- running --------------------------------------------------------------------------
    def start(self) -> None:
        """Start the import on a worker; returns at once (the dialog stays responsive)."""
        if self.running:
            return
        try:
            args = self._job_args()
        except ValueError as e:
            self._fail(str(e))
            return
        overwrite = self._may_write(args[0] if self.onnx_radio.isChecked() else None, args[1])
        if overwrite is None:
            return
        self.result, self.error = None, None
        self.running = True
        self.import_button.setEnabled(False)
        self.progress_bar.show()
        self.report_view.clear()
        self.status_label.setStyleSheet("")
        self.status_label.setText(translate("ImportDialog", "Importing…"))
        self._project = args[1]
        self.task = run_task(
            import_job,
            *args,
            on_done=self._on_done,
            on_error=self._on_error,
            on_progress=self._on_progress,
            imports=IMPORTER,
            overwrite=overwrite,
        )

    def _on_progress(self, text: str) -> None:
        if self.running:
            self.status_label.setText(text)

    def _on_done(self, result: Any) -> None:
        self.running = False
        self.result = result
        self.import_button.setEnabled(True)
        self.progress_bar.hide()
        self.report_view.setPlainText(result.report.summary())
        self.status_label.setStyleSheet("color: #3aa55d; font-weight: bold;")
        self.status_label.setText(
            fmt(
                translate("ImportDialog", "Imported as %1 (trains from its weights)"),
                Path(self._project).name,
            )
        )
        self.imported.emit(self._project)

    def _on_error(self, message: str, details: str) -> None:
        self.running = False
        self.import_button.setEnabled(True)
        self.progress_bar.hide()
        self._fail(message.splitlines()[0] if message else message)
        self.report_view.setPlainText(message)  # every unsupported op, one a line
        self.error = message

    def _fail(self, message: str) -> None:
        self.error = message
        self.status_label.setStyleSheet("color: #e0524a; font-weight: bold;")
        self.status_label.setText(fmt(translate("ImportDialog", "Import failed: %1"), message))


def import_model_dialog(window: Any) -> ImportDialog:
    """Show the dialog (modeless); a finished import opens as the window's project."""
    dlg = ImportDialog(window)

    def opened(path: str) -> None:
        if window.maybe_save():
            window.open_path(path)

    dlg.imported.connect(opened)
    dlg.show()
    return dlg


__all__ = ["IMPORTER", "ImportDialog", "import_job", "import_model_dialog", "parse_shape"]
