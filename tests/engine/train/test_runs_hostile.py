"""Listing runs from folders nobody vouches for: one odd run folder never hides the others,
hangs the list or writes raw control characters to a terminal."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from engine.cli import main as cli_main
from engine.train import runs as runs_mod
from engine.train.runs import RunStatus, format_runs, list_runs, read_history


def _project(tmp_path: Path, name: str = "my model") -> Path:
    p = tmp_path / "proj.json"
    p.write_text(json.dumps({"name": name, "nodes": [], "edges": []}))
    return p


def _run(root: Path, folder: str, name: str, metrics: object = None) -> Path:
    d = root / folder
    d.mkdir(parents=True)
    (d / "project.json").write_text(json.dumps({"name": name, "nodes": []}))
    if metrics is not None:
        (d / "metrics.json").write_text(json.dumps(metrics))
    (d / "history.csv").write_text("epoch,val_loss\n1,0.5\n")
    return d


def _in_time(fn, *args):
    """``fn(*args)`` in a thread; fails (instead of hanging the suite) if it never returns."""
    box: list = []
    t = threading.Thread(target=lambda: box.append(fn(*args)), daemon=True)
    t.start()
    t.join(60)
    assert box, f"{fn.__name__} did not return"
    return box[0]


def test_a_run_made_untitled_and_moved_on_the_first_save_is_listed(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _run(tmp_path / "runs", "my_model-20260101-120000", "untitled", {"accuracy": 0.9})
    _run(tmp_path / "runs", "my_model_2-20260101-120000", "my model 2", {"accuracy": 0.1})
    runs = list_runs(project)
    assert [r.name for r in runs] == ["my_model-20260101-120000"]
    assert runs[0].metrics == {"accuracy": 0.9}


def test_moving_a_run_renames_the_project_it_holds(tmp_path: Path) -> None:
    project = _project(tmp_path)
    old = _run(tmp_path / "scratch", "untitled-20260101-120000", "untitled", {"loss": 1.0})
    target = runs_mod.move_run(old, tmp_path / "runs", "untitled", "my model")
    assert target.name == "my_model-20260101-120000" and not old.exists()
    assert json.loads((target / "project.json").read_text())["name"] == "my model"
    assert [r.path for r in list_runs(project)] == [target]


def test_one_broken_run_folder_marks_only_that_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path)
    root = tmp_path / "runs"
    _run(root, "my_model-20260101-120000", "my model", {"accuracy": 0.9, "epochs_completed": 3})
    nested = _run(root, "my_model-20260101-120001", "my model")
    (nested / "metrics.json").write_text("[" * 100_000 + "]" * 100_000)
    _run(root, "my_model-20260101-120002", "my model", {"epochs_completed": "x", "r2": 10**400})
    runs = list_runs(project)
    assert [r.status for r in runs] == [
        RunStatus.FINISHED,
        RunStatus.INCOMPLETE,
        RunStatus.FINISHED,
    ]
    assert runs[0].epochs == 3 and runs[2].epochs == 1 and runs[2].metrics == {}
    assert cli_main(["runs", str(project)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4

    real = runs_mod.summarize

    def breaks_on_one(d):
        if d.name.endswith("120001"):
            raise OSError("disk says no")
        return real(d)

    monkeypatch.setattr(runs_mod, "summarize", breaks_on_one)
    runs = list_runs(project)
    assert [r.status for r in runs].count(RunStatus.UNREADABLE) == 1
    bad = next(r for r in runs if r.status is RunStatus.UNREADABLE)
    assert "disk says no" in bad.problem and "disk says no" in format_runs(runs)


def test_a_fifo_in_a_run_folder_is_not_waited_on(tmp_path: Path) -> None:
    project = _project(tmp_path)
    run = _run(tmp_path / "runs", "my_model-20260101-120000", "my model")
    os.mkfifo(run / "metrics.json")
    (run / "history.csv").unlink()
    os.mkfifo(run / "history.csv")
    runs = _in_time(list_runs, project)
    assert [r.status for r in runs] == [RunStatus.INCOMPLETE]
    os.mkfifo(run / ".torchwire.lock")  # an unreadable lock, as good as a fresh empty one
    assert len(_in_time(list_runs, project)) == 1
    assert _in_time(read_history, run).columns == {}


def test_control_characters_in_folder_names_are_escaped_on_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path)
    evil = "my_model-\x1b]0;pwned\x07\x1b[2J\r\u202e"
    _run(tmp_path / "runs", evil, "my model", {"accuracy": 0.5})
    assert cli_main(["runs", str(project)]) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in "\x1b\x07\r\u202e")
    assert "\\x1b]0;pwned\\x07" in out and "\\u202e" in out
