"""The check of data nodes: each gets a ``DataInfo`` in ``report.data`` (cached loads)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from engine.analysis.report import CheckContext
from engine.data.errors import DataError
from engine.data.pipeline import chain_of, prepare
from engine.data.profile import clean_profile
from engine.graph import Node


def check_data_node(ctx: CheckContext, node: Node) -> None:
    rep = ctx.report
    try:
        steps = chain_of(ctx.graph, node.id)
    except DataError as e:
        if e.node in (None, node.id):
            rep.error(node.id, str(e), port="data")
        ctx.failed.add(node.id)
        return
    if any(s.node in ctx.failed for s in steps[:-1]):
        ctx.failed.add(node.id)  # reported upstream
        return
    try:
        prep = prepare(steps, fit_streaming=False, finite=False)
    except DataError as e:
        where = e.node or steps[0].node
        if where == node.id:
            rep.error(node.id, _named(ctx, node, str(e)))
        ctx.failed.add(node.id)
        return
    info = prep.info
    if node.type == "Augment" and len(info.feature_shape) != 3:
        rep.error(
            node.id,
            f"{node.name}: augments images (channels × height × width), but the data has "
            f"samples of shape {info.feature_shape}",
        )
        ctx.failed.add(node.id)
        return
    if node.type == "OneHot" and not info.streaming:
        upstream = _upstream_info(ctx, node)
        if upstream is not None and not upstream.text_columns and not node.params["columns"]:
            rep.warn(node.id, f"{node.name}: the data has no text columns to encode")
    if node.type == "Split" and info.splits and info.splits.get("train", 0) < 2:
        rep.warn(node.id, f"{node.name}: only {info.splits['train']} training samples")
    if prep.problem is not None and _feeds_model(ctx, node):
        # NaN or inf reaching the model: said on the dataset node, where the values come
        # from (the message names the file and column). The shapes stay known downstream.
        src = ctx.graph.nodes[steps[0].node]
        rep.error(src.id, _named(ctx, src, str(prep.problem)))
    if node.type == "Clean":  # what it finds: missing cells, outliers, a hint to clip
        info = replace(info, notes=(*info.notes, *clean_profile(ctx.graph, node.id)))
    rep.data[node.id] = info


def _feeds_model(ctx: CheckContext, node: Node) -> bool:
    """Whether the node's data output goes to a model's Input (not only to data nodes)."""
    return any(
        e.src_port == "data" and ctx.graph.nodes[e.dst].spec.kind != "data"
        for e in ctx.out_edges[node.id]
    )


def _upstream_info(ctx: CheckContext, node: Node) -> Any:
    for e in ctx.in_edges[node.id]:
        if e.dst_port == "data":
            return ctx.report.data.get(e.src)
    return None


def _named(ctx: CheckContext, node: Node, message: str) -> str:
    if node.spec.extra.get("role") == "dataset" and node.params.get("path"):
        return f"{node.name}: {message}"
    if message.startswith(f"{node.type}:"):
        return node.name + message[len(node.type) :]
    return f"{node.name}: {message}"
