"""File ▸ Import Model…: the real import on a worker, the report in the dialog, the project opened."""

from __future__ import annotations

import json
from pathlib import Path

from designer.widgets.import_dialog import ImportDialog, parse_shape
from tests.support.onnx_models import tiny_onnx


def test_import_menu_opens_the_imported_project_that_trains_from_its_weights(
    window, qtbot, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    window.actions_by_name["import_model"].trigger()
    dlg = window.import_dialog
    assert isinstance(dlg, ImportDialog) and dlg.isVisible()
    dlg.onnx_edit.setText(str(tiny_onnx(tmp_path / "tiny.onnx")))
    project = tmp_path / "imported.json"
    dlg.project_edit.setText(str(project))
    dlg.start()
    # the import runs on a worker: start() returned before it finished, the loop runs
    assert dlg.running and dlg.task is not None and not dlg.task.finished
    ticks = []
    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    qtbot.waitUntil(lambda: not dlg.running, timeout=60000)
    timer.stop()
    assert dlg.error is None, dlg.error
    assert ticks  # the GUI thread kept serving its event loop during the import
    assert "4 nodes, 15 parameters" in dlg.report_view.toPlainText()  # Input, fc, act, Output
    # the window now holds the imported graph, saved with init_from naming its weights
    types = sorted(n.type for n in window.document.graph.nodes.values())
    assert "Linear" in types and "ReLU" in types
    assert Path(window.document.path) == project
    data = json.loads(project.read_text())
    assert data["settings"]["training"]["init_from"] == "imported.safetensors"
    assert (tmp_path / "imported.safetensors").is_file()


def test_failed_import_shows_every_unsupported_op(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dlg = ImportDialog()
    qtbot.addWidget(dlg)
    opened: list[str] = []
    dlg.imported.connect(opened.append)
    dlg.onnx_edit.setText(str(tiny_onnx(tmp_path / "bad.onnx", op="Tan")))
    dlg.project_edit.setText(str(tmp_path / "bad.json"))
    dlg.start()
    qtbot.waitUntil(lambda: not dlg.running, timeout=60000)
    text = dlg.report_view.toPlainText()
    assert dlg.error and "act (Tan)" in text and "ONNX node 'act'" in text
    assert "Import failed" in dlg.status_label.text()
    assert dlg.report_view.isReadOnly()  # selectable, copyable text
    assert not opened and not (tmp_path / "bad.json").exists()


def test_choices_are_checked_before_anything_runs(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dlg = ImportDialog()
    qtbot.addWidget(dlg)
    dlg.start()
    assert not dlg.running and "ONNX file" in (dlg.error or "")
    dlg.module_radio.setChecked(True)
    dlg.module_edit.setText("mypkg.nets:tiny")
    dlg.project_edit.setText(str(tmp_path / "p.json"))
    dlg.start()
    assert not dlg.running and "input shape" in (dlg.error or "")
    assert parse_shape("3x32x32") == (3, 32, 32) and parse_shape("") is None


def test_existing_files_are_replaced_only_when_confirmed_and_the_model_never(
    qtbot, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    dlg = ImportDialog()
    qtbot.addWidget(dlg)
    weights = tmp_path / "p.safetensors"
    weights.write_text("mine")
    asked: list[list[Path]] = []
    monkeypatch.setattr(dlg, "confirm_replace", lambda paths: asked.append(paths) or False)
    dlg.onnx_edit.setText(str(tiny_onnx(tmp_path / "m.onnx")))
    dlg.project_edit.setText(str(tmp_path / "p.json"))
    dlg.start()
    assert not dlg.running and asked == [[weights]]
    assert weights.read_text() == "mine" and not (tmp_path / "p.json").exists()
    monkeypatch.setattr(dlg, "confirm_replace", lambda paths: True)
    dlg.start()
    qtbot.waitUntil(lambda: not dlg.running, timeout=60000)
    assert dlg.error is None, dlg.error
    assert weights.read_bytes() != b"mine" and (tmp_path / "p.json").is_file()
    # a model named like the weights: refused before asking anything
    model = tiny_onnx(tmp_path / "w.safetensors")
    dlg.onnx_edit.setText(str(model))
    dlg.project_edit.setText(str(tmp_path / "w.json"))
    before = model.read_bytes()
    dlg.start()
    assert not dlg.running and "the model being imported" in (dlg.error or "")
    assert model.read_bytes() == before
