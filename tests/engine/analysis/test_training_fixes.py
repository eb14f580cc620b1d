"""The check's training diagnostics: a wrong output count comes with a one-click fix that the
designer's Problems list and ``torchwire check --apply-fixes`` apply; the reasons training
cannot start say exactly which wire is missing."""

from __future__ import annotations

from engine.analysis.check import apply_fixes, check
from tests.support.pipelines import REGRESSION, mlp, pipeline


def _last_linear(g):  # type: ignore[no-untyped-def]
    return [n for n in g.nodes.values() if n.type == "Linear"][-1]


def test_a_class_count_mismatch_offers_setting_out_features() -> None:
    g = pipeline(("Iris", {}), mlp(10))
    rep = check(g)
    d = next(d for d in rep.for_node("loss") if "out_features to 3" in d.message)
    assert d.fix is not None
    assert d.fix.label == f"Set out_features = 3 on {_last_linear(g).name}"
    labels = apply_fixes(g)
    assert d.fix.label in labels
    assert _last_linear(g).params["out_features"] == 3
    assert check(g).extra["ready_to_train"]


def test_a_regression_target_count_mismatch_offers_the_fix() -> None:
    g = pipeline(REGRESSION, mlp(2), ("MSELoss", {}))
    d = next(d for d in check(g).for_node("loss") if "1 target value" in d.message)
    assert d.fix is not None and "out_features = 1" in d.fix.label


def test_no_fix_when_the_loss_is_not_fed_by_a_layer_with_out_features() -> None:
    g = pipeline(("Iris", {}), [*mlp(10), ("ReLU", {})])
    d = next(d for d in check(g).for_node("loss") if "10 outputs" in d.message)
    assert d.fix is None


def test_the_reason_names_only_the_missing_wire() -> None:
    g = pipeline(("Iris", {}), mlp(3))
    target = next(e for e in g.edges if e.dst == "loss" and e.dst_port == "target")
    g.disconnect(target)
    reasons = check(g).extra["train_reasons"]
    assert any("connect its target" in r for r in reasons), reasons
    assert not any("input and target" in r or "its input" in r for r in reasons), reasons
