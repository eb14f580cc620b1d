"""Checks of losses and optimizers, and the whole-graph "ready to train" verdict.

A graph with only a model stays error-free: what training still needs goes into
``report.training`` (a ``Readiness``), which the Training dock and status bar show.
Wrong things that are present (a loss that cannot fit the model's output) are errors on
the node, in the user's terms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine import catalog
from engine.analysis.fixes import set_fix
from engine.analysis.report import (
    CheckContext,
    Readiness,
    Reason,
)
from engine.catalog.settings import resolve_settings, settings_problems
from engine.data.errors import DataError
from engine.data.pipeline import chain_of
from engine.graph import Node


@dataclass(frozen=True)
class Plan:
    """Which nodes training uses."""

    input: str
    data: str  # the data node feeding the Input
    loss: str
    optimizer: str
    output: str  # the model node feeding the loss
    target_source: str


def _fmt(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


@dataclass(frozen=True)
class LossProblem:
    """A loss's problem with what feeds it; ``outputs``: the output count that would cure
    it, when setting the feeding layer's ``out_features`` is the repair."""

    severity: str
    message: str
    outputs: int | None = None


def loss_problems(
    loss_type: str, params: dict[str, Any], out_shape: tuple[int, ...], info: Any, model_name: str
) -> list[LossProblem]:
    """The problems of a loss fed ``out_shape`` with targets described by ``info``."""
    spec = catalog.get(loss_type)
    target = spec.extra.get("target")
    out: list[LossProblem] = []
    numel = 1
    for d in out_shape:
        numel *= d
    if info.task == "classification":
        c = info.n_classes
        if target == "binary" and out_shape == (1,):
            if c != 2:
                out.append(
                    LossProblem(
                        "error",
                        f"one output suits two classes, but the data has {c} classes; "
                        f"give {model_name} {c} outputs",
                    )
                )
            return out
        if len(out_shape) != 1:
            out.append(
                LossProblem(
                    "error",
                    f"expects one score per class, shape ({c},), but {model_name} gives "
                    f"{_fmt(out_shape)}; add a Flatten and a Linear with out_features={c}",
                )
            )
            return out
        if out_shape[0] != c and not (loss_type == "CrossEntropyLoss" and out_shape == (1,)):
            # (one output with CrossEntropyLoss: the lint cross-entropy-one-output says why)
            extra = " (or 1 for BCEWithLogitsLoss on two classes)" if target == "binary" else ""
            out.append(
                LossProblem(
                    "error",
                    f"the data has {c} classes ({', '.join(info.class_names[:10])}"
                    f"{' …' if c > 10 else ''}) but {model_name} gives {out_shape[0]} outputs; set "
                    f"its out_features to {c}{extra}",
                    c,
                )
            )
        w = params.get("weight") or []
        if w and len(w) != c:
            out.append(LossProblem("error", f"weight has {len(w)} values, one per class needs {c}"))
        return out  # a regression loss on class labels: the lint regression-loss-on-labels
    # regression
    if target in ("index",) or loss_type in ("BCEWithLogitsLoss", "KLDivLoss"):
        out.append(
            LossProblem(
                "error",
                "needs class labels, but the data is a regression task (numbers); "
                "use MSELoss, L1Loss or HuberLoss",
            )
        )
        return out
    tnumel = 1
    for d in info.target_shape:
        tnumel *= d
    if numel != tnumel:
        out.append(
            LossProblem(
                "error",
                f"the data has {tnumel} target value{'s' if tnumel > 1 else ''} per sample "
                f"but {model_name} gives {_fmt(out_shape)}; set its out_features to {tnumel}",
                tnumel if len(out_shape) == 1 else None,
            )
        )
    return out


def _edge_src(ctx: CheckContext, node: Node, port: str) -> str | None:
    for e in ctx.in_edges[node.id]:
        if e.dst_port == port:
            return e.src
    return None


def check_loss(ctx: CheckContext, node: Node) -> None:
    rep = ctx.report
    src = _edge_src(ctx, node, "input")
    tgt = _edge_src(ctx, node, "target")
    if src is None:
        rep.error(node.id, f"{node.name}: connect the model's output to input", port="input")
    if tgt is None:
        rep.error(node.id, f"{node.name}: connect a dataset's targets to target", port="target")
    if src is None or tgt is None:
        ctx.failed.add(node.id)
        return
    if src in ctx.failed or tgt in ctx.failed or src not in rep.shapes:
        ctx.failed.add(node.id)
        return
    info = rep.data.get(tgt)
    if info is None:
        ctx.failed.add(node.id)
        return
    feeder = ctx.graph.nodes[src]
    settable = any(p.name == "out_features" for p in feeder.spec.params)
    for pr in loss_problems(node.type, node.params, tuple(rep.shapes[src]), info, ctx.label(src)):
        fix = None
        if pr.outputs is not None and settable:
            fix = set_fix(ctx.graph, src, out_features=pr.outputs)
        (rep.error if pr.severity == "error" else rep.warn)(
            node.id, f"{node.name}: {pr.message}", fix=fix
        )
        if pr.severity == "error":
            ctx.failed.add(node.id)
    # The classic mistakes (Softmax before CrossEntropyLoss, no LogSoftmax before NLLLoss…)
    # are lints: engine.analysis.lints.training.


def check_optimizer(ctx: CheckContext, node: Node) -> None:
    rep, p = ctx.report, node.params
    if _edge_src(ctx, node, "loss") is None:
        rep.error(node.id, f"{node.name}: connect a loss to it", port="loss")
    if "betas" in p and len(p["betas"]) != 2:
        rep.error(node.id, f"{node.name}: betas needs two numbers, got {len(p['betas'])}")
    if p.get("nesterov") and p.get("momentum", 0) <= 0:
        rep.error(node.id, f"{node.name}: Nesterov momentum needs momentum > 0")
    if p["lr"] == 0:
        rep.warn(node.id, f"{node.name}: lr = 0 never changes the weights")


def find_plan(ctx: CheckContext) -> tuple[Plan | None, list[str]]:
    """The nodes training would use, or the reasons it cannot start (user's words)."""
    g, rep = ctx.graph, ctx.report
    reasons: list[str] = []
    inputs = [n for n in g.nodes.values() if n.type == "Input"]
    fed = [(n, e.src) for n in inputs for e in ctx.in_edges[n.id] if e.dst_port == "data"]
    losses = [n for n in g.nodes.values() if n.spec.kind == "loss"]
    opts = [n for n in g.nodes.values() if n.spec.kind == "optimizer"]
    if not fed:
        reasons.append("connect a dataset (its data output) to the model's Input")
    elif len(inputs) > 1:
        reasons.append("training supports models with one Input")
    if not losses:
        reasons.append("add a loss (e.g. CrossEntropyLoss) fed by the model's output")
    elif len(losses) > 1:
        reasons.append(f"use one loss (found {', '.join(n.name for n in losses)})")
    if not opts:
        reasons.append("add an optimizer (e.g. Adam) and connect the loss to it")
    elif len(opts) > 1:
        reasons.append(f"use one optimizer (found {', '.join(n.name for n in opts)})")
    if reasons:
        return None, reasons
    inp, data = fed[0]
    loss, opt = losses[0], opts[0]
    src = _edge_src(ctx, loss, "input")
    tgt = _edge_src(ctx, loss, "target")
    if src is None or tgt is None:
        missing = " and ".join(
            what
            for what, end in (("the model's output to its input", src), ("its target", tgt))
            if end is None
        )
        return None, [f"{loss.name}: connect {missing}"]
    if _edge_src(ctx, opt, "loss") != loss.id:
        return None, [f"connect {loss.name} to {opt.name}"]

    try:
        chain = [s.node for s in chain_of(g, data)]
    except DataError as e:
        return None, [str(e)]
    if tgt not in chain:
        msg = (
            f"{loss.name}: its targets come from {g.nodes[tgt].name}, which is not in the data "
            f"chain feeding {inp.name}; connect the targets of {g.nodes[data].name}"
        )
        rep.error(loss.id, msg, port="target")
        return None, [msg]
    if src not in rep.outputs:
        if src not in rep.shapes:
            return None, []  # the model has errors upstream, reported there
        msg = f"{loss.name}: connect it to the model's output (not {g.nodes[src].name})"
        rep.error(loss.id, msg, port="input")
        return None, [msg]
    if len(rep.outputs) > 1:
        return None, ["training supports models with one output"]
    return Plan(inp.id, data, loss.id, opt.id, src, tgt), []


def finish(ctx: CheckContext) -> None:
    rep, g = ctx.report, ctx.graph
    kinds = {n.spec.kind for n in g.nodes.values()}
    plan, reasons = find_plan(ctx)
    if plan is not None:
        info = rep.data.get(plan.data)
        if info is not None and info.text_columns:
            msg = (
                f"{g.nodes[plan.data].name}: columns {', '.join(info.text_columns)} hold text; "
                "add a OneHot node before the model"
            )
            rep.error(plan.data, msg)
            reasons.append(msg)
    # The settings come from the project file as written: any JSON may be there.
    section = g.settings.get("training") if isinstance(g.settings, Mapping) else None
    if not isinstance(g.settings, Mapping):
        msg = (
            "project settings: expected named sections (an object), got "
            f"{type(g.settings).__name__}; training cannot read its settings"
        )
        rep.error(None, msg)
        reasons.append(msg)
    elif kinds & {"data", "loss", "optimizer"} or section:
        problems = settings_problems(section)
        for e in problems:
            rep.error(None, str(e))
            reasons.append(str(e))
        if not problems:
            settings = resolve_settings(section)
            info = rep.data.get(plan.data) if plan is not None else None
            if info is not None:
                metric = settings["monitor"].split("_", 1)[1]
                known = (
                    ("loss", "accuracy", "f1")
                    if info.task == "classification"
                    else ("loss", "mse", "mae", "r2")
                )
                if metric not in known:
                    msg = (
                        f"training settings: monitor {settings['monitor']} does not exist for a "
                        f"{info.task} task; choose one of " + ", ".join(f"val_{k}" for k in known)
                    )
                    rep.error(None, msg)
                    reasons.append(msg)
    if not rep.ok:
        errs = [d.message for d in rep.errors if d.message not in reasons]
        reasons.extend(errs[:5])
        if len(errs) > 5:
            reasons.append(f"… and {len(errs) - 5} more errors")
    node_of: dict[str, str | None] = {}
    for d in rep.diagnostics:
        node_of.setdefault(d.message, d.node)
    rep.set_training(
        Readiness(
            not reasons and plan is not None,
            tuple(Reason(m, node_of.get(m)) for m in reasons),
            plan,
        )
    )
