"""A study's count of trials: the total it should hold, trials other workers run, trials
whose process died, and what a continued study says it will run."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import sqlalchemy

from engine import load_project
from engine.catalog.tuning import Plan
from engine.cli import main
from engine.tune.study import Study, make_storage, storage_url
from tests.support.paths import ROOT

IRIS = str(ROOT / "resources" / "examples" / "iris.json")
SPACE = ["adam.lr=0.01,0.02,0.03,0.04,0.05"]


def _seed_study(out: Path, complete: int, running: int = 0) -> optuna.Study:
    """A study in ``out`` as another worker left it: ``complete`` finished trials and
    ``running`` ones still beating."""
    st = Study(IRIS, SPACE, out=out, epochs=1)
    study = st.plan() and st.study
    assert study is not None
    dist = {"adam.lr": optuna.distributions.CategoricalDistribution([0.01, 0.02, 0.03, 0.04, 0.05])}
    for i in range(complete):
        study.add_trial(
            optuna.trial.create_trial(
                params={"adam.lr": 0.01 * (1 + i % 5)}, distributions=dist, value=1.0 + i
            )
        )
    for _ in range(running):
        t = study.ask()
        study._storage.record_heartbeat(t._trial_id)  # type: ignore[attr-defined]
    return study


def _age_heartbeats(out: Path, seconds: int) -> None:
    """Make every trial's last heartbeat ``seconds`` old, as after a kill -9."""
    eng = sqlalchemy.create_engine(storage_url(out))
    with eng.begin() as c:
        c.execute(
            sqlalchemy.text(
                f"UPDATE trial_heartbeats SET heartbeat = datetime('now', '-{seconds} seconds')"
            )
        )
    eng.dispose()


def _trials(out: Path) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name="iris", storage=make_storage(storage_url(out))).get_trials()


def test_a_trial_whose_process_died_becomes_failed_when_the_study_continues(
    tmp_path: Path,
) -> None:
    _seed_study(tmp_path, complete=2, running=1)
    _age_heartbeats(tmp_path, 120)  # its process was killed two minutes ago
    res = Study(IRIS, SPACE, out=tmp_path, epochs=1, trials=3).run()
    states = [t.state for t in _trials(tmp_path)]
    assert optuna.trial.TrialState.RUNNING not in states
    assert states.count(optuna.trial.TrialState.FAIL) == 1
    assert len(states) == 3  # the dead trial counts as finished: nothing more ran
    failed = next(r for r in res.trials if r["state"] == "fail")
    assert "ended" in failed["error"]


def test_a_worker_leaves_the_places_other_workers_are_running(tmp_path: Path) -> None:
    _seed_study(tmp_path, complete=7, running=1)  # another worker runs the 8th
    st = Study(IRIS, SPACE, out=tmp_path, epochs=1, trials=8)
    assert st.plan() == Plan(finished=7, running=1, total=8)
    st.run()
    assert len(_trials(tmp_path)) == 8  # not a 9th beside the other worker's


def test_a_trial_started_past_the_total_never_trains(tmp_path: Path, monkeypatch) -> None:
    """Two workers that both saw room: the one whose trial comes after the total stops."""
    _seed_study(tmp_path, complete=4)
    st = Study(IRIS, SPACE, out=tmp_path, epochs=1, trials=4)
    st.study = st._open()
    monkeypatch.setattr(st, "plan", lambda: Plan(finished=3, running=0, total=4))
    res = st.run()
    assert len(res.trials) == 4 and not res.stopped
    assert not list(tmp_path.glob("trial-*"))  # nothing was trained
    assert sum(t.state.is_finished() for t in _trials(tmp_path)) == 5
    assert Study(IRIS, SPACE, out=tmp_path, epochs=1, trials=4).plan().more == 0


def test_trials_is_a_total_and_a_continued_study_says_how_many_more(tmp_path: Path, capsys) -> None:
    _seed_study(tmp_path, complete=4)
    code = main(["tune", IRIS, "--space", SPACE[0], "--trials", "3", "--out", str(tmp_path),
                 "--epochs", "1", "--quiet"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "holds 4 finished trials" in out and "none more will run" in out
    assert "more than 4" in out
    assert Plan(4, 0, 6).describe().endswith("2 more will run to reach 6 in total")


def test_a_grid_evaluates_every_point_unless_a_pruner_is_named() -> None:
    g = load_project(IRIS)
    assert Study(g, SPACE, sampler="grid").pruner_name == "none"
    assert Study(g, SPACE, sampler="tpe").pruner_name == "median"
    assert Study(g, SPACE, sampler="grid", pruner="median").pruner_name == "median"
    g.settings["tuning"] = {"space": [], "sampler": "grid"}
    assert Study(g, SPACE).pruner_name == "none"


@pytest.mark.parametrize(
    ("node_type", "param"),
    [("CSVDataset", "header"), ("CSVDataset", "task"), ("Clean", "drop_duplicates")],
)
def test_a_parameter_declared_untunable_is_refused(node_type: str, param: str) -> None:
    from engine.catalog.registry import get
    from engine.catalog.tuning import TuneError, find_target

    p = next(p for p in get(node_type).params if p.name == param)
    assert not p.tunable  # no "tune" box in Properties either
    g = load_project(IRIS)
    nid = g.add(node_type)
    with pytest.raises(TuneError, match="not a value to tune"):
        find_target(g, f"{nid}.{param}")
    with pytest.raises(TuneError, match="not a value to tune"):
        find_target(g, "training.device")


def test_the_default_learning_rate_range_is_the_lints_usual_range() -> None:
    """Marking lr "tune" must not propose rates the learning-rate lint warns about."""
    from engine import check
    from engine.catalog.registry import get
    from engine.catalog.training import OPTIMIZER_TYPES
    from engine.catalog.tuning import default_dimension
    from tests.support.pipelines import mlp, pipeline

    good = {"data": [("Split", {}), ("Standardize", {}), ("Batch", {"batch_size": 16})]}
    for opt in OPTIMIZER_TYPES:
        p = next(p for p in get(opt).params if p.name == "lr")
        d = default_dimension("x.lr", p, p.default)
        assert d.log and d.low is not None and d.low > 0
        for lr in (d.low, d.high):
            g = pipeline(("Iris", {}), mlp(3), optimizer=(opt, {"lr": lr}), **good)
            codes = [x.lint for x in check(g).diagnostics]
            assert "learning-rate-out-of-range" not in codes, (opt, lr)
