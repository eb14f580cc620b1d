"""Defaults that work and parameters that apply only with a choice (issue 16 items 10, 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import Graph, catalog
from engine.cli import main


def test_schedule_parameters_apply_only_to_their_schedule() -> None:
    adam = {p.name: p for p in catalog.get("Adam").params}
    params = {p.name: p.default for p in adam.values()}
    assert params["lr_schedule"] == "none"
    hidden = {n for n, p in adam.items() if not p.enabled(params)}
    assert hidden == {"step_size", "gamma", "eta_min", "pct_start", "factor", "patience"}
    params["lr_schedule"] = "step"
    assert adam["step_size"].enabled(params) and adam["gamma"].enabled(params)
    assert not adam["eta_min"].enabled(params)
    assert adam["lr"].enabled(params) and adam["warmup_epochs"].enabled(params)
    assert adam["step_size"].to_dict()["enabled_if"] == {
        "param": "lr_schedule",
        "values": ["step"],
    }


def test_training_settings_declare_early_stopping_dependents() -> None:
    from engine.catalog.settings import TRAINING_SETTINGS

    ps = {p.name: p for p in TRAINING_SETTINGS}
    assert not ps["patience"].enabled({"early_stopping": False})
    assert ps["patience"].enabled({"early_stopping": True})


def test_cli_docs_say_when_a_parameter_applies(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nodes", "--category", "Optimizers"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("step_size:"))
    assert "(only when lr_schedule is step)" in line
    lr = next(ln for ln in out.splitlines() if ln.strip().startswith("lr:"))
    assert "only when" not in lr


@pytest.mark.slow
def test_a_fresh_iris_mlp_with_every_default_learns(tmp_path: Path) -> None:
    """Item 10: the palette's defaults (Split, Batch, Linear, Adam, 20 epochs) train a
    good Iris classifier; with torch's lr 1e-3 it reached 0.64-0.86."""
    from engine.train.session import train

    g = Graph(name="fresh")
    prev = g.add("Iris")
    for t in ("Split", "Batch"):
        n = g.add(t)
        g.connect(prev, n)
        prev = n
    x = g.add("Input")
    g.connect(prev, x)
    a = g.add("Linear")
    g.connect(x, a)
    r = g.add("ReLU")
    g.connect(a, r)
    b = g.add("Linear", out_features=3)
    g.connect(r, b)
    loss = g.add("CrossEntropyLoss")
    g.connect(b, loss, "output", "input")
    g.connect(prev, loss, "targets", "target")
    g.connect(loss, g.add("Adam"))
    g.settings["training"] = {"device": "cpu", "cpu_threads": 1}
    res = train(g, out_dir=tmp_path / "run")
    assert res.test_metrics["accuracy"] >= 0.9
