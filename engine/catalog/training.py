"""Loss and optimizer node types: what training minimizes and how.

A loss takes the model's output (``input``) and the dataset's ``target``; an optimizer
takes the loss. Parameter names are torch's own (``label_smoothing``, ``momentum`` …);
``ctor`` marks the ones passed straight to the torch constructor. The learning-rate
schedule and warm-up are parameters of the optimizer node.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from engine.catalog.base import NodeSpec, Param, Port
from engine.catalog.registry import register


def P(name: str, type_: str, default: Any, doc: str = "", **kw: Any) -> Param:
    return Param(name, type_, default, doc, **kw)  # type: ignore[arg-type]


LOSS_INPUTS = (
    Port("input", doc="the model's output"),
    Port("target", kind="target", doc="targets from the dataset (its targets output)"),
)
LOSS_OUT = (Port("loss", kind="loss", doc="to an optimizer"),)


def loss(cls: type, doc: str, params: tuple[Param, ...] = (), **extra: Any) -> NodeSpec:
    return register(
        NodeSpec(
            type=cls.__name__,
            category="Losses",
            group=extra.pop("group", ""),
            kind="loss",
            doc=doc,
            inputs=LOSS_INPUTS,
            outputs=LOSS_OUT,
            params=params,
            module=cls,
            exportable=False,
            extra=extra,
        )
    )


# ``target``: what the loss wants from classification labels. ``index``: class indices;
# ``onehot``: probabilities per class; ``binary``: one 0/1 column (or one-hot if C outputs).
# ``outputs``: how predictions are read from the model output: ``logits`` (softmax),
# ``log_probs`` (exp), ``sigmoid`` or ``values``.
loss(nn.MSELoss, "Mean squared error (regression).", group="regression", target="onehot")
loss(nn.L1Loss, "Mean absolute error (regression).", group="regression", target="onehot")
loss(
    nn.HuberLoss,
    "Squared error for small errors, absolute error beyond delta (robust regression).",
    (P("delta", "float", 1.0, "where the loss turns from quadratic to linear", min=1e-12),),
    group="regression",
    target="onehot",
)
loss(
    nn.SmoothL1Loss,
    "Like Huber, divided by beta (Fast R-CNN's box loss).",
    (P("beta", "float", 1.0, "where the loss turns from quadratic to linear", min=0.0),),
    group="regression",
    target="onehot",
)
loss(
    nn.CrossEntropyLoss,
    "Softmax + negative log-likelihood on raw scores (logits): the classification loss.",
    (
        P(
            "label_smoothing",
            "float",
            0.0,
            "mix this much of a uniform distribution into the targets",
            min=0.0,
            max=1.0,
        ),
        P(
            "weight",
            "floats",
            [],
            "one weight per class for unbalanced data (empty: all 1)",
            min=0.0,
            ctor=False,
        ),
    ),
    group="classification",
    target="index",
    outputs="logits",
)
loss(
    nn.NLLLoss,
    "Negative log-likelihood of log-probabilities (put LogSoftmax before it).",
    (
        P(
            "weight",
            "floats",
            [],
            "one weight per class for unbalanced data (empty: all 1)",
            min=0.0,
            ctor=False,
        ),
    ),
    group="classification",
    target="index",
    outputs="log_probs",
)
loss(
    nn.BCEWithLogitsLoss,
    "Sigmoid + binary cross-entropy on logits: binary or multi-label classification.",
    (
        P(
            "pos_weight",
            "float",
            1.0,
            "weight of positive examples (above 1 favours recall)",
            min=0.0,
            ctor=False,
        ),
    ),
    group="classification",
    target="binary",
    outputs="sigmoid",
)
loss(
    nn.KLDivLoss,
    "Kullback-Leibler divergence of log-probabilities from target distributions.",
    (P("log_target", "bool", False, "the targets are log-probabilities too"),),
    group="classification",
    target="onehot",
    outputs="log_probs",
    fixed_kw={"reduction": "batchmean"},
)

# -- optimizers ------------------------------------------------------------------------------
# 0.01, not torch's 1e-3: the small models built here reach a good fit in the default 20
# epochs (a fresh Iris MLP: 0.64-0.86 test accuracy at 1e-3, 0.95-1.0 at 0.01)
# Per optimizer, where lr usually lies (the tuner's first range for it, the range the
# learning-rate lint names) and the "far outside" bounds below and above which that lint
# warns: plain SGD steps lr × the gradient, Adam-like optimizers normalize the gradient.
LR_USUAL: dict[str, tuple[float, float]] = {
    "SGD": (1e-3, 0.5),
    "Adam": (1e-5, 1e-2),
    "AdamW": (1e-5, 1e-2),
    "RMSprop": (1e-4, 1e-2),
    "Adagrad": (1e-3, 0.1),
}
LR_FAR: dict[str, tuple[float, float]] = {
    "SGD": (1e-4, 1.0),
    "Adam": (1e-6, 0.03),
    "AdamW": (1e-6, 0.03),
    "RMSprop": (1e-6, 0.03),
    "Adagrad": (1e-4, 1.0),
}


def lr_param(optimizer: str) -> Param:
    """The lr of ``optimizer``, its usual range declared from ``LR_USUAL``."""
    return P("lr", "float", 1e-2, "learning rate", min=0.0, usual=LR_USUAL[optimizer])


LR = lr_param("Adam")
WD = P("weight_decay", "float", 0.0, "L2 penalty (AdamW: decoupled decay)", min=0.0)
EPS = P("eps", "float", 1e-8, "added to the denominator for stability", min=0.0)
BETAS = P("betas", "floats", [0.9, 0.999], "decay rates of the moment estimates", min=0.0, max=1.0)

SCHEDULES = ("none", "step", "cosine", "one_cycle", "plateau")
SCHEDULE = (
    P(
        "lr_schedule",
        "choice",
        "none",
        "how the learning rate changes: step (× gamma every step_size epochs), cosine (down to "
        "eta_min), one_cycle (up to lr, then down), plateau (× factor when the monitored "
        "metric stalls)",
        choices=SCHEDULES,
        ctor=False,
    ),
    P(
        "step_size",
        "int",
        10,
        "step: epochs between decays",
        min=1,
        ctor=False,
        enabled_if=("lr_schedule", ("step",)),
    ),
    P(
        "gamma",
        "float",
        0.1,
        "step: decay factor",
        min=0.0,
        max=1.0,
        ctor=False,
        enabled_if=("lr_schedule", ("step",)),
    ),
    P(
        "eta_min",
        "float",
        0.0,
        "cosine: final learning rate",
        min=0.0,
        ctor=False,
        enabled_if=("lr_schedule", ("cosine",)),
    ),
    P(
        "pct_start",
        "float",
        0.3,
        "one_cycle: fraction of training spent increasing",
        min=0.0,
        max=1.0,
        ctor=False,
        enabled_if=("lr_schedule", ("one_cycle",)),
    ),
    P(
        "factor",
        "float",
        0.1,
        "plateau: decay factor",
        min=0.0,
        max=1.0,
        ctor=False,
        enabled_if=("lr_schedule", ("plateau",)),
    ),
    P(
        "patience",
        "int",
        5,
        "plateau: epochs without improvement before decaying",
        min=0,
        ctor=False,
        enabled_if=("lr_schedule", ("plateau",)),
    ),
    P(
        "warmup_epochs",
        "float",
        0.0,
        "raise the learning rate linearly from 0 over this many epochs first",
        min=0.0,
        ctor=False,
    ),
)


def optimizer(cls: type, doc: str, params: tuple[Param, ...]) -> NodeSpec:
    return register(
        NodeSpec(
            type=cls.__name__,
            category="Optimizers",
            kind="optimizer",
            doc=doc,
            inputs=(Port("loss", kind="loss", doc="the loss to minimize"),),
            outputs=(),
            params=params + SCHEDULE,
            module=cls,
            exportable=False,
        )
    )


optimizer(
    torch.optim.SGD,
    "Stochastic gradient descent, with momentum and Nesterov's variant.",
    (
        lr_param("SGD"),
        P("momentum", "float", 0.9, "momentum factor (0: plain SGD)", min=0.0, max=1.0),
        P("nesterov", "bool", False, "Nesterov momentum (needs momentum > 0)"),
        WD,
    ),
)
optimizer(torch.optim.Adam, "Adam: adaptive moments; a robust default.", (LR, BETAS, EPS, WD))
optimizer(
    torch.optim.AdamW,
    "Adam with decoupled weight decay (the usual choice for regularized training).",
    (
        lr_param("AdamW"),
        BETAS,
        EPS,
        P("weight_decay", "float", 0.01, "decoupled weight decay", min=0.0),
    ),
)
optimizer(
    torch.optim.RMSprop,
    "RMSprop: divides by a running average of squared gradients.",
    (
        lr_param("RMSprop"),
        P("alpha", "float", 0.99, "smoothing constant", min=0.0, max=1.0),
        EPS,
        WD,
        P("momentum", "float", 0.0, "momentum factor", min=0.0, max=1.0),
        P("centered", "bool", False, "normalize by an estimate of the gradient's variance"),
    ),
)
optimizer(
    torch.optim.Adagrad,
    "Adagrad: per-parameter learning rates from accumulated squared gradients.",
    (
        lr_param("Adagrad"),
        P("lr_decay", "float", 0.0, "learning-rate decay", min=0.0),
        WD,
        P("eps", "float", 1e-10, "added to the denominator for stability", min=0.0),
    ),
)

LOSS_TYPES = (
    "MSELoss",
    "L1Loss",
    "HuberLoss",
    "SmoothL1Loss",
    "CrossEntropyLoss",
    "NLLLoss",
    "BCEWithLogitsLoss",
    "KLDivLoss",
)
OPTIMIZER_TYPES = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")
