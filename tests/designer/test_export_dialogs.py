"""The export dialogs on the real exporters: parity reports, trained weights, errors in the dialog."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from designer.document import Document
from designer.panels.export import (
    WEIGHTS_FILE,
    WEIGHTS_INITIAL,
    OnnxExportDialog,
    PythonExportDialog,
    export_onnx_dialog,
)
from engine import Graph, load_project
from tests.support.paths import EXAMPLES


@pytest.fixture(scope="module")
def iris_checkpoint(tmp_path_factory) -> Path:
    from engine.train import train

    out = tmp_path_factory.mktemp("iris-run")
    result = train(load_project(EXAMPLES / "iris.json"), out_dir=out, epochs=3)
    return Path(result.best_checkpoint or result.last_checkpoint)


def run_export(qtbot, dlg):
    """Export and wait for the outcome; the engine's error, if any, is the assertion message."""
    dlg.export()
    qtbot.waitUntil(lambda: not dlg.running, timeout=120000)
    assert dlg.error is None, dlg.error
    return dlg.report


def test_onnx_export_of_the_untrained_model_shows_the_parity_report(qtbot, tmp_path):
    doc = Document(load_project(EXAMPLES / "lenet.json"))
    dlg = OnnxExportDialog(None, doc)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.weights_combo.currentText() == WEIGHTS_INITIAL
    assert not dlg.bake_check.isEnabled()  # baking needs fitted statistics
    out = tmp_path / "lenet.onnx"
    dlg.path_edit.setText(str(out))
    dlg.opset_spin.setValue(18)
    with qtbot.waitSignal(dlg.exported, timeout=120000) as done:
        dlg.export()
        assert dlg.running and not dlg.export_button.isEnabled()
    report = done.args[0]
    assert report.ok and out.exists()
    text = dlg.report_view.toPlainText()
    assert "parity" in text and "onnxruntime" in text and "passed" in text
    assert "parity passed" in dlg.status_label.text()
    assert dlg.export_button.isEnabled() and dlg.error is None


def test_python_export_of_a_trained_project_with_its_training_loop(
    qtbot, tmp_path, iris_checkpoint
):
    doc = Document(load_project(EXAMPLES / "iris.json"))
    dlg = PythonExportDialog(None, doc, checkpoint=iris_checkpoint)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.weights_combo.currentText() == WEIGHTS_FILE
    assert dlg.checkpoint() == str(iris_checkpoint)
    dlg.training_check.setChecked(True)
    out = tmp_path / "iris_model.py"
    dlg.path_edit.setText(str(tmp_path / "iris_model"))  # the suffix is added
    report = run_export(qtbot, dlg)
    assert report.ok
    assert out.exists() and "class" in out.read_text()
    assert "passed" in dlg.report_view.toPlainText()


def test_onnx_export_with_baked_preprocessing(qtbot, tmp_path, iris_checkpoint):
    doc = Document(load_project(EXAMPLES / "iris.json"))
    dlg = OnnxExportDialog(None, doc, checkpoint=iris_checkpoint)
    qtbot.addWidget(dlg)
    assert dlg.bake_check.isEnabled()
    dlg.bake_check.setChecked(True)
    dlg.path_edit.setText(str(tmp_path / "iris.onnx"))
    report = run_export(qtbot, dlg)
    assert report.ok and (tmp_path / "iris.onnx").exists()
    assert "baked preprocessing: True" in dlg.report_view.toPlainText()


def test_an_export_the_engine_refuses_shows_the_reason_in_the_dialog(qtbot, tmp_path):
    g = Graph(name="broken")
    x = g.add("Input", shape=[4])
    c = g.add("Conv2d", out_channels=2, kernel_size=3)  # a 1-D sample into a Conv2d
    g.connect(x, c)
    doc = Document(g)
    dlg = OnnxExportDialog(None, doc)
    qtbot.addWidget(dlg)
    out = tmp_path / "broken.onnx"
    dlg.path_edit.setText(str(out))
    with qtbot.waitSignal(dlg.failed, timeout=60000) as failed:
        dlg.export()
    assert "conv" in failed.args[0].lower()
    assert "Export failed" in dlg.status_label.text()
    assert not out.exists()
    assert dlg.export_button.isEnabled() and not dlg.running
    # a folder that does not exist is refused before anything runs
    dlg.path_edit.setText(str(tmp_path / "nowhere" / "m.onnx"))
    dlg.export()
    assert "no such folder" in dlg.error
    # a missing checkpoint too
    dlg.weights_combo.setCurrentText(WEIGHTS_FILE)
    dlg.checkpoint_edit.setText(str(tmp_path / "missing.pt"))
    dlg.path_edit.setText(str(out))
    dlg.export()
    assert "no such checkpoint" in dlg.error


def test_the_menu_entry_opens_a_modal_dialog(qtbot, tmp_path):
    doc = Document(load_project(EXAMPLES / "lenet.json"))
    seen: list[object] = []

    def inspect_and_close() -> None:
        dlg = QApplication.activeModalWidget()
        seen.append((type(dlg), dlg.windowTitle(), dlg.isModal()))
        dlg.reject()

    QTimer.singleShot(100, inspect_and_close)
    export_onnx_dialog(None, doc)  # returns once the user closes it
    assert seen == [(OnnxExportDialog, "Export to ONNX", True)]
