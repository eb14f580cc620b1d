"""Lints: each one fires on the mistake it teaches and stays quiet on the correct setup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine import Graph, check
from engine.analysis.fixes import Fix
from engine.analysis.lints import all_lints, markdown
from engine.analysis.report import Diagnostic
from engine.cli import main
from engine.graph.ops import AddNode, Batch, Op, RemoveNode, SetParams
from engine.project import ProjectError, load_project, loads_project, save_project, to_json
from tests.support.paths import ROOT
from tests.support.pipelines import REGRESSION, mlp, pipeline

IRIS = ("Iris", {})
GOOD = {"data": [("Split", {}), ("Standardize", {}), ("Batch", {"batch_size": 16})]}


def lints(rep: Any, lint_id: str) -> list[Any]:
    found = [d for d in rep.diagnostics if d.lint == lint_id]
    for d in found:
        if d.fix is not None:
            assert_fix_works(rep.graph, d)
    return found


def assert_fix_works(g: Graph, d: Diagnostic) -> None:
    """Every fix a test meets is a typed op that applies cleanly to the checked graph,
    removes its diagnostic there, and undoes to the very same project."""
    assert isinstance(d.fix, Fix) and isinstance(d.fix.op, Op) and d.fix.label
    assert json.loads(json.dumps(d.to_dict()))["fix"]["op"] == d.fix.op.to_dict()
    trial = g.copy()
    before = to_json(trial)
    assert trial.check_op(d.fix.op) is None, d.fix
    inverse = trial.apply(d.fix.op)
    after = check(trial)
    same = [e for e in after.diagnostics if (e.lint, e.node) == (d.lint, d.node)]
    assert not same, (d.fix.label, [e.message for e in same])
    trial.apply(inverse)
    assert to_json(trial) == before


def fires(g: Graph, lint_id: str) -> list[Any]:
    return lints(check(g), lint_id)


def inserted(d: Diagnostic) -> str:
    """The type of the node an insert fix adds."""
    assert d.fix is not None and isinstance(d.fix.op, Batch)
    (add,) = [o for o in d.fix.op.ops if isinstance(o, AddNode)]
    return add.type


def removed(d: Diagnostic) -> str:
    """The node a bridging-removal fix deletes."""
    assert d.fix is not None and isinstance(d.fix.op, Batch)
    assert isinstance(d.fix.op.ops[0], RemoveNode)
    return d.fix.op.ops[0].node


def node_of(g: Graph, type_: str, nth: int = 0) -> str:
    return [n.id for n in g.nodes.values() if n.type == type_][nth]


def npz(tmp_path: Path, x: np.ndarray, y: np.ndarray) -> tuple[str, dict[str, Any]]:
    path = tmp_path / "data.npz"
    np.savez(path, x=x.astype(np.float32), y=y)
    return ("NpzDataset", {"path": str(path), "task": "classification"})


def test_every_lint_is_declared_once_with_docs() -> None:
    ls = all_lints()
    assert len({ln.id for ln in ls}) == len(ls) >= 20
    for ln in ls:
        assert ln.doc and ln.title and "{node}" in ln.message, ln.id
        assert ln.severity in ("error", "warning")


def test_docs_page_is_up_to_date() -> None:
    page = ROOT / "docs" / "lints.md"
    assert page.read_text(encoding="utf-8") == markdown(), (
        "regenerate: torchwire lints --markdown > docs/lints.md"
    )


def test_bundled_examples_are_quiet() -> None:
    root = ROOT / "resources" / "examples"
    for f in sorted(root.glob("*.json")):
        rep = check(load_project(f))
        assert not [d.lint for d in rep.diagnostics if d.lint], f.name


# -- model structure ---------------------------------------------------------------------------
def test_linear_collapse() -> None:
    g = pipeline(IRIS, [("Linear", {"out_features": 16}), ("Linear", {"out_features": 3})], **GOOD)
    (d,) = fires(g, "linear-collapse")
    second = node_of(g, "Linear", 1)
    assert d.node == second and inserted(d) == "ReLU"
    assert d.fix.label.startswith("Insert ReLU between") and d.fix.label.endswith(
        g.nodes[second].name
    )
    # sees through Dropout and reshaping, and Conv → Flatten → Linear collapses too
    g = pipeline(IRIS, [("Linear", {}), ("Dropout", {}), ("Linear", {"out_features": 3})], **GOOD)
    assert "only" in fires(g, "linear-collapse")[0].message
    g = Graph()
    x = g.add("Input", shape=[1, 8, 8])
    c = g.add("Conv2d", out_channels=4, kernel_size=3)
    f = g.add("Flatten")
    lin = g.add("Linear", out_features=2)
    g.connect(x, c)
    g.connect(c, f)
    g.connect(f, lin)
    assert [d.node for d in fires(g, "linear-collapse")] == [lin]


def test_linear_collapse_quiet_with_an_activation() -> None:
    assert not fires(pipeline(IRIS, mlp(3), **GOOD), "linear-collapse")
    g = pipeline(IRIS, [("Linear", {}), ("Tanh", {}), ("Linear", {"out_features": 3})], **GOOD)
    assert not fires(g, "linear-collapse")


def test_unused_input_and_data() -> None:
    g = pipeline(IRIS, mlp(3), **GOOD)
    assert not fires(g, "unused-input") and not fires(g, "unused-data")
    extra = g.add("Input", shape=[2])
    lone = g.add("Wine")
    rep = check(g)
    assert [d.node for d in lints(rep, "unused-input")] == [extra]
    assert [d.node for d in lints(rep, "unused-data")] == [lone]


# -- losses against the last layer ---------------------------------------------------------------
def test_softmax_before_cross_entropy_offers_removal() -> None:
    g = pipeline(IRIS, [*mlp(3), ("Softmax", {"dim": 1})], **GOOD)
    (d,) = fires(g, "softmax-before-cross-entropy")
    assert d.node == "loss" and removed(d) == node_of(g, "Softmax")
    assert not fires(pipeline(IRIS, mlp(3), **GOOD), "softmax-before-cross-entropy")


def test_sigmoid_before_bce_with_logits() -> None:
    moons = ("Moons", {"n_samples": 200})
    g = pipeline(moons, [*mlp(1), ("Sigmoid", {})], ("BCEWithLogitsLoss", {}), **GOOD)
    (d,) = fires(g, "sigmoid-before-bce-with-logits")
    assert removed(d) == node_of(g, "Sigmoid")
    assert not fires(pipeline(moons, mlp(1), ("BCEWithLogitsLoss", {})), d.lint)


def test_nll_without_log_softmax() -> None:
    (d,) = fires(pipeline(IRIS, mlp(3), ("NLLLoss", {}), **GOOD), "nll-without-log-softmax")
    assert inserted(d) == "LogSoftmax" and "LogSoftmax" in d.message
    g = pipeline(IRIS, [*mlp(3), ("Softmax", {"dim": 1})], ("NLLLoss", {}), **GOOD)
    assert fires(g, "nll-without-log-softmax")[0].fix is None  # replace the Softmax by hand
    g = pipeline(IRIS, [*mlp(3), ("LogSoftmax", {"dim": 1})], ("NLLLoss", {}), **GOOD)
    assert not fires(g, "nll-without-log-softmax")


def test_kl_div_input_form_and_log_target() -> None:
    g = pipeline(IRIS, [*mlp(3), ("Softmax", {"dim": 1})], ("KLDivLoss", {}), **GOOD)
    assert fires(g, "kl-div-input-form") and not fires(g, "kl-div-log-target")
    g = pipeline(IRIS, [*mlp(3), ("LogSoftmax", {"dim": 1})], ("KLDivLoss", {}), **GOOD)
    assert not fires(g, "kl-div-input-form") and not fires(g, "kl-div-log-target")
    g.set("loss", log_target=True)
    (d,) = fires(g, "kl-div-log-target")
    assert d.fix.op == SetParams("loss", {"log_target": False})


def test_cross_entropy_one_output_is_one_error() -> None:
    rep = check(pipeline(IRIS, mlp(1), **GOOD))
    (d,) = lints(rep, "cross-entropy-one-output")
    assert d.severity == "error" and "3 classes" in d.message
    assert d.fix.op.params == {"out_features": 3}
    assert [e.lint for e in rep.errors] == ["cross-entropy-one-output"]  # not said twice
    assert not rep.extra["ready_to_train"]
    assert not fires(pipeline(IRIS, mlp(3), **GOOD), "cross-entropy-one-output")


def test_regression_loss_on_labels() -> None:
    assert fires(pipeline(IRIS, mlp(3), ("MSELoss", {}), **GOOD), "regression-loss-on-labels")
    reg = {"data": [("Split", {}), ("Standardize", {"targets": True}), ("Batch", {})]}
    assert not fires(
        pipeline(REGRESSION, mlp(1), ("MSELoss", {}), **reg), "regression-loss-on-labels"
    )


REG = {"data": [("Split", {}), ("Standardize", {"targets": True}), ("Batch", {"batch_size": 16})]}


def test_bounded_regression_output() -> None:
    g = pipeline(REGRESSION, [*mlp(1), ("ReLU", {})], ("MSELoss", {}), **REG)
    (d,) = fires(g, "bounded-regression-output")
    assert "no gradient" in d.message and removed(d) == node_of(g, "ReLU", 1)
    g = pipeline(REGRESSION, [*mlp(1), ("Sigmoid", {})], ("MSELoss", {}), **REG)
    assert "training targets go from" in fires(g, "bounded-regression-output")[0].message
    assert not fires(pipeline(REGRESSION, mlp(1), ("MSELoss", {}), **REG), d.lint)


def test_unscaled_regression_targets() -> None:
    raw = {"data": [("Split", {}), ("Standardize", {}), ("Batch", {"batch_size": 16})]}
    g = pipeline(("Regression", {"n_samples": 240, "noise": 5.0}), mlp(1), ("MSELoss", {}), **raw)
    (d,) = fires(g, "unscaled-regression-targets")
    assert d.fix.op == SetParams(d.node, {"targets": True})
    assert g.nodes[d.node].type == "Standardize"
    g.set(d.node, targets=True)
    assert not fires(g, "unscaled-regression-targets")


def test_dropout_before_loss() -> None:
    g = pipeline(IRIS, [*mlp(3), ("Dropout", {})], **GOOD)
    assert removed(fires(g, "dropout-before-loss")[0]) == node_of(g, "Dropout")
    g = pipeline(
        IRIS,
        [("Linear", {}), ("ReLU", {}), ("Dropout", {}), ("Linear", {"out_features": 3})],
        **GOOD,
    )
    assert not fires(g, "dropout-before-loss")


# -- optimizer and size ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("opt", "lr", "bad"),
    [
        ("Adam", 0.5, True),
        ("Adam", 1e-3, False),
        ("SGD", 0.5, False),
        ("SGD", 1e-6, True),
        ("AdamW", 1e-7, True),
        ("RMSprop", 0.01, False),
    ],
)
def test_learning_rate_ranges_per_optimizer(opt: str, lr: float, bad: bool) -> None:
    found = fires(
        pipeline(IRIS, mlp(3), optimizer=(opt, {"lr": lr}), **GOOD), "learning-rate-out-of-range"
    )
    assert bool(found) is bad
    if bad:
        assert found[0].fix.op.params["lr"] in (1e-3, 0.01) and opt in found[0].message
        assert ("far above" if lr > 0.1 else "far below") in found[0].message
        assert " to " in found[0].message  # the usual range, e.g. 0.001 to 0.5


def test_adam_weight_decay_means_adamw() -> None:
    g = pipeline(IRIS, mlp(3), optimizer=("Adam", {"weight_decay": 0.01}), **GOOD)
    assert "AdamW" in fires(g, "adam-weight-decay")[0].message
    g = pipeline(IRIS, mlp(3), optimizer=("AdamW", {"weight_decay": 0.01}), **GOOD)
    assert not fires(g, "adam-weight-decay")


def test_too_many_parameters() -> None:
    g = pipeline(IRIS, mlp(3, hidden=4096), **GOOD)
    (d,) = fires(g, "too-many-parameters")
    assert d.node == node_of(g, "Linear", 0) and "105 training samples" in d.message
    assert not fires(pipeline(IRIS, mlp(3), **GOOD), "too-many-parameters")


def test_too_few_updates() -> None:
    g = pipeline(IRIS, mlp(3), data=[("Split", {}), ("Standardize", {})], epochs=1)
    (d,) = fires(g, "too-few-updates")
    assert d.node == "opt" and "only 2 weight updates" in d.message
    assert not fires(pipeline(IRIS, mlp(3), epochs=40, **GOOD), "too-few-updates")


def _bn(batch: dict[str, Any]) -> Graph:
    model = [
        ("Linear", {"out_features": 8}),
        ("BatchNorm1d", {}),
        ("ReLU", {}),
        ("Linear", {"out_features": 3}),
    ]
    return pipeline(IRIS, model, data=[("Split", {}), ("Standardize", {}), ("Batch", batch)])


def test_batchnorm_batch_size_one() -> None:
    rep = check(_bn({"batch_size": 1}))
    (d,) = lints(rep, "batchnorm-batch-size-one")
    assert d.severity == "error" and not rep.ok and d.fix.op.params == {"batch_size": 32}
    assert not lints(check(_bn({"batch_size": 16})), "batchnorm-batch-size-one")


def test_batchnorm_last_batch_of_one() -> None:
    # Iris with the default split keeps 105 training samples: 105 = 2 × 52 + 1
    (d,) = fires(_bn({"batch_size": 52}), "batchnorm-last-batch-of-one")
    assert d.fix.op.params == {"drop_last": True} and "105" in d.message
    assert not fires(_bn({"batch_size": 52, "drop_last": True}), "batchnorm-last-batch-of-one")
    assert not fires(_bn({"batch_size": 16}), "batchnorm-last-batch-of-one")


# -- data ------------------------------------------------------------------------------------------
def test_unscaled_features() -> None:
    bc = ("BreastCancer", {})
    raw = {"data": [("Split", {}), ("Batch", {"batch_size": 32})]}
    (d,) = fires(pipeline(bc, mlp(1), ("BCEWithLogitsLoss", {}), **raw), "unscaled-features")
    assert inserted(d) == "Standardize" and "'worst area'" in d.message
    assert not fires(pipeline(bc, mlp(1), ("BCEWithLogitsLoss", {}), **GOOD), "unscaled-features")


def test_imbalanced_classes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = np.array([0] * 300 + [1] * 20)
    data = npz(tmp_path, rng.normal(size=(320, 3)) + y[:, None], y)
    g = pipeline(data, mlp(2), **GOOD)
    (d,) = fires(g, "imbalanced-classes")
    weight = d.fix.op.params["weight"]
    assert d.node == "loss" and weight[1] > 5 * weight[0]
    g.apply(d.fix.op)
    assert not fires(g, "imbalanced-classes")
    balanced = np.array([0, 1] * 160)
    g = pipeline(npz(tmp_path, rng.normal(size=(320, 3)), balanced), mlp(2), **GOOD)
    assert not fires(g, "imbalanced-classes")


def test_too_few_per_class_to_stratify(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = np.array([0] * 100 + [1] * 100 + [2] * 3)
    g = pipeline(npz(tmp_path, rng.normal(size=(203, 3)), y), mlp(3), **GOOD)
    (d,) = fires(g, "too-few-per-class-to-stratify")
    assert d.node == node_of(g, "Split") and "only 3 samples" in d.message
    assert not fires(pipeline(IRIS, mlp(3), **GOOD), "too-few-per-class-to-stratify")


def test_validation_metric_without_validation() -> None:
    no_val = {"data": [("Split", {"val": 0.0}), ("Standardize", {}), ("Batch", {"batch_size": 16})]}
    g = pipeline(IRIS, mlp(3), early_stopping=True, **no_val)
    (d,) = fires(g, "validation-metric-without-validation")
    assert d.fix.op == SetParams(node_of(g, "Split"), {"val": 0.15})
    assert "training is set to stop early, but" in d.message
    g = pipeline(IRIS, mlp(3), early_stopping=True, monitor="val_accuracy", **no_val)
    (d,) = fires(g, "validation-metric-without-validation")
    assert "stop early and monitor val_accuracy" in d.message
    assert not fires(pipeline(IRIS, mlp(3), **no_val), "validation-metric-without-validation")
    assert not fires(pipeline(IRIS, mlp(3), early_stopping=True, **GOOD), d.lint)


# -- silencing ------------------------------------------------------------------------------------
def test_silenced_lint_is_listed_not_counted_and_saved(tmp_path: Path) -> None:
    g = pipeline(IRIS, [("Linear", {"out_features": 16}), ("Linear", {"out_features": 3})], **GOOD)
    second = node_of(g, "Linear", 1)
    g.silence(second, "linear-collapse", "a low-rank factorization, on purpose")
    rep = check(g)
    assert not lints(rep, "linear-collapse")
    (s,) = rep.silenced
    assert s.lint == "linear-collapse" and s.silenced == "a low-rank factorization, on purpose"
    assert rep.to_dict()["silenced"][0]["silenced"] == s.silenced
    assert g.copy().nodes[second].silenced == g.nodes[second].silenced
    path = tmp_path / "p.json"
    save_project(g, path)
    doc = json.loads(path.read_text())
    assert doc["version"] >= 2
    assert next(n for n in doc["nodes"] if n["id"] == second)["silenced"]
    back = load_project(path)
    assert back.nodes[second].silenced == {
        "linear-collapse": "a low-rank factorization, on purpose"
    }
    assert not lints(check(back), "linear-collapse")
    g.silence(second, "linear-collapse", None)
    assert lints(check(g), "linear-collapse")


def test_silenced_field_is_validated_and_old_files_load() -> None:
    base = {
        "format": "torchwire-project",
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [2]}}],
    }
    assert loads_project(json.dumps({**base, "version": 1})).nodes["x"].silenced == {}
    for bad, version in (
        ("text", 2),
        ({"Bad Id": "r"}, 2),
        ({"unused-input": 3}, 2),
        ({"unused-input": "r"}, 1),
    ):
        doc = {**base, "version": version}
        doc["nodes"] = [{**base["nodes"][0], "silenced": bad}]
        with pytest.raises(ProjectError, match="silenc"):
            loads_project(json.dumps(doc))
    g = Graph()
    assert "silenced" not in to_json(g)


def test_cli_check_lists_lint_ids_and_silenced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    g = pipeline(IRIS, [("Linear", {"out_features": 16}), ("Linear", {"out_features": 3})], **GOOD)
    path = tmp_path / "p.json"
    save_project(g, path)
    assert main(["check", str(path)]) == 0
    assert "warning [linear-collapse]:" in capsys.readouterr().out
    g.silence(node_of(g, "Linear", 1), "linear-collapse", "on purpose")
    save_project(g, path)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 silenced lint(s)" in out and "[linear-collapse] silenced (on purpose)" in out
    assert main(["check", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["silenced"][0]["lint"] == "linear-collapse"
    assert main(["lints"]) == 0 and "linear-collapse" in capsys.readouterr().out
    assert main(["lints", "--markdown"]) == 0 and capsys.readouterr().out == markdown()
