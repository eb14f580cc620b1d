"""The bundled example projects train to the promised results (from their files, as shipped)."""

from __future__ import annotations

import pytest

from engine import check, load_project
from engine.train import train
from tests.support.paths import EXAMPLES

NAMES = ["digits_mlp", "digits_cnn", "iris", "moons", "breast_cancer", "diabetes", "csv_tabular"]


@pytest.mark.parametrize("name", NAMES)
def test_example_is_ready_to_train(name):
    g = load_project(EXAMPLES / f"{name}.json")
    rep = check(g)
    assert rep.ok and rep.extra["ready_to_train"], rep.extra["train_reasons"]
    assert not rep.warnings, [str(d) for d in rep.warnings]
    ys = {n.pos[1] for n in g.nodes.values() if n.spec.kind == "data"}
    ym = {n.pos[1] for n in g.nodes.values() if n.spec.kind in ("model", "io")}
    assert max(ys) < min(ym)  # data on a row above the model


TARGETS = {
    "digits_mlp": ("accuracy", 0.95),
    "iris": ("accuracy", 0.93),
    "moons": ("accuracy", 0.95),
    "diabetes": ("r2", 0.4),
    "breast_cancer": ("accuracy", 0.93),
    "csv_tabular": ("accuracy", 0.8),
    "digits_cnn": ("accuracy", 0.95),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(TARGETS))
def test_example_reaches_its_target(name, tmp_path):
    metric, target = TARGETS[name]
    res = train(EXAMPLES / f"{name}.json", out_dir=tmp_path, device="cpu")
    assert res.test_metrics[metric] >= target, res.test_metrics
