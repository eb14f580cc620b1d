"""What the lints ask of a checked graph: wires, the training plan, prepared data, settings."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.catalog.settings import resolve_settings, settings_problems
from engine.data.errors import DataError
from engine.data.pipeline import chain_of, prepare

if TYPE_CHECKING:
    from engine.analysis.report import CheckContext
    from engine.graph import Edge, Node

# Nodes a value passes through unchanged in meaning (the graph's plumbing).
PLUMBING = frozenset({"Output", "Identity"})


def is_model(node: Node) -> bool:
    return node.spec.kind in ("model", "io")


def tensor_in(ctx: CheckContext, nid: str) -> list[Edge]:
    """The edges into ``nid``'s tensor inputs."""
    node = ctx.graph.nodes[nid]
    tensor_ports = {p.name for p in node.spec.inputs if p.kind == "tensor"}
    return [e for e in ctx.in_edges[nid] if e.dst_port in tensor_ports]


def model_out(ctx: CheckContext, nid: str) -> list[Edge]:
    """The edges from ``nid`` to model nodes."""
    return [e for e in ctx.out_edges[nid] if is_model(ctx.graph.nodes[e.dst])]


def single_source(ctx: CheckContext, nid: str) -> Edge | None:
    edges = tensor_in(ctx, nid)
    return edges[0] if len(edges) == 1 else None


def layer_behind(ctx: CheckContext, nid: str | None) -> str | None:
    """``nid``, or the node behind it when it is plumbing (an Output, an Identity)."""
    seen = set()
    while nid is not None and nid not in seen and ctx.graph.nodes[nid].type in PLUMBING:
        seen.add(nid)
        e = single_source(ctx, nid)
        nid = e.src if e is not None else None
    return nid


def edge_src(ctx: CheckContext, nid: str, port: str) -> str | None:
    for e in ctx.in_edges[nid]:
        if e.dst_port == port:
            return e.src
    return None


def nodes_of_kind(ctx: CheckContext, kind: str) -> list[Node]:
    return [n for n in ctx.graph.nodes.values() if n.spec.kind == kind]


def plan(ctx: CheckContext) -> Any:
    """The nodes training would use (``engine.analysis.training_check.Plan``) or None."""
    return ctx.report.extra.get("train_plan")


def settings(ctx: CheckContext) -> dict[str, Any] | None:
    """The resolved training settings, or None when they are wrong (reported elsewhere)."""
    s = ctx.graph.settings
    section = s.get("training") if isinstance(s, Mapping) else None
    if section is not None and not isinstance(section, Mapping):
        return None
    if settings_problems(section):
        return None
    return resolve_settings(section)


def explicit_setting(ctx: CheckContext, name: str) -> bool:
    s = ctx.graph.settings
    section = s.get("training") if isinstance(s, Mapping) else None
    return isinstance(section, Mapping) and name in section


@dataclass(frozen=True)
class Stats:
    """Training-split statistics the data lints need, computed once per prepared data."""

    feature_std: np.ndarray | None  # per feature (tables only), None for images/streaming
    class_counts: dict[int, int] | None  # classification: train samples per class index
    all_class_counts: dict[int, int] | None  # classification: all splits together
    target_std: float | None  # regression: largest per-target std on the train split
    target_absmax: float | None
    target_min: float | None
    target_max: float | None


_stats: dict[int, tuple[Any, Stats]] = {}


def prepared(ctx: CheckContext, data_id: str) -> Any:
    """The prepared data of the chain ending at ``data_id`` (the check's cached result)."""
    try:
        prep = prepare(chain_of(ctx.graph, data_id), fit_streaming=False, finite=False)
    except DataError:
        return None
    return None if prep.problem is not None else prep  # NaN or inf: an error already


def stats(prep: Any) -> Stats:
    hit = _stats.get(id(prep))
    if hit is not None and hit[0] is prep:
        return hit[1]
    st = _compute(prep)
    if len(_stats) > 16:
        _stats.clear()
    _stats[id(prep)] = (prep, st)
    return st


def _compute(prep: Any) -> Stats:
    with warnings.catch_warnings():  # all-NaN columns: said by the data check, not here
        warnings.simplefilter("ignore", RuntimeWarning)
        return _compute_quietly(prep)


def _compute_quietly(prep: Any) -> Stats:
    info = prep.info
    fstd = None
    x = prep.x.get("train")
    if not info.streaming and isinstance(x, np.ndarray) and x.ndim == 2 and len(x) > 1:
        with np.errstate(all="ignore"):
            fstd = np.nanstd(np.asarray(x, np.float64), axis=0)
    counts = all_counts = None
    tstd = tmax = tlo = thi = None
    if info.task == "classification":
        y = np.asarray(prep.y.get("train", np.zeros(0)))
        if y.ndim == 1 and y.dtype.kind in "iu":
            counts = {int(k): int(v) for k, v in zip(*np.unique(y, return_counts=True))}
            everything = np.concatenate([np.asarray(v).reshape(-1) for v in prep.y.values()])
            all_counts = {
                int(k): int(v) for k, v in zip(*np.unique(everything, return_counts=True))
            }
    else:
        y = np.asarray(prep.y.get("train", np.zeros(0)), np.float64)
        if y.size > 1:
            y2 = y.reshape(len(y), -1)
            with np.errstate(all="ignore"):
                tstd = float(np.nanmax(np.nanstd(y2, axis=0)))
                tmax = float(np.nanmax(np.abs(y2)))
                tlo, thi = float(np.nanmin(y2)), float(np.nanmax(y2))
    return Stats(fstd, counts, all_counts, tstd, tmax, tlo, thi)


def chain_nodes(ctx: CheckContext, data_id: str) -> list[Node]:
    """The data nodes of the chain ending at ``data_id``, source first."""
    try:
        return [ctx.graph.nodes[s.node] for s in chain_of(ctx.graph, data_id)]
    except DataError:
        return []


def fmt(v: float) -> str:
    """A number for a message: 3 significant digits, no exponent for everyday sizes."""
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e6:
        return f"{v:.3g}"
    return f"{v:.2g}"
