"""An imported project trains in the designer from the weights beside it: every way the
designer comes to hold the project (open, recovery after a crash, several processes) keeps
the file's path on the graph it trains, so ``init_from`` resolves from the project's folder
and never from wherever the app was started."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from designer.app import MainWindow
from designer.files import Recovery, recover
from engine.cli import main
from tests.support.imported import add_training, mlp_onnx


def _imported_project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    project = folder / "cnn.json"
    assert main(["import", str(mlp_onnx(folder / "mlp.onnx")), "-o", str(project)]) == 0
    add_training(project)
    assert json.loads(project.read_text())["settings"]["training"]["init_from"] == "cnn.safetensors"
    return project


def _train(window: MainWindow, qtbot: Any, runs: Path) -> Any:
    tp: Any = window.training_panel
    tp.runs_root = runs
    tp.show_failure_popup = False
    qtbot.waitUntil(lambda: tp._env_loaded and tp.start_button.isEnabled(), timeout=30000)
    failures: list[str] = []
    tp.runFailed.connect(failures.append)
    with qtbot.waitSignals([tp.runFinished], timeout=60000, raising=False) as done:
        tp.start()
        qtbot.waitUntil(lambda: bool(failures) or not tp.is_running, timeout=60000)
    assert not failures, failures
    assert done.signal_triggered
    return tp


def test_a_recovered_imported_project_trains_from_its_weights(
    window: MainWindow, qtbot: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    project = _imported_project(tmp_path / "model")
    elsewhere = tmp_path / "started-here"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the app was started from another folder
    side = tmp_path / "side.json"
    side.write_text(project.read_text())
    recover(window.document, Recovery(side, project, 0.0, project.read_text()))
    tp = _train(window, qtbot, tmp_path / "runs")
    init = json.loads((tp.last_run_dir / "init.json").read_text())
    assert init["loaded"] and not init["missing"]


def test_several_processes_write_their_project_beside_the_original(tmp_path: Path) -> None:
    from engine import load_project
    from engine.train.launch import ProcessSession

    project = _imported_project(tmp_path / "model")
    graph = load_project(project).copy()  # what the Training panel hands the session
    session = ProcessSession(graph, 2, tmp_path / "runs" / "r1")
    written = session._project_file(tmp_path / "scratch")
    try:
        assert written.parent == project.parent  # init_from and data paths still resolve
    finally:
        written.unlink()


def test_the_training_log_says_what_init_from_loaded(
    window: MainWindow, qtbot: Any, tmp_path: Path
) -> None:
    project = _imported_project(tmp_path / "model")
    assert window.open_path(project)
    tp = _train(window, qtbot, tmp_path / "runs")
    log = tp.log_view.toPlainText()
    assert f"init_from: loaded 6 tensors from {project.parent / 'cnn.safetensors'}" in log, log
