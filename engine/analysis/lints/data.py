"""Lints of the training data, from the prepared training split's statistics (cached)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.analysis.fixes import Fix, insert_fix, set_fix
from engine.analysis.lints.registry import Finding, Part, lint
from engine.analysis.lints.util import (
    chain_nodes,
    explicit_setting,
    fmt,
    plan,
    prepared,
    settings,
    stats,
)
from engine.graph import Edge
from engine.runtime.prepare import DEFAULT_SPLIT

if TYPE_CHECKING:
    from engine.analysis.report import CheckContext

SCALE_RATIO = 100  # largest / smallest feature standard deviation above this: rescale
TARGET_SCALE = 100  # regression targets with a standard deviation above this: standardize
IMBALANCE = 10  # most / least frequent class in the training split above this: weigh


def _insert_on_data_wire(ctx: CheckContext, p: Any, type_: str, **params: Any) -> Fix:
    return insert_fix(ctx.graph, type_, Edge(p.data, "data", p.input, "data"), **params)


def _training_data(ctx: CheckContext) -> tuple[Any, Any, Any] | None:
    """(plan, info, statistics) of the data training uses, when it is prepared in memory."""
    p = plan(ctx)
    if p is None:
        return None
    info = ctx.report.data.get(p.data)
    if info is None or info.streaming:
        return None
    prep = prepared(ctx, p.data)
    if prep is None:
        return None
    return p, info, stats(prep)


@lint(
    "unscaled-features",
    "warning",
    "features on very different scales, with no Standardize or MinMaxScale",
    "{node}: the features' scales differ {ratio}-fold ({wide} varies by about {hi}, {narrow} "
    "by about {lo}) and nothing rescales them; add a Standardize node before the model",
    f"""Gradient descent takes one step size for every weight. When one feature varies in
    thousands and another in fractions, the weights of the first need tiny steps and
    those of the second large ones: training zig-zags, needs a tiny learning rate, and the
    large feature dominates at first. Standardize (zero mean, unit variance, fitted on the
    training split) puts every feature on the same footing. The check compares the
    standard deviations of the table's features on the training split (constant features
    left out) and warns when the largest is more than {SCALE_RATIO} times the smallest and
    the chain has no Standardize or MinMaxScale.""",
    fix="inserts a Standardize node between the data and the model's Input",
)
def unscaled_features(ctx: CheckContext) -> Iterator[Finding]:
    found = _training_data(ctx)
    if found is None:
        return
    p, info, st = found
    if st.feature_std is None or len(info.feature_shape) != 1:
        return
    if any(n.type in ("Standardize", "MinMaxScale") for n in chain_nodes(ctx, p.data)):
        return
    std = st.feature_std
    live = np.flatnonzero(np.isfinite(std) & (std > 1e-12))
    if len(live) < 2:
        return
    hi_i, lo_i = live[np.argmax(std[live])], live[np.argmin(std[live])]
    ratio = std[hi_i] / std[lo_i]
    if ratio <= SCALE_RATIO:
        return
    names = info.feature_names

    def name(i: int) -> str:
        return repr(names[i]) if names and i < len(names) else f"feature {i}"

    yield Finding(
        p.data,
        {
            "ratio": f"{ratio:,.0f}",
            "wide": name(int(hi_i)),
            "hi": fmt(float(std[hi_i])),
            "narrow": name(int(lo_i)),
            "lo": fmt(float(std[lo_i])),
        },
        _insert_on_data_wire(ctx, p, "Standardize"),
    )


@lint(
    "unscaled-regression-targets",
    "warning",
    "regression targets with a large scale, left unstandardized",
    "{node}: the regression targets vary by about {std} and are not standardized; turn on "
    "Standardize's targets option (predictions are mapped back to the original scale)",
    f"""A network's last Linear starts out predicting values near 0 with a spread near 1.
    Targets in the hundreds or thousands make the first losses enormous: the gradients
    explode or the learning rate must be tiny, and the loss is hard to read. Standardizing
    the targets (Standardize with targets on, fitted on the training split) trains on
    values near 0 and maps predictions back. The check warns when the training targets'
    standard deviation is above {TARGET_SCALE}.""",
    fix="turns on targets in the chain's Standardize node (or inserts one)",
)
def unscaled_regression_targets(ctx: CheckContext) -> Iterator[Finding]:
    found = _training_data(ctx)
    if found is None:
        return
    p, info, st = found
    if info.task != "regression" or st.target_std is None or st.target_std <= TARGET_SCALE:
        return
    chain = chain_nodes(ctx, p.data)
    std_nodes = [n for n in chain if n.type == "Standardize"]
    if any(n.params.get("targets") for n in std_nodes):
        return
    if std_nodes:
        node = std_nodes[-1]
        fix = set_fix(ctx.graph, node.id, targets=True)
        where = node.id
    else:
        fix = _insert_on_data_wire(ctx, p, "Standardize", targets=True)
        where = p.data
    yield Finding(where, {"std": fmt(st.target_std)}, fix)


def _loss_weighted(loss: Any) -> bool:
    if loss.type == "BCEWithLogitsLoss":
        return float(loss.params.get("pos_weight", 1.0)) != 1.0
    return bool(loss.params.get("weight"))


@lint(
    "imbalanced-classes",
    "warning",
    "strongly imbalanced classes with no class weights",
    "{node}: the training split has {most} samples of {big} but only {least} of {small} "
    "({ratio}-fold) and the loss weighs every class the same; set the class weights",
    f"""When one class is far more frequent than another, a model can reach a high
    accuracy by ignoring the rare class, which is often the one that matters. Weighing the
    loss by inverse class frequency makes each class count equally. The check counts the
    training split's classes and warns when the most frequent is more than {IMBALANCE}
    times the least frequent and the loss has no weight (CrossEntropyLoss, NLLLoss) or
    pos_weight (BCEWithLogitsLoss). Look at F1 rather than accuracy on such data.""",
    fix="sets the loss's weights to the inverse class frequencies of the training split",
)
def imbalanced_classes(ctx: CheckContext) -> Iterator[Finding]:
    found = _training_data(ctx)
    if found is None:
        return
    p, info, st = found
    counts = st.class_counts
    if info.task != "classification" or not counts:
        return
    full = [counts.get(i, 0) for i in range(info.n_classes)]
    present = [c for c in full if c > 0]
    if len(present) < 2 or max(present) <= IMBALANCE * min(present):
        return
    loss = ctx.graph.nodes[p.loss]
    if loss.type not in ("CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss"):
        return
    if _loss_weighted(loss):
        return
    n = sum(full)
    if loss.type == "BCEWithLogitsLoss":
        pos_weight = round(full[0] / max(full[1], 1), 3) if len(full) == 2 else 1.0
        params: dict[str, Any] = {"pos_weight": pos_weight}
    else:
        params = {"weight": [round(n / (len(full) * max(c, 1)), 3) for c in full]}
    big = int(np.argmax(full))
    small = min((i for i in range(len(full)) if full[i] > 0), key=full.__getitem__)
    yield Finding(
        p.loss,
        {
            "most": full[big],
            "big": repr(info.class_names[big]),
            "least": full[small],
            "small": repr(info.class_names[small]),
            "ratio": f"{full[big] / full[small]:,.0f}",
        },
        set_fix(ctx.graph, p.loss, **params),
    )


@lint(
    "too-few-per-class-to-stratify",
    "warning",
    "too few samples of a class for a stratified split",
    "{node}: class {cls} has only {count} samples, too few to appear in every split "
    "(validation {val}, test {test}); its results will be missing or say nothing",
    """A stratified split keeps each class's share equal in the training, validation and
    test sets. A class with fewer samples than the splits need (at least one in each:
    about 1 / fraction samples) cannot be split that way: it is missing from the
    validation or test set, so its accuracy there is unknown, and the split falls back to
    an unstratified one. Collect more samples of that class, merge it with another, or
    use larger validation and test fractions.""",
)
def too_few_to_stratify(ctx: CheckContext) -> Iterator[Finding]:
    found = _training_data(ctx)
    if found is None:
        return
    p, info, st = found
    if info.task != "classification" or not st.all_class_counts:
        return
    split = next((n for n in chain_nodes(ctx, p.data) if n.type == "Split"), None)

    sp = dict(DEFAULT_SPLIT) if split is None else dict(split.params)
    if not sp.get("stratify"):
        return
    fracs = [f for f in (float(sp["val"]), float(sp["test"])) if f > 0]
    if not fracs:
        return
    need = max(2, max(math.ceil(1 / f) for f in fracs))
    counts = st.all_class_counts
    rare = min(counts, key=counts.__getitem__)
    if counts[rare] >= need:
        return
    where = split.id if split is not None else chain_nodes(ctx, p.data)[0].id
    yield Finding(
        where,
        {
            "cls": repr(info.class_names[rare]) if rare < info.n_classes else rare,
            "count": counts[rare],
            "val": fmt(float(sp["val"])),
            "test": fmt(float(sp["test"])),
        },
    )


@lint(
    "validation-metric-without-validation",
    "warning",
    "early stopping or monitor on validation, with no validation split",
    "{node}: training is set to {what}, but the data has no validation split, so it "
    "watches the training loss instead; give the Split a validation fraction",
    """Early stopping, the best checkpoint and the plateau schedule watch a validation
    metric (monitor). Without a validation split they fall back to the training loss,
    which keeps falling while the model overfits: early stopping never stops at the right
    time and the "best" model is simply the last one.""",
    fix="sets the Split's validation fraction to 0.15",
    parts={
        "early": "stop early",
        "monitor": "monitor {metric}",
        "plateau": "lower the learning rate on a plateau",
        "and": " and ",
    },
)
def validation_metric_without_validation(ctx: CheckContext) -> Iterator[Finding]:
    p = plan(ctx)
    info = ctx.report.data.get(p.data) if p is not None else None
    if info is None or not info.splits or info.splits.get("val", 0) > 0:
        return
    s = settings(ctx)
    if s is None:
        return
    monitor = str(s["monitor"])
    opt = ctx.graph.nodes[p.optimizer]
    uses: list[Part] = []
    if s.get("early_stopping"):
        uses.append(Part("early"))
    if monitor.startswith("val_") and explicit_setting(ctx, "monitor"):
        uses.append(Part("monitor", {"metric": monitor}))
    if opt.params.get("lr_schedule") == "plateau":
        uses.append(Part("plateau"))
    if not uses:
        return
    split = next((n for n in chain_nodes(ctx, p.data) if n.type == "Split"), None)
    fix = None
    if split is not None:
        fix = set_fix(ctx.graph, split.id, val=0.15)
    where = split.id if split is not None else p.data
    yield Finding(where, {"what": uses}, fix)


__all__ = ["IMBALANCE", "SCALE_RATIO", "TARGET_SCALE"]
