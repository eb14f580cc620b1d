"""Layered layout of a graph: where each node goes so that a drawing reads left to right.

Used by the designer's auto-layout, by the bundled examples and by model import, so a graph
laid out anywhere looks the same. The rules, in the spirit of Sugiyama's layered drawing:

- nodes are split into *lanes*: the data chain (datasets, preprocessing), the model (inputs,
  layers, outputs) and training (loss, optimizer), drawn as horizontal bands, data on top;
- in a lane, a node's column is its longest path from a source of that lane, so a wire always
  runs to the right; branches in one column are stacked, ordered by the mean row of what feeds
  them (one barycentre pass), so parallel paths stay side by side;
- a lane longer than the drawing's aspect allows is *wrapped* into several bands, like text,
  so a 50-layer chain fits a screen at a readable scale instead of one thin row;
- training nodes go in their own lane under the model's last columns.

Positions are scene coordinates (top-left of each node), spaced by ``spacing``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from engine.graph import Graph, topological_order

SPACING = (220.0, 120.0)  # a node (~160×70 with its caption) and room for a wire's shape label
LANE_GAP = 0.4  # extra empty rows between lanes and between wrapped bands


@dataclass(frozen=True)
class _Lane:
    members: list[str]
    column: dict[str, int]
    row: dict[str, float]
    columns: dict[int, list[str]]


def _lane_of(graph: Graph, nid: str) -> int:
    """0: data chain, 1: model, 2: training (loss, optimizer)."""
    try:
        kind = graph.nodes[nid].spec.kind
    except KeyError:  # a type unknown here (a missing plugin): draw it with the model
        return 1
    if kind == "data":
        return 0
    if kind in ("loss", "optimizer", "target"):
        return 2
    return 1


def _topo(ids: list[str], succs: dict[str, list[str]]) -> list[str]:
    order, cyclic = topological_order(ids, succs.__getitem__)
    return order + [n for n in ids if n in cyclic]  # cycles: keep them, in graph order


def _lay_lane(graph: Graph, ids: list[str]) -> _Lane:
    inside = set(ids)
    preds: dict[str, list[str]] = {n: [] for n in ids}
    succs: dict[str, list[str]] = {n: [] for n in ids}
    for e in graph.edges:
        if e.src in inside and e.dst in inside and e.src != e.dst:
            preds[e.dst].append(e.src)
            succs[e.src].append(e.dst)
    topo = _topo(ids, succs)
    rank = {n: i for i, n in enumerate(topo)}
    column: dict[str, int] = {}
    for n in topo:
        column[n] = max((column[p] + 1 for p in preds[n] if p in column), default=0)
    columns: dict[int, list[str]] = {}
    for n in topo:
        columns.setdefault(column[n], []).append(n)
    row: dict[str, float] = {}
    for c in sorted(columns):
        members = columns[c]
        if c > 0:

            def key(n: str) -> tuple[float, int]:
                placed = [row[p] for p in preds[n] if p in row]
                return (sum(placed) / len(placed) if placed else math.inf, rank[n])

            members.sort(key=key)
        for i, n in enumerate(members):
            row[n] = float(i)
    return _Lane(topo, column, row, columns)


def layered_positions(
    graph: Graph,
    ids: Iterable[str] | None = None,
    *,
    spacing: tuple[float, float] = SPACING,
    aspect: float = 1.6,
    origin: tuple[float, float] | None = None,
) -> dict[str, tuple[float, float]]:
    """New positions for ``ids`` (all nodes by default), laid out in lanes and columns.

    ``aspect`` is the width/height the drawing aims for when a lane has to be wrapped;
    ``origin`` is the top-left corner (default: the top-left of the nodes' current
    positions, so laying out a selection keeps it where it is).
    """
    wanted = set(graph.nodes) if ids is None else set(ids) & set(graph.nodes)
    order = [n for n in graph.nodes if n in wanted]
    if not order:
        return {}
    if origin is None:
        if ids is None:
            origin = (0.0, 0.0)
        else:
            origin = (
                min(graph.nodes[n].pos[0] for n in order),
                min(graph.nodes[n].pos[1] for n in order),
            )
    gx, gy = spacing
    lanes: dict[int, list[str]] = {}
    for n in order:
        lanes.setdefault(_lane_of(graph, n), []).append(n)
    laid = {k: _lay_lane(graph, v) for k, v in lanes.items()}

    # One wrap width for every lane, so bands line up: the columns that make the whole
    # drawing closest to ``aspect`` (at least 4, and never more than the longest lane).
    longest = max(len(lane.columns) for lane in laid.values())
    tallest = max(len(m) for lane in laid.values() for m in lane.columns.values())
    wrap = longest
    if longest > 6:
        best = None
        for w in range(4, longest + 1):
            bands = sum(math.ceil(len(lane.columns) / w) for lane in laid.values())
            height = bands * (tallest + LANE_GAP) * gy
            score = abs(math.log((w * gx) / max(height, gy) / aspect))
            if best is None or score < best[0] - 1e-9:
                best = (score, w)
        assert best is not None
        wrap = best[1]

    out: dict[str, tuple[float, float]] = {}
    y = origin[1]
    model_cols = len(laid[1].columns) if 1 in laid else 0
    for k in sorted(laid):
        lane = laid[k]
        ncols = len(lane.columns)
        # training nodes sit under the end of the model, where the loss reads its output
        shift = 0
        if k == 2 and model_cols:
            shift = max(0, min(model_cols, wrap) - ncols)
        for band in range(math.ceil(ncols / wrap)):
            cols = [c for c in range(band * wrap, min(ncols, (band + 1) * wrap))]
            height = max(len(lane.columns[c]) for c in cols)
            for c in cols:
                members = lane.columns[c]
                top = (height - len(members)) / 2  # centre short columns in the band
                for n in members:
                    x = origin[0] + (c - band * wrap + shift) * gx
                    out[n] = (x, y + (top + lane.row[n]) * gy)
            y += (height + LANE_GAP) * gy
    return out


def lay_out(graph: Graph, ids: Iterable[str] | None = None, **kwargs: object) -> None:
    """Move the nodes to :func:`layered_positions` (through ``Graph.move``)."""
    for nid, pos in layered_positions(graph, ids, **kwargs).items():  # type: ignore[arg-type]
        graph.move(nid, pos)


NODE_SIZE = (170.0, 90.0)  # a drawn node with its caption, in scene units


def free_position(
    graph: Graph,
    *,
    near: tuple[float, float] | None = None,
    after: str | None = None,
    size: tuple[float, float] = NODE_SIZE,
    spacing: tuple[float, float] = SPACING,
) -> tuple[float, float]:
    """Where a new node goes: the free grid slot closest to where it belongs.

    ``after``: the node the new one will be wired after, so it goes one column to its right
    (or above/below that, if taken); ``near``: a point (the view's centre, a drop point).
    A slot is free when a node of ``size`` there overlaps no existing node, so adding
    nodes one after another never stacks them on top of each other.
    """
    gx, gy = spacing
    if after is not None and after in graph.nodes:
        ax, ay = graph.nodes[after].pos
        start, prefer_right = (ax + gx, ay), True
    elif near is not None:
        start, prefer_right = (float(near[0]), float(near[1])), False
    elif graph.nodes:
        start = (max(n.pos[0] for n in graph.nodes.values()) + gx, 0.0)
        start = (start[0], min(n.pos[1] for n in graph.nodes.values()))
        prefer_right = True
    else:
        return (0.0, 0.0)
    w, h = size
    boxes = [(n.pos[0], n.pos[1]) for n in graph.nodes.values()]

    def free(x: float, y: float) -> bool:
        return all(abs(x - bx) >= w or abs(y - by) >= h for bx, by in boxes)

    def cost(i: int, j: int) -> float:
        # rows first (a branch stacked beside its sibling), then columns; the left is last
        # when the new node follows ``after`` (a wire should run to the right)
        return abs(j) + abs(i) * 1.5 + (3.0 if prefer_right and i < 0 else 0.0) + 0.01 * j

    slots = sorted(
        ((i, j) for i in range(-6, 13) for j in range(-12, 13)), key=lambda ij: cost(*ij)
    )
    for i, j in slots:
        x, y = start[0] + i * gx, start[1] + j * gy
        if free(x, y):
            return (x, y)
    return (start[0], max(by for _, by in boxes) + gy)  # everything near is taken: below all
