"""The Compress dialog on a real finished run: steps, progress, the table, open and export."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import onnx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from designer.document import Document
from designer.panels.compress import REFUSED_COLOR, CompressDialog
from designer.panels.training import TrainingPanel
from engine import load_project
from engine.compress import DEFAULT_MAX_DROP, CompressionReport, Variant
from tests.support.paths import EXAMPLES


def trained_panel(qtbot, tmp_path):
    graph = load_project(EXAMPLES / "digits_mlp.json")
    graph.settings["training"]["epochs"] = 4
    panel = TrainingPanel(Document(graph))
    panel.runs_root = tmp_path / "runs"
    panel.show_failure_popup = False
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitUntil(lambda: panel._env_loaded and panel.start_button.isEnabled(), timeout=30000)
    with qtbot.waitSignal(panel.runFinished, timeout=60000):
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    return panel


@pytest.mark.slow
def test_compress_a_finished_run(qtbot, tmp_path):
    logging.getLogger().setLevel(logging.ERROR)
    panel = trained_panel(qtbot, tmp_path)
    dlg = CompressDialog(None, panel.last_graph, panel.last_run_dir, panel.last_checkpoint)
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.out_edit.text() == str(panel.last_run_dir / "compressed")
    assert not dlg.open_button.isEnabled() and not dlg.export_button.isEnabled()
    dlg.method_combo.setCurrentIndex(0)  # structured, L1
    dlg.amount_spin.setValue(0.5)
    dlg.finetune_spin.setValue(1)
    dlg.quant_checks["fp16"].setChecked(True)
    opts = dlg.options()
    assert opts["structured"] and opts["prune"] == 0.5 and opts["finetune_epochs"] == 1
    assert opts["quantize_modes"] == ("int8-static", "fp16") and opts["max_drop"] == 0.05
    with qtbot.waitSignal(dlg.finished_report, timeout=120000) as done:
        qtbot.mouseClick(dlg.compress_button, Qt.MouseButton.LeftButton)
        assert dlg.running and not dlg.compress_button.isEnabled()
    report = done.args[0]
    names = [dlg.table.item(r, 0).text() for r in range(dlg.table.rowCount())]
    assert names == ["original", "pruned-50", "pruned-50-int8-static", "pruned-50-fp16"]
    assert names == [v.name for v in report.variants]
    assert dlg.table.horizontalHeaderItem(6).text() == "Accuracy"
    assert "fine-tuning epoch 1/1" in dlg.log.toPlainText()  # progress lines arrived
    assert "4 variants" in dlg.status_label.text()
    if os.environ.get("TORCHWIRE_SCREENSHOTS"):
        dlg.grab().save(os.path.join(os.environ["TORCHWIRE_SCREENSHOTS"], "compress.png"))
    # the pruned variant is selected: open its project, export its ONNX file
    assert dlg.selected().name == "pruned-50"
    with qtbot.waitSignal(dlg.openProject, timeout=1000) as opened:
        qtbot.mouseClick(dlg.open_button, Qt.MouseButton.LeftButton)
    assert load_project(opened.args[0]).nodes["linear"].params["out_features"] == 64
    dlg.table.selectRow(2)
    assert not dlg.open_button.isEnabled() and dlg.export_button.isEnabled()  # an ONNX file only
    out = dlg.export_selected(tmp_path / "small.onnx")
    ops = {n.op_type for n in onnx.load(str(out)).graph.node}
    assert "QuantizeLinear" in ops


def test_max_drop_refusal_is_shown_in_red(qtbot, tmp_path):
    logging.getLogger().setLevel(logging.ERROR)
    panel = trained_panel(qtbot, tmp_path)
    dlg = CompressDialog(None, panel.last_graph, panel.last_run_dir)
    qtbot.addWidget(dlg)
    dlg.method_combo.setCurrentIndex(2)  # unstructured per layer
    dlg.amount_spin.setValue(0.95)
    dlg.finetune_spin.setValue(0)
    dlg.quant_checks["int8-static"].setChecked(False)
    dlg.max_drop_check.setChecked(True)
    dlg.max_drop_spin.setValue(1.0)
    with qtbot.waitSignal(dlg.finished_report, timeout=120000):
        dlg.start()
    assert "Refused" in dlg.status_label.text() and "pruned-95" in dlg.status_label.text()
    assert dlg.table.item(1, 9).text().startswith("refused:")
    assert not (Path(dlg.out_edit.text()) / "pruned-95.onnx").exists()
    dlg.table.selectRow(1)
    assert not dlg.export_button.isEnabled()


@pytest.mark.slow
def test_distilling_into_a_student_from_the_dialog(qtbot, tmp_path):
    from engine import save_project

    logging.getLogger().setLevel(logging.ERROR)
    panel = trained_panel(qtbot, tmp_path)
    dlg = CompressDialog(None, panel.last_graph, panel.last_run_dir)
    qtbot.addWidget(dlg)
    dlg.prune_check.setChecked(False)
    dlg.quant_checks["int8-static"].setChecked(False)
    dlg.student_edit.setText(str(tmp_path / "missing.json"))
    dlg.start()
    assert "no such project" in dlg.error and not dlg.running
    student = load_project(EXAMPLES / "digits_mlp.json")
    student.set("linear", out_features=16)
    save_project(student, tmp_path / "student.json")
    dlg.student_edit.setText(str(tmp_path / "student.json"))
    dlg.distill_spin.setValue(2)
    assert dlg.options()["distill_epochs"] == 2 and dlg.options()["prune"] == 0.0
    with qtbot.waitSignal(dlg.finished_report, timeout=120000) as done:
        dlg.start()
    v = done.args[0].variant("distilled")
    assert v.params < done.args[0].variant("original").params / 5
    assert [dlg.table.item(r, 0).text() for r in range(dlg.table.rowCount())] == [
        "original",
        "distilled",
    ]
    assert "distilling epoch 2/2" in dlg.log.toPlainText()


def test_the_defaults_refuse_lossy_variants_and_keep_frozen_layers(qtbot):
    dlg = CompressDialog(None, load_project(EXAMPLES / "digits_mlp.json"), None)
    qtbot.addWidget(dlg)
    opts = dlg.options()
    assert dlg.max_drop_check.isChecked() and opts["max_drop"] == DEFAULT_MAX_DROP == 0.05
    assert opts["prune_frozen"] is False
    dlg.prune_frozen_check.setChecked(True)
    assert dlg.options()["prune_frozen"] is True


def test_refused_variants_are_red_with_their_reason(qtbot, tmp_path):
    dlg = CompressDialog(None, load_project(EXAMPLES / "digits_mlp.json"), None)
    qtbot.addWidget(dlg)
    why = "its accuracy drops by 0.6000 (more than --max-drop 0.05); not written"
    report = CompressionReport(
        str(tmp_path), "classification", "accuracy",
        [Variant("original", "fp32", "original.onnx", value=0.84),
         Variant("pruned-50", "pruned 50%", None, value=0.24, drop=0.6, refused=why),
         Variant("original-fp16", "fp16", "original-fp16.onnx", value=0.84)], {},
    )  # fmt: skip
    dlg._on_done(report)
    red = QColor(REFUSED_COLOR)
    for c in range(dlg.table.columnCount()):
        assert dlg.table.item(1, c).foreground().color() == red
        assert dlg.table.item(2, c).foreground().color() != red
    assert dlg.table.item(1, 9).text() == f"refused: {why}"
    assert "Refused (too lossy): pruned-50" in dlg.status_label.text()
    assert dlg.selected().name == "original-fp16"  # a refused row is not selected: red shows
    if os.environ.get("TORCHWIRE_SCREENSHOTS"):
        dlg.grab().save(os.path.join(os.environ["TORCHWIRE_SCREENSHOTS"], "compress-refused.png"))


def test_without_a_run_the_dialog_says_so(qtbot):
    dlg = CompressDialog(None, load_project(EXAMPLES / "digits_mlp.json"), None)
    qtbot.addWidget(dlg)
    assert "train first" in dlg.run_label.text() and not dlg.compress_button.isEnabled()
    dlg.start()
    assert dlg.error is not None and "train the project first" in dlg.error


def test_the_run_menu_opens_the_dialog_after_a_run(window, qtbot, tmp_path):
    action = window.actions_by_name["compress"]
    assert not action.isEnabled()
    tp = window.training_panel
    tp.last_run_dir = tmp_path
    tp.last_graph = load_project(EXAMPLES / "digits_mlp.json")
    action.setEnabled(True)
    action.trigger()
    dlg = window.compress_dialog
    qtbot.addWidget(dlg)
    assert isinstance(dlg, CompressDialog) and dlg.isVisible()
    assert dlg.out_edit.text() == str(tmp_path / "compressed")
    dlg.reject()
