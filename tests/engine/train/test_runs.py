"""A project's runs listed from real run folders: status, metrics, differing settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.cli import main as cli_main
from engine.project import load_project
from engine.train.runs import RunStatus, list_runs, read_history, run_project
from engine.train.session import train
from tests.support.paths import EXAMPLES

OPT = next(n.name for n in load_project(EXAMPLES / "iris.json").nodes.values() if n.type == "Adam")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """iris.json beside two real 1-epoch runs that differ in their learning rate."""
    d = tmp_path_factory.mktemp("proj")
    project = d / "iris.json"
    shutil.copy(EXAMPLES / "iris.json", project)
    g = load_project(project)
    opt = next(n for n in g.nodes.values() if n.spec.kind == "optimizer")
    for i, lr in ((1, 0.01), (2, 0.05)):
        g.set(opt.id, lr=lr)
        train(g, out_dir=str(d / "runs" / f"iris-{i}"), epochs=1)
    (d / "runs" / "other-3").mkdir()  # not a run: no files
    return project


def test_list_runs_summarizes_each_run_and_what_differs(two_runs: Path) -> None:
    runs = list_runs(two_runs)
    assert [r.name for r in runs] == ["iris-1", "iris-2"]
    for r in runs:
        assert r.status is RunStatus.FINISHED
        assert r.epochs == 1
        assert 0.0 <= r.metrics["accuracy"] <= 1.0
        assert list(r.differs) == [f"{OPT}.lr"]
    assert [r.differs[f"{OPT}.lr"] for r in runs] == [0.01, 0.05]
    assert "confusion_matrix" not in runs[0].metrics


def test_a_run_folder_holds_the_project_it_trained(two_runs: Path) -> None:
    runs = list_runs(two_runs)
    g = run_project(runs[1].path)
    assert g.name == load_project(two_runs).name
    assert g.by_name(OPT).params["lr"] == 0.05
    assert g.settings["training"]["epochs"] == 1
    xs, ys = read_history(runs[0].path).series("val_loss")
    assert xs == [1.0] and len(ys) == 1


def test_torchwire_runs_prints_the_table(
    two_runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["runs", str(two_runs)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["run", "started", "status", "epochs"]
    assert "iris-1" in out[1] and "finished" in out[1] and f"{OPT}.lr=0.01" in out[1]
    assert "iris-2" in out[2] and f"{OPT}.lr=0.05" in out[2]


def test_torchwire_runs_on_a_missing_file_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["runs", str(tmp_path / "nope.json")]) == 2
    assert "no such file" in capsys.readouterr().err
