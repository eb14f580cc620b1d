"""A project opened from the command line (``torchwire p.json``) is the same project as one
opened with File ▸ Open: the panels built after it (the run panels come one turn after the
canvas) meet the document as it is, so Predict finds the project's last run either way."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from designer.app import MainWindow
from engine import load_project
from engine.train.rundir import RUNS_FOLDER, new_run_dir
from tests.support.paths import EXAMPLES


def _project_with_a_run(tmp_path: Path) -> tuple[Path, Path]:
    project = tmp_path / "p.json"
    shutil.copy(EXAMPLES / "iris.json", project)
    run = new_run_dir(tmp_path / RUNS_FOLDER, load_project(project).name)
    run.mkdir(parents=True)
    (run / "best.pt").write_bytes(b"checkpoint")
    return project, run / "best.pt"


def _predict_checkpoint(window: MainWindow, qtbot: Any) -> Path | None:
    qtbot.waitUntil(lambda: window.predict_panel is not None, timeout=60000)
    return window.predict_panel.checkpoint()  # type: ignore[attr-defined]


def test_a_project_from_the_command_line_finds_its_last_run(qtbot: Any, tmp_path: Path) -> None:
    project, best = _project_with_a_run(tmp_path)
    window = MainWindow(project, eager=False)  # as designer.app.run builds it
    qtbot.addWidget(window)
    window.ask_save_changes = lambda: "discard"
    window.defer_run_panels = True
    window.show()
    window.load()
    assert _predict_checkpoint(window, qtbot) == best
    assert window.training_panel.last_checkpoint == best  # type: ignore[attr-defined]
    window.close()


def test_file_open_finds_the_same_run(window: MainWindow, qtbot: Any, tmp_path: Path) -> None:
    project, best = _project_with_a_run(tmp_path)
    assert window.open_path(project)
    assert _predict_checkpoint(window, qtbot) == best
