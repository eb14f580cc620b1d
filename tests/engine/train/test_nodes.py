"""Loss and optimizer nodes, learning-rate schedules, and the "ready to train" check."""

from __future__ import annotations

import math

import pytest

from engine import Graph, check
from engine.catalog.training import LOSS_TYPES, OPTIMIZER_TYPES
from engine.runtime.schedule import LRSchedule
from engine.train import train
from tests.support.pipelines import BLOBS, REGRESSION, mlp, pipeline

LOSS_CASES = {
    "MSELoss": (REGRESSION, mlp(1)),
    "L1Loss": (REGRESSION, mlp(1)),
    "HuberLoss": (REGRESSION, mlp(1)),
    "SmoothL1Loss": (REGRESSION, mlp(1)),
    "CrossEntropyLoss": (BLOBS, mlp(3)),
    "NLLLoss": (BLOBS, [*mlp(3), ("LogSoftmax", {"dim": 1})]),
    "BCEWithLogitsLoss": (("Moons", {"n_samples": 200}), mlp(1)),
    "KLDivLoss": (BLOBS, [*mlp(3), ("LogSoftmax", {"dim": 1})]),
}


def test_every_loss_and_optimizer_is_covered():
    assert set(LOSS_CASES) == set(LOSS_TYPES)
    assert set(OPTIMIZER_TYPES) == {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"}


@pytest.mark.parametrize("loss", LOSS_TYPES)
def test_each_loss_trains(loss, tmp_path):
    data, model = LOSS_CASES[loss]
    chain = [("Split", {}), ("Standardize", {"targets": data is REGRESSION}), ("Batch", {})]
    g = pipeline(data, model, (loss, {}), data=chain, epochs=4)
    rep = check(g)
    assert rep.ok and rep.extra["ready_to_train"], rep.extra["train_reasons"]
    res = train(g, out_dir=tmp_path)
    losses = [h["train_loss"] for h in res.history]
    assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0]
    if data is REGRESSION:
        assert res.test_metrics["r2"] > 0.2
    else:
        assert res.test_metrics["accuracy"] > 0.7


def test_loss_parameters_reach_torch(tmp_path):
    g = pipeline(
        BLOBS,
        mlp(3),
        ("CrossEntropyLoss", {"label_smoothing": 0.2, "weight": [1.0, 2.0, 1.0]}),
        epochs=1,
    )
    from engine.train.specs import make_head

    h = make_head("CrossEntropyLoss", g.nodes["loss"].params, "classification", 3, (3,), "cpu")
    assert h.fn.label_smoothing == 0.2 and h.fn.weight.tolist() == [1.0, 2.0, 1.0]
    assert train(g, out_dir=tmp_path).history


OPT_PARAMS = {
    "SGD": {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4},
    "Adam": {"lr": 0.01},
    "AdamW": {"lr": 0.01, "weight_decay": 0.01},
    "RMSprop": {"lr": 0.005, "momentum": 0.5},
    "Adagrad": {"lr": 0.1},
}


@pytest.mark.parametrize("opt", OPTIMIZER_TYPES)
def test_each_optimizer_lowers_the_loss(opt, tmp_path):
    g = pipeline(BLOBS, mlp(3), optimizer=(opt, OPT_PARAMS[opt]), epochs=3)
    res = train(g, out_dir=tmp_path)
    assert res.history[-1]["train_loss"] < res.history[0]["train_loss"]
    import torch

    from engine.train.checkpoint import load_checkpoint

    state = load_checkpoint(res.last_checkpoint).optimizer
    assert state["param_groups"][0]["lr"] == pytest.approx(OPT_PARAMS[opt]["lr"])
    if opt == "SGD":
        assert state["param_groups"][0]["nesterov"] is True
    assert all(isinstance(v, dict) for v in state["state"].values())
    assert isinstance(next(iter(state["state"].values())), dict) and torch.is_tensor(
        next(iter(next(iter(state["state"].values())).values()))
    )


def sched(kind, **kw):
    p = {
        "lr_schedule": kind,
        "step_size": 2,
        "gamma": 0.5,
        "eta_min": 0.01,
        "pct_start": 0.25,
        "factor": 0.1,
        "patience": 1,
        "warmup_epochs": 0.0,
    }
    p.update(kw)
    return LRSchedule(p, 1.0, epochs=4, steps_per_epoch=10)


def test_step_schedule():
    s = sched("step")
    assert [s.lr(e * 10) for e in range(4)] == [1.0, 1.0, 0.5, 0.5]


def test_cosine_schedule_ends_at_eta_min():
    s = sched("cosine")
    assert s.lr(0) == 1.0 and s.lr(20) == pytest.approx(0.505) and s.lr(40) == pytest.approx(0.01)


def test_one_cycle_rises_to_lr_then_falls():
    s = sched("one_cycle")
    lrs = [s.lr(i) for i in range(40)]
    peak = max(range(40), key=lambda i: lrs[i])
    assert lrs[0] == pytest.approx(0.04) and lrs[peak] == pytest.approx(1.0) and peak == 10
    assert lrs[-1] < 0.01 and s.lr(40) < 1e-4


def test_plateau_and_warmup():
    s = sched("plateau", warmup_epochs=1.0)
    assert s.lr(0) == pytest.approx(0.1) and s.lr(9) == pytest.approx(1.0)
    for v in (1.0, 1.0, 1.0):  # no improvement for more than `patience` epochs
        s.epoch_end(v, lower_is_better=True)
    assert s.lr(30) == pytest.approx(0.1)
    s2 = sched("none")
    s2.load_state(s.state())
    assert s2.state() == s.state()


def test_schedule_reaches_the_optimizer(tmp_path):
    g = pipeline(
        BLOBS,
        mlp(3),
        optimizer=("SGD", {"lr": 0.1, "lr_schedule": "step", "step_size": 1, "gamma": 0.5}),
        epochs=3,
    )
    res = train(g, out_dir=tmp_path)
    assert [round(h["lr"], 6) for h in res.history] == [0.1, 0.05, 0.025]


# -- the check ------------------------------------------------------------------------------
def test_model_only_graph_has_no_errors_but_is_not_ready():
    g = Graph()
    x = g.add("Input", shape=[4])
    g.connect(x, g.add("Linear", out_features=2))
    rep = check(g)
    assert rep.ok
    assert rep.extra["ready_to_train"] is False
    reasons = " ".join(rep.extra["train_reasons"])
    assert "dataset" in reasons and "loss" in reasons and "optimizer" in reasons


def test_class_count_mismatch_names_the_node():
    g = pipeline(("Iris", {}), mlp(10))
    rep = check(g)
    msgs = [d.message for d in rep.for_node("loss")]
    assert any("3 classes" in m and "10 outputs" in m and "out_features to 3" in m for m in msgs)
    assert not rep.extra["ready_to_train"]


def test_regression_target_count_and_classification_loss_on_regression():
    rep = check(pipeline(REGRESSION, mlp(2), ("MSELoss", {})))
    assert any("1 target value" in d.message for d in rep.for_node("loss"))
    rep = check(pipeline(REGRESSION, mlp(1), ("CrossEntropyLoss", {})))
    assert any("needs class labels" in d.message for d in rep.for_node("loss"))


def test_softmax_before_cross_entropy_warns_and_logsoftmax_hint():
    rep = check(pipeline(("Iris", {}), [*mlp(3), ("Softmax", {"dim": 1})]))
    assert rep.ok and any("Softmax" in d.message for d in rep.warnings)
    rep = check(pipeline(("Iris", {}), mlp(3), ("NLLLoss", {})))
    assert any("LogSoftmax" in d.message for d in rep.warnings)


def test_binary_single_output_needs_two_classes():
    assert check(pipeline(("Moons", {}), mlp(1), ("BCEWithLogitsLoss", {}))).ok
    rep = check(pipeline(("Iris", {}), mlp(1), ("BCEWithLogitsLoss", {})))
    assert any("3 classes" in d.message for d in rep.for_node("loss"))


def test_targets_from_another_dataset_are_refused():
    g = pipeline(("Iris", {}), mlp(3))
    other = g.add("Wine")
    g.disconnect("batch", "loss", "targets", "target")
    g.connect(other, "loss", "targets", "target")
    rep = check(g)
    assert not rep.extra["ready_to_train"]
    assert any("not in the data chain" in d.message for d in rep.for_node("loss"))


def test_unconnected_loss_and_bad_settings_are_errors():
    g = pipeline(("Iris", {}), mlp(3))
    g.disconnect("ds", None)  # nothing reaches the model any more
    g.settings["training"]["epochs"] = 0
    rep = check(g)
    assert not rep.extra["ready_to_train"]
    assert any("epochs" in d.message for d in rep.errors)


def test_monitor_must_exist_for_the_task():
    rep = check(pipeline(REGRESSION, mlp(1), ("MSELoss", {}), monitor="val_accuracy"))
    assert any("val_accuracy does not exist for a regression" in d.message for d in rep.errors)
    assert check(pipeline(REGRESSION, mlp(1), ("MSELoss", {}), monitor="val_r2")).ok
