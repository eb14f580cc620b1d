"""``engine.tune`` / ``torchwire tune``: grid, TPE with pruning, limits, SQLite studies that
survive a kill and are shared by two processes."""

from __future__ import annotations

import csv
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

import engine
from engine import load_project, save_project
from engine.cli import main
from engine.project import ProjectError
from engine.tune import Dimension, TuneError, parse_space
from engine.tune.study import Study, counted, make_storage, storage_url
from tests.support.paths import ROOT

IRIS = str(ROOT / "resources" / "examples" / "iris.json")
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def _study(out: Path, name: str = "iris") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=make_storage(storage_url(out)))


def test_grid_2x2_runs_exactly_the_four_combinations(tmp_path: Path) -> None:
    res = engine.tune(
        IRIS,
        ["linear.out_features=8,16", "adam.lr=0.01,0.05"],
        sampler="grid",
        pruner="none",
        trials=10,  # the grid stops by itself after its 4 points
        out=tmp_path,
        epochs=2,
    )
    assert len(res.trials) == 4
    combos = {(t["params"]["linear.out_features"], t["params"]["adam.lr"]) for t in res.trials}
    assert combos == set(itertools.product((8, 16), (0.01, 0.05)))
    assert all(t["state"] == "complete" for t in res.trials)
    for t in res.trials:  # each trial is a normal run folder, named in its attributes
        run = Path(t["run_dir"])
        assert run.name == f"trial-{t['number']:04d}"
        assert (run / "metrics.json").exists() and (run / "best.pt").exists()
    with open(res.csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and {"linear.out_features", "adam.lr", "value", "state"} <= set(rows[0])
    best = min(res.trials, key=lambda t: t["value"])
    assert res.best_trial == best["number"] and res.best_value == pytest.approx(best["value"])
    g = load_project(res.best_path)  # the project with the best values written in
    assert g.nodes["linear"].params["out_features"] == best["params"]["linear.out_features"]
    assert g.nodes["adam"].params["lr"] == best["params"]["adam.lr"]
    assert set(res.importances) == {"linear.out_features", "adam.lr"}
    assert json.loads((tmp_path / "importances.json").read_text())["importances"]


def test_tpe_with_median_pruner_prunes_bad_learning_rates(tmp_path: Path) -> None:
    res = engine.tune(
        IRIS,
        ["adam.lr=1e-6,1e-5,0.01,0.03"],  # two rates far too small to learn in 8 epochs
        sampler="tpe",
        pruner="median",
        trials=12,
        out=tmp_path,
        epochs=8,
        seed=0,
    )
    pruned = [t for t in res.trials if t["state"] == "pruned"]
    assert len(res.trials) == 12 and pruned, [(t["state"], t["params"]) for t in res.trials]
    for t in pruned:  # stopped early: fewer epochs than asked, the run folder still complete
        assert t["epochs"] < 8
        assert (Path(t["run_dir"]) / "metrics.json").exists()
    assert res.best_params["adam.lr"] >= 0.01


def test_training_setting_and_direction_from_the_monitor(tmp_path: Path) -> None:
    g = load_project(IRIS)
    g.settings["training"]["monitor"] = "val_accuracy"
    st = Study(g, ["training.epochs=1,2"], sampler="grid", out=tmp_path)
    assert st.direction == "maximize"
    res = st.run()
    assert sorted(t["epochs"] for t in res.trials) == [1, 2]
    assert (
        load_project(res.best_path).settings["training"]["epochs"]
        == res.best_params["training.epochs"]
    )


@pytest.mark.parametrize(
    ("space", "why"),
    [
        ("dropout.p=0:1.5", "at most 1"),
        ("linear.out_features=0:64", "at least 1"),
        ("adam.lr_schedule=none,sometimes", "'sometimes' is not one of"),
        ("adam.lr_schedule=0:1", "takes choices"),
        ("linear.out_features=8.5:64", "expected a whole number"),
        ("nosuch.lr=0.1,0.2", "no node 'nosuch'"),
        ("adam.momentum=0.1:0.9", "Adam has no parameter 'momentum'"),
        ("training.epochs=0:5", "at least 1"),
        ("adam.lr=0:0.1:log", "log range needs low above 0"),
    ],
)
def test_space_outside_the_declared_limits_is_refused(space: str, why: str) -> None:
    g = load_project(str(ROOT / "resources" / "examples" / "digits_mlp.json"))
    with pytest.raises(TuneError) as e:
        Study(g, [space])
    assert why in str(e.value) and space.split("=")[0] in str(e.value)


def test_cli_refuses_a_space_with_the_reason(tmp_path: Path, capsys) -> None:
    code = main(["tune", IRIS, "--space", "linear.out_features=0:64", "--out", str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert "linear.out_features" in err and "at least 1" in err and "Traceback" not in err
    assert main(["tune", IRIS, "--space", "adam.lr=1e-3:1e-1", "--sampler", "grid"]) == 1
    assert "a grid needs choices" in capsys.readouterr().err


def test_cli_an_unusable_storage_is_exit_2_without_its_password(tmp_path: Path, capsys) -> None:
    url = "postgresql://me:secret@localhost:1/nowhere"
    code = main(["tune", IRIS, "--space", "adam.lr=0.01,0.02", "--storage", url,
                 "--out", str(tmp_path)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "storage postgresql://me:***@localhost:1/nowhere" in err
    assert "secret" not in err and "Traceback" not in err


def test_parse_space_forms() -> None:
    assert parse_space("adam.lr=1e-4:0.1:log") == Dimension("adam.lr", 1e-4, 0.1, log=True)
    assert parse_space("linear.out_features=8:64:8") == Dimension(
        "linear.out_features", 8, 64, step=8
    )
    assert parse_space("a.b=1,2.5,relu,true").choices == (1, 2.5, "relu", True)
    with pytest.raises(TuneError, match=r"expected NODE\.PARAM"):
        parse_space("adam.lr")
    with pytest.raises(TuneError, match=r"low .* is above high"):
        parse_space("adam.lr=0.1:0.01")


def test_tuning_settings_round_trip_and_bad_ones_are_refused(tmp_path: Path) -> None:
    g = load_project(IRIS)
    tuning = {
        "space": [{"target": "adam.lr", "low": 0.001, "high": 0.1, "log": True},
                  {"target": "linear.out_features", "choices": [8, 16]}],
        "sampler": "random", "pruner": "hyperband", "trials": 3, "timeout": None,
        "direction": "auto", "seed": 1,
    }  # fmt: skip
    g.settings["tuning"] = tuning
    p = tmp_path / "p.json"
    save_project(g, p)
    assert load_project(p).settings["tuning"] == tuning
    res = engine.tune(str(p), out=tmp_path / "out", epochs=2)  # the saved space and options
    assert len(res.trials) == 3 and all(0.001 <= t["params"]["adam.lr"] <= 0.1 for t in res.trials)
    doc = json.loads(p.read_text())
    doc["settings"]["tuning"]["sampler"] = "bayes"
    p.write_text(json.dumps(doc))
    with pytest.raises(ProjectError, match=r"settings\.tuning\.sampler' must be one of"):
        load_project(p)
    doc["settings"]["tuning"] = {"space": [{"target": "adam.lr", "low": "x", "high": 1}]}
    p.write_text(json.dumps(doc))
    with pytest.raises(ProjectError, match="'low' must be a number"):
        load_project(p)


def _tune_cmd(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "engine", "tune", IRIS, "--space", "adam.lr=1e-3:0.1:log",
            "--space", "linear.out_features=4:32", "--sampler", "random", "--pruner", "none",
            "--out", str(out), *extra]  # fmt: skip


@pytest.mark.slow
def test_a_killed_study_continues_from_its_sqlite_database(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        _tune_cmd(tmp_path, "--trials", "6", "--epochs", "30"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    assert proc.stdout is not None
    t0 = time.monotonic()
    for line in proc.stdout:  # kill it once two trials are in the database
        if line.startswith("[") and " 2/6 " in line:
            break
        assert time.monotonic() - t0 < 120
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    before = _study(tmp_path).get_trials()
    done_before = [t for t in before if t.state.is_finished()]
    assert 2 <= len(done_before) < 6
    r = subprocess.run(_tune_cmd(tmp_path, "--trials", "6", "--epochs", "30"),
                       capture_output=True, text=True, env=ENV, timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stderr
    after = _study(tmp_path).get_trials()
    finished = [t for t in after if t.state.is_finished()]
    assert len(finished) in (6, 7)  # 6 asked; a trial killed mid-way may be counted failed
    for t in done_before:  # the first process's trials are kept, values and all
        assert after[t.number].state == t.state and after[t.number].value == t.value
    assert max(t.number for t in after) > max(t.number for t in before)
    first = {t.user_attrs["worker"] for t in done_before}
    second = [t for t in finished if t.user_attrs["worker"] not in first]
    assert len(second) == 6 - len(done_before)  # it ran only the rest of the study
    assert "Traceback" not in r.stderr


@pytest.mark.slow
def test_two_processes_share_one_sqlite_study(tmp_path: Path) -> None:
    cmd = [*_tune_cmd(tmp_path, "--trials", "12", "--epochs", "60"), "--quiet"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=ENV) for _ in range(2)]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in err and "locked" not in err
    trials = counted(_study(tmp_path).get_trials())  # less any started past the total
    finished = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert 12 <= len(finished) <= 14  # each worker stops once the study holds 12
    workers = {t.user_attrs["worker"] for t in finished}
    assert len(workers) == 2  # both processes added trials
    assert len({t.number for t in trials}) == len(trials)
    assert len({t.user_attrs["run_dir"] for t in trials}) == len(trials)


@pytest.mark.parametrize(("sampler", "pruner"), [("cmaes", "hyperband"), ("random", "median")])
def test_other_samplers_and_pruners_run(tmp_path: Path, sampler: str, pruner: str) -> None:
    res = engine.tune(IRIS, ["adam.lr=1e-3:0.1:log", "linear.out_features=4:16"],
                      sampler=sampler, pruner=pruner, trials=3, out=tmp_path, epochs=2,
                      seed=1)  # fmt: skip
    assert len(res.trials) == 3
    assert {t["state"] for t in res.trials} <= {"complete", "pruned"}
    assert all(1e-3 <= t["params"]["adam.lr"] <= 0.1 for t in res.trials)
    assert all(4 <= t["params"]["linear.out_features"] <= 16 for t in res.trials)
