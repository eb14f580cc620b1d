"""Lints of the training setup: the loss against the model's last layer, the optimizer,
BatchNorm against the batches, and the size of the model against the data and the epochs."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from engine.analysis.fixes import Fix, insert_fix, remove_fix, set_fix
from engine.analysis.lints.registry import Finding, Part, lint
from engine.analysis.lints.util import (
    chain_nodes,
    edge_src,
    fmt,
    layer_behind,
    nodes_of_kind,
    plan,
    prepared,
    settings,
    stats,
)
from engine.catalog.training import LR_FAR, LR_USUAL
from engine.graph import Edge
from engine.runtime.prepare import DEFAULT_BATCH

if TYPE_CHECKING:
    from engine.analysis.report import CheckContext
    from engine.graph import Node


def _losses(ctx: CheckContext) -> Iterator[tuple[Node, Node, Any]]:
    """(loss, the model layer feeding it, the target data's info or None) per loss."""
    g = ctx.graph
    for loss in nodes_of_kind(ctx, "loss"):
        src = layer_behind(ctx, edge_src(ctx, loss.id, "input"))
        if src is None or src not in ctx.report.shapes:
            continue
        tgt = edge_src(ctx, loss.id, "target")
        yield loss, g.nodes[src], ctx.report.data.get(tgt) if tgt else None


def _only_feeds_loss(ctx: CheckContext, nid: str, loss: str) -> bool:
    """Whether removing ``nid`` (bridging its input to its consumers) changes only the loss."""
    g = ctx.graph
    outs = ctx.out_edges[nid]
    return len(ctx.in_edges[nid]) == 1 and all(
        e.dst == loss or (g.nodes[e.dst].type == "Output" and e.dst != nid) for e in outs
    )


def _remove(ctx: CheckContext, nid: str) -> Fix:
    return remove_fix(ctx.graph, nid)


@lint(
    "softmax-before-cross-entropy",
    "warning",
    "Softmax right before CrossEntropyLoss",
    "{node}: {src} (Softmax) comes right before CrossEntropyLoss, which applies softmax "
    "itself; remove it (predictions still get probabilities)",
    """CrossEntropyLoss takes raw scores (logits) and applies log-softmax itself. A Softmax
    before it squashes the scores twice: the gradients become tiny and training crawls or
    stalls. Predictions still show probabilities without it (the app applies softmax to
    a classifier's output).""",
    fix="removes the Softmax and wires its input to the loss",
)
def softmax_before_ce(ctx: CheckContext) -> Iterator[Finding]:
    for loss, src, _ in _losses(ctx):
        if loss.type == "CrossEntropyLoss" and src.type == "Softmax":
            fix = _remove(ctx, src.id) if _only_feeds_loss(ctx, src.id, loss.id) else None
            yield Finding(loss.id, {"src": src.name}, fix)


@lint(
    "sigmoid-before-bce-with-logits",
    "warning",
    "Sigmoid right before BCEWithLogitsLoss",
    "{node}: {src} (Sigmoid) comes right before BCEWithLogitsLoss, which applies the sigmoid "
    "itself; remove it",
    """BCEWithLogitsLoss expects logits and applies the sigmoid itself, in a numerically
    stable way. A Sigmoid before it applies it twice: outputs are squeezed into
    (0.5, 0.73), the loss can never get small and the gradients vanish.""",
    fix="removes the Sigmoid and wires its input to the loss",
)
def sigmoid_before_bce(ctx: CheckContext) -> Iterator[Finding]:
    for loss, src, _ in _losses(ctx):
        if loss.type == "BCEWithLogitsLoss" and src.type == "Sigmoid":
            fix = _remove(ctx, src.id) if _only_feeds_loss(ctx, src.id, loss.id) else None
            yield Finding(loss.id, {"src": src.name}, fix)


def _log_softmax_fix(loss: Node, src: Node, ctx: CheckContext) -> Fix | None:
    if src.type == "Softmax":
        return None  # inserting after a Softmax would still be wrong: replace it by hand
    e = next(e for e in ctx.in_edges[loss.id] if e.dst_port == "input")
    return insert_fix(ctx.graph, "LogSoftmax", e)


@lint(
    "nll-without-log-softmax",
    "warning",
    "NLLLoss without a LogSoftmax before it",
    "{node}: expects log-probabilities; put a LogSoftmax before it (it gets {src}, a {src_type})",
    """NLLLoss only picks the value of the true class and negates it: it is a
    classification loss only when that value is a log-probability, which a LogSoftmax
    gives. Fed raw scores, the loss falls without bound by making one score huge; fed a
    Softmax's probabilities, it is the wrong quantity (replace the Softmax by a
    LogSoftmax). LogSoftmax + NLLLoss is exactly CrossEntropyLoss.""",
    fix="inserts a LogSoftmax before the loss (not offered after a Softmax: replace that)",
)
def nll_without_log_softmax(ctx: CheckContext) -> Iterator[Finding]:
    for loss, src, _ in _losses(ctx):
        if loss.type == "NLLLoss" and src.type != "LogSoftmax":
            values = {"src": src.name, "src_type": src.type}
            yield Finding(loss.id, values, _log_softmax_fix(loss, src, ctx))


@lint(
    "kl-div-input-form",
    "warning",
    "KLDivLoss fed something other than log-probabilities",
    "{node}: expects log-probabilities; put a LogSoftmax before it (it gets {src}, a {src_type})",
    """KLDivLoss takes the model's output as log-probabilities (and the targets as
    probabilities, unless log_target is set). A Softmax gives probabilities — the wrong
    form, and the loss then measures nothing meaningful; raw scores are not a
    distribution at all. Use a LogSoftmax as the last layer.""",
    fix="inserts a LogSoftmax before the loss (not offered after a Softmax: replace that)",
)
def kl_div_input_form(ctx: CheckContext) -> Iterator[Finding]:
    for loss, src, _ in _losses(ctx):
        if loss.type == "KLDivLoss" and src.type != "LogSoftmax":
            values = {"src": src.name, "src_type": src.type}
            yield Finding(loss.id, values, _log_softmax_fix(loss, src, ctx))


@lint(
    "kl-div-log-target",
    "warning",
    "KLDivLoss told that class labels are log-probabilities",
    "{node}: log_target is on, but its targets are one-hot class labels (probabilities, not "
    "their logarithm); turn log_target off",
    """With log_target on, KLDivLoss reads the targets as log-probabilities. The targets
    of a classification dataset are one-hot vectors of probabilities (0 and 1), whose
    exponentials are 1 and e: the loss then trains towards a distribution that does not
    exist.""",
    fix="sets log_target to false",
)
def kl_div_log_target(ctx: CheckContext) -> Iterator[Finding]:
    for loss, _src, info in _losses(ctx):
        labels = info is not None and info.task == "classification"
        if loss.type == "KLDivLoss" and loss.params.get("log_target") and labels:
            fix = set_fix(ctx.graph, loss.id, log_target=False)
            yield Finding(loss.id, {}, fix)


@lint(
    "cross-entropy-one-output",
    "error",
    "CrossEntropyLoss on a model with one output",
    "{node}: {src} gives one output, and the softmax of one value is always 1, so "
    "CrossEntropyLoss is always 0 and nothing is learned; give it one output per class"
    "{classes}, or use BCEWithLogitsLoss for two classes",
    """CrossEntropyLoss turns one score per class into probabilities with a softmax. With a
    single output there is nothing to compare it with: the probability is 1 whatever the
    weights, the loss is 0 and its gradient is 0. A yes/no problem needs either two
    outputs with CrossEntropyLoss or one output with BCEWithLogitsLoss.""",
    fix="sets the last Linear's out_features to the number of classes",
    parts={"classes": " (the data has {n} classes)"},
)
def cross_entropy_one_output(ctx: CheckContext) -> Iterator[Finding]:
    for loss, src, info in _losses(ctx):
        if loss.type != "CrossEntropyLoss" or tuple(ctx.report.shapes[src.id]) != (1,):
            continue
        c = info.n_classes if info is not None and info.task == "classification" else None
        fix = None
        if src.type == "Linear":
            fix = set_fix(ctx.graph, src.id, out_features=c or 2)
        classes = Part("classes", {"n": c}) if c else ""
        yield Finding(loss.id, {"src": src.name, "classes": classes}, fix)


@lint(
    "regression-loss-on-labels",
    "warning",
    "a regression loss (MSELoss…) on class labels",
    "{node}: a regression loss on class labels (compared to one-hot vectors); "
    "CrossEntropyLoss usually trains better",
    """MSELoss, L1Loss and the Huber losses measure distances between numbers. On a
    classification dataset they compare the outputs with one-hot vectors: the gradients
    are weak exactly where the model is confidently wrong, and the outputs are not
    probabilities. CrossEntropyLoss (or BCEWithLogitsLoss for yes/no) is the loss for
    classes.""",
)
def regression_loss_on_labels(ctx: CheckContext) -> Iterator[Finding]:
    for loss, _src, info in _losses(ctx):
        if loss.spec.group == "regression" and info is not None and info.task == "classification":
            yield Finding(loss.id)


# bounded activations: (lowest, highest) output, None where unbounded
_RANGE: dict[str, tuple[float | None, float | None]] = {
    "ReLU": (0.0, None),
    "ReLU6": (0.0, 6.0),
    "Softplus": (0.0, None),
    "Sigmoid": (0.0, 1.0),
    "Tanh": (-1.0, 1.0),
    "Softsign": (-1.0, 1.0),
    "Softmax": (0.0, 1.0),
}
_DEAD = ("ReLU", "ReLU6")  # zero gradient below 0: an output stuck there stops learning


@lint(
    "bounded-regression-output",
    "warning",
    "a bounded activation (ReLU, Sigmoid…) as a regression model's output",
    "{node}: {src} ({src_type}) is the model's last layer, so its predictions can only lie "
    "in {range}{why}; remove it and let the last Linear give the value",
    """A regression model predicts any number; its last layer should be a Linear. A ReLU
    there cannot predict negative values and, worse, an output whose pre-activation goes
    below 0 gets no gradient and stops learning for good. Sigmoid, Tanh and other bounded
    activations cap the predictions: the check warns about them when the training targets
    go beyond their range (standardized targets are centred on 0, so they usually do).""",
    fix="removes the activation and wires its input to the loss",
    parts={
        "dead": " and an output stuck at 0 gets no gradient",
        "beyond": ", but the training targets go from {lo} to {hi}",
    },
)
def bounded_regression_output(ctx: CheckContext) -> Iterator[Finding]:
    p = plan(ctx)
    for loss, src, info in _losses(ctx):
        if info is None or info.task != "regression" or src.type not in _RANGE:
            continue
        lo, hi = _RANGE[src.type]
        why: Any = ""
        if src.type in _DEAD:
            why = Part("dead")
        else:
            st = stats(prepared(ctx, p.data)) if p is not None else None
            if st is None or st.target_min is None or st.target_max is None:
                continue
            if (lo is None or st.target_min >= lo) and (hi is None or st.target_max <= hi):
                continue  # the targets fit the range: a deliberate choice
            why = Part("beyond", {"lo": fmt(st.target_min), "hi": fmt(st.target_max)})
        rng = f"[{fmt(lo)}, {'∞' if hi is None else fmt(hi)}]" if lo is not None else ""
        fix = _remove(ctx, src.id) if _only_feeds_loss(ctx, src.id, loss.id) else None
        yield Finding(
            loss.id, {"src": src.name, "src_type": src.type, "range": rng, "why": why}, fix
        )


@lint(
    "dropout-before-loss",
    "warning",
    "Dropout as the last layer before the loss",
    "{node}: {src} (Dropout) is the model's last layer; it zeroes some of the predictions "
    "themselves while training, so remove it or move it before the last Linear",
    """Dropout regularizes by hiding hidden units from the next layer. As the last layer
    there is no next layer: it zeroes random outputs (scores or predicted values) and the
    loss punishes the model for them, which is noise, not regularization. Put Dropout
    before the last Linear instead.""",
    fix="removes the Dropout and wires its input to the loss",
)
def dropout_before_loss(ctx: CheckContext) -> Iterator[Finding]:
    for loss, src, _ in _losses(ctx):
        if src.type in ("Dropout", "Dropout2d") and src.params.get("p", 0) > 0:
            fix = _remove(ctx, src.id) if _only_feeds_loss(ctx, src.id, loss.id) else None
            yield Finding(loss.id, {"src": src.name}, fix)


@lint(
    "learning-rate-out-of-range",
    "warning",
    "a learning rate far outside the usual range for the optimizer",
    "{node}: lr = {lr} is far {side} the usual range for {type} ({usual}); {effect}",
    """The right learning rate depends on the optimizer: plain SGD takes steps of lr × the
    gradient and usually wants 0.001 to 0.5, while Adam-like optimizers (Adam, AdamW,
    RMSprop) normalize the gradient and usually want 0.00001 to 0.01; Adagrad 0.001 to
    0.1. The check warns below 0.0001 or above 1 for SGD and Adagrad, and below 0.000001
    or above 0.03 for Adam, AdamW and RMSprop: too high diverges (the loss jumps or becomes
    NaN), too low barely moves the weights in the epochs given.""",
    fix="sets lr to the optimizer's default",
    parts={
        "above": "above",
        "below": "below",
        "range": "{lo} to {hi}",
        "diverge": "training will likely diverge",
        "barely": "the weights will barely change",
    },
)
def learning_rate_out_of_range(ctx: CheckContext) -> Iterator[Finding]:
    for opt in nodes_of_kind(ctx, "optimizer"):
        if opt.type not in LR_FAR:
            continue
        usual, (lo, hi) = LR_USUAL[opt.type], LR_FAR[opt.type]
        lr = float(opt.params.get("lr", 0) or 0)
        if lr <= 0 or lo <= lr <= hi:
            continue  # lr = 0 has its own warning
        high = lr > hi
        default = next(p.default for p in opt.spec.params if p.name == "lr")
        yield Finding(
            opt.id,
            {
                "lr": fmt(lr),
                "side": Part("above" if high else "below"),
                "type": opt.type,
                "usual": Part("range", {"lo": _plain(usual[0]), "hi": _plain(usual[1])}),
                "effect": Part("diverge" if high else "barely"),
            },
            set_fix(ctx.graph, opt.id, lr=default),
        )


@lint(
    "adam-weight-decay",
    "warning",
    "weight decay on Adam where AdamW was meant",
    "{node}: Adam with weight_decay = {wd} adds the decay to the gradients, where Adam's "
    "scaling weakens it unevenly; use AdamW, which applies weight decay as intended",
    """Adam's weight_decay is an L2 term added to the gradient, which Adam then divides by
    its running gradient size: weights with large gradients are hardly decayed at all.
    AdamW decouples the decay from the gradient step, which is what "weight decay" means
    in most papers and recipes, and regularizes better. Replace the Adam node with AdamW
    (same lr; AdamW's usual weight_decay is 0.01).""",
)
def adam_weight_decay(ctx: CheckContext) -> Iterator[Finding]:
    for opt in nodes_of_kind(ctx, "optimizer"):
        if opt.type == "Adam" and (opt.params.get("weight_decay") or 0) > 0:
            yield Finding(opt.id, {"wd": fmt(float(opt.params["weight_decay"]))})


PARAMS_PER_SAMPLE = 100  # more parameters than this many per training sample: overfit


@lint(
    "too-many-parameters",
    "warning",
    "far more parameters than training samples",
    "{node}: the model has {params} parameters for {samples} training samples (more than "
    "{ratio} per sample); it will likely memorize them: make it smaller or get more data",
    f"""A model with far more weights than training samples can memorize the training
    split instead of learning what generalizes: the training loss falls, the validation
    loss rises. The check warns above {PARAMS_PER_SAMPLE} parameters per training sample
    (counted after the split), on the layer holding the most parameters. Dropout, weight
    decay, augmentation and early stopping help, but a smaller model is the first thing to
    try.""",
)
def too_many_parameters(ctx: CheckContext) -> Iterator[Finding]:
    p, rep = plan(ctx), ctx.report
    info = rep.data.get(p.data) if p is not None else None
    if info is None or not info.splits:
        return
    n = info.splits.get("train", 0)
    total = rep.total_params
    if n <= 0 or total <= PARAMS_PER_SAMPLE * n:
        return
    biggest = max(rep.model_nodes, key=lambda nid: rep.params.get(nid, 0))
    yield Finding(
        biggest, {"params": f"{total:,}", "samples": f"{n:,}", "ratio": PARAMS_PER_SAMPLE}
    )


MIN_UPDATES = 50  # fewer weight updates in the whole training: obviously underfit


def _plain(v: float) -> str:
    """0.00001, not 1e-05: the way a learning rate is typed."""
    return format(v, "f").rstrip("0").rstrip(".")


def _batching(ctx: CheckContext, data: str) -> tuple[dict[str, Any], Node | None]:
    batch_node = next((n for n in chain_nodes(ctx, data) if n.type == "Batch"), None)
    if batch_node is None:
        return dict(DEFAULT_BATCH), None
    return {k: batch_node.params[k] for k in DEFAULT_BATCH}, batch_node


@lint(
    "too-few-updates",
    "warning",
    "too few weight updates to learn anything (e.g. one epoch)",
    "{node}: training makes only {steps} weight updates ({epochs} epoch(s) of {batches} "
    "batch(es)); the model will be underfit: raise epochs in the training settings or use "
    "smaller batches",
    f"""Each batch is one step of the optimizer. With fewer than {MIN_UPDATES} steps in the
    whole training (epochs × batches per epoch), a network has barely moved from its
    random start, whatever its size: the results say nothing about the design. Raise
    epochs (training settings) or make the batches smaller (the Batch node).""",
)
def too_few_updates(ctx: CheckContext) -> Iterator[Finding]:
    p = plan(ctx)
    info = ctx.report.data.get(p.data) if p is not None else None
    s = settings(ctx) if info is not None else None
    if s is None or not info.splits:
        return
    n = info.splits.get("train", 0)
    batch, _ = _batching(ctx, p.data)
    bs = int(batch["batch_size"])
    if n <= 0:
        return
    per_epoch = n // bs if batch["drop_last"] and n >= bs else math.ceil(n / bs)
    steps = int(s["epochs"]) * per_epoch
    if steps < MIN_UPDATES:
        values = {"steps": steps, "epochs": s["epochs"], "batches": per_epoch}
        yield Finding(p.optimizer, values)


_BATCHNORM = ("BatchNorm1d", "BatchNorm2d")


def _batchnorms(ctx: CheckContext) -> list[Node]:
    rep = ctx.report
    return [ctx.graph.nodes[n] for n in rep.model_nodes if ctx.graph.nodes[n].type in _BATCHNORM]


@lint(
    "batchnorm-batch-size-one",
    "error",
    "BatchNorm with a batch size of 1",
    "{node}: BatchNorm needs several samples per batch, but {batch} has batch_size = 1; "
    "use batches of 8 or more",
    """BatchNorm normalizes each channel with the mean and variance of the current batch.
    With one sample per batch those statistics are the sample itself: BatchNorm1d on
    features refuses to train ("expected more than 1 value per channel"), and otherwise
    every sample is normalized by itself while training but by the running averages at
    inference, so the model evaluated is not the one trained.""",
    fix="sets the Batch node's batch_size to 32",
)
def batchnorm_batch_size_one(ctx: CheckContext) -> Iterator[Finding]:
    p = plan(ctx)
    bns = _batchnorms(ctx)
    if p is None or not bns:
        return
    batch, node = _batching(ctx, p.data)
    if int(batch["batch_size"]) == 1 and node is not None:
        fix = set_fix(ctx.graph, node.id, batch_size=32)
        yield Finding(bns[0].id, {"batch": node.name}, fix)


@lint(
    "batchnorm-last-batch-of-one",
    "warning",
    "BatchNorm, and a last batch of one sample",
    "{node}: the {samples} training samples in batches of {size} leave a last batch of one "
    "sample, which BatchNorm cannot normalize; turn drop_last on",
    """When the number of training samples is one more than a multiple of the batch size,
    each epoch ends with a batch of a single sample. BatchNorm1d on features stops the
    training there with an error; other BatchNorm layers update their running statistics
    from that one sample. drop_last skips the incomplete batch (the samples are shuffled,
    so each epoch skips a different one).""",
    fix="turns drop_last on (adding a Batch node if the chain has none)",
)
def batchnorm_last_batch_of_one(ctx: CheckContext) -> Iterator[Finding]:
    p = plan(ctx)
    bns = _batchnorms(ctx)
    info = ctx.report.data.get(p.data) if p is not None and bns else None
    if info is None or not info.splits:
        return
    batch, node = _batching(ctx, p.data)
    n, bs = info.splits.get("train", 0), int(batch["batch_size"])
    if bs == 1 or batch["drop_last"] or n % bs != 1 or n < bs:
        return
    if node is not None:
        fix = set_fix(ctx.graph, node.id, drop_last=True)
    else:
        fix = insert_fix(ctx.graph, "Batch", Edge(p.data, "data", p.input, "data"), drop_last=True)
    yield Finding(bns[0].id, {"samples": n, "size": bs}, fix)


__all__ = ["MIN_UPDATES", "PARAMS_PER_SAMPLE"]


@lint(
    "nothing-to-train",
    "warning",
    "every layer with weights is frozen",
    "{node}: every layer with weights is frozen ({frozen} parameters), so training would "
    "change nothing; unfreeze at least one layer (for feature extraction: the new head)",
    """Transfer learning freezes the layers that were already trained (their weights get no
    gradient and are not given to the optimizer). When every layer that has weights is
    frozen, the optimizer has nothing to change: training would refuse to start. Unfreeze
    the layers that should learn, usually the new head at the end of the model. A frozen
    node without weights (ReLU, Flatten) is fine and does not count.""",
)
def nothing_to_train(ctx: CheckContext) -> Iterator[Finding]:
    rep = ctx.report
    if not rep.frozen or rep.total_params == 0 or rep.trainable_params > 0:
        return
    opts = nodes_of_kind(ctx, "optimizer")
    where = opts[0].id if opts else min(rep.frozen)
    yield Finding(where, {"frozen": f"{rep.frozen_params:,}"})
