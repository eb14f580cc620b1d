"""Checks a graph: order, cycles, per-node shapes, parameter and MAC counts, memory, problems.

Shapes come from running each node's real torch module on the ``meta`` device, through
the very lines of ``forward`` the compiler writes (see ``NodeSpec.call``), so a new layer
type needs no shape code. Results are cached per (type, parameters, input shapes), which
keeps a live check after one edit of a large graph cheap.

Two rules hold whatever the graph: every node ends up either evaluated (in the model the
compiler writes) or named in an error, so nothing silently drops out of the model; and
a model whose weights cannot fit in memory is an error here, before anything is allocated
(shapes and sizes come from the meta device, which allocates nothing).
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from engine import shape_cache
from engine.bulk import bulk
from engine.catalog.base import NodeSpec, Shape
from engine.fixes import Fix, insert_fix
from engine.graph import Edge, Graph, Node, topological_order
from engine.memo import Memo, freeze

Severity = Literal["error", "warning"]
CHECK_BATCH = 2  # BatchNorm refuses a batch of one, even on meta


@dataclass(frozen=True)
class Diagnostic:
    """One problem, attached to a node (and port), in the user's terms.

    ``fix`` is an obvious repair a GUI may offer (``engine.fixes.Fix``: a label and the op
    that does it, built for the graph that was checked).
    """

    node: str | None
    severity: Severity
    message: str
    port: str | None = None
    fix: Fix | None = None
    lint: str | None = None  # the id of the lint that found it (engine.lints), if one did
    silenced: str | None = None  # the user's reason, for a lint silenced on its node

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        d = {"node": self.node, "severity": self.severity, "message": self.message}
        if self.port:
            d["port"] = self.port
        if self.fix is not None:
            d["fix"] = self.fix.to_dict()
        if self.lint:
            d["lint"] = self.lint
        if self.silenced is not None:
            d["silenced"] = self.silenced
        return d


@dataclass(frozen=True)
class Reason:
    """One thing that keeps the graph from training, and the node it is about (if any)."""

    message: str
    node: str | None = None


@dataclass(frozen=True)
class Readiness:
    """The training verdict: one typed section the Training dock and status bar both read."""

    ready: bool
    reasons: tuple[Reason, ...] = ()
    plan: Any = None  # engine.train.check.Plan: which nodes training uses (None: cannot)

    @property
    def messages(self) -> list[str]:
        return [r.message for r in self.reasons]


@dataclass
class Report:
    """What ``check`` found. Shapes are per sample (batch excluded)."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    # lints the user silenced on their node (with the reason): listed, never counted
    silenced: list[Diagnostic] = field(default_factory=list)
    shapes: dict[str, Shape] = field(default_factory=dict)  # the first output's
    dtypes: dict[str, torch.dtype] = field(default_factory=dict)
    # every live output port's shape and dtype: (node id, port name) -> ...
    port_shapes: dict[tuple[str, str], Shape] = field(default_factory=dict)
    port_dtypes: dict[tuple[str, str], torch.dtype] = field(default_factory=dict)
    params: dict[str, int] = field(default_factory=dict)
    macs: dict[str, int] = field(default_factory=dict)
    # bytes of each model node's weights (parameters and buffers), from the meta device
    param_bytes: dict[str, int] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    # model nodes the user froze (transfer learning): their weights are not trained
    frozen: set[str] = field(default_factory=set)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    model_nodes: list[str] = field(default_factory=list)
    # model nodes wired to nothing of the model (a node dropped and not yet connected):
    # warned about and left out of ``order``, so one stray node does not fail the graph
    left_out: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    # the training verdict (set by the training checks; None when nothing of training is
    # declared); ``extra["ready_to_train"|"train_reasons"|"train_plan"]`` mirror it
    training: Readiness | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # block instance id -> the Report of its inner graph, checked with the shapes that
    # arrive at the instance (inner ids are the block's own node ids; nested instances
    # have their own ``inner``). Its ``graph`` is the inner graph with the instance's
    # parameters set.
    inner: dict[str, Report] = field(default_factory=dict)
    graph: Graph | None = field(default=None, repr=False, compare=False)
    _names: dict[str, str] = field(default_factory=dict, repr=False)
    _types: dict[str, str] = field(default_factory=dict, repr=False)
    # node id -> its diagnostics, so for_node is O(1) for a GUI asking about every node;
    # rebuilt if ``diagnostics`` was changed other than through error()/warn()
    _by_node: dict[str | None, list[Diagnostic]] = field(default_factory=dict, repr=False)
    _indexed: int = field(default=0, repr=False)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def total_params(self) -> int:
        return sum(self.params.values())

    @property
    def trainable_params(self) -> int:
        """Parameters training changes: all but those of frozen nodes."""
        return sum(n for nid, n in self.params.items() if nid not in self.frozen)

    @property
    def frozen_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def total_macs(self) -> int:
        return sum(self.macs.values())

    @property
    def total_param_bytes(self) -> int:
        return sum(self.param_bytes.values())

    def shape_of(self, node_id: str, port: str | None = None) -> Shape | None:
        """The shape on one output port (the first when ``port`` is None), if known."""
        if port is None:
            return self.shapes.get(node_id)
        return self.port_shapes.get((node_id, port))

    def for_node(self, node_id: str | None) -> list[Diagnostic]:
        """The diagnostics attached to ``node_id``, in the order they were found."""
        return list(self._node_index().get(node_id, ()))

    def _node_index(self) -> dict[str | None, list[Diagnostic]]:
        diags = self.diagnostics
        n = self._indexed
        if n > len(diags) or (
            n and self._by_node.get(diags[n - 1].node, [None])[-1] is not diags[n - 1]
        ):
            self._by_node, n = {}, 0  # changed behind our back: index again
        for d in diags[n:]:
            self._by_node.setdefault(d.node, []).append(d)
        self._indexed = len(diags)
        return self._by_node

    def set_training(self, verdict: Readiness) -> None:
        """Record the training verdict (and its untyped mirror in ``extra``, for scripts)."""
        self.training = verdict
        self.extra["ready_to_train"] = verdict.ready
        self.extra["train_reasons"] = verdict.messages
        self.extra["train_plan"] = verdict.plan

    def error(self, node: str | None, message: str, **kw: Any) -> None:
        self.diagnostics.append(Diagnostic(node, "error", message, **kw))

    def warn(self, node: str | None, message: str, **kw: Any) -> None:
        self.diagnostics.append(Diagnostic(node, "warning", message, **kw))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "total_macs": self.total_macs,
            "total_param_bytes": self.total_param_bytes,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "nodes": {
                nid: {
                    "name": self._names.get(nid, nid),
                    "type": self._types.get(nid, ""),
                    "shape": list(self.shapes[nid]) if nid in self.shapes else None,
                    "dtype": str(self.dtypes[nid]).replace("torch.", "")
                    if nid in self.dtypes
                    else None,
                    **(
                        {
                            "ports": {
                                port: list(s)
                                for (n, port), s in self.port_shapes.items()
                                if n == nid
                            }
                        }
                        if sum(1 for n, _ in self.port_shapes if n == nid) > 1
                        else {}
                    ),
                    "params": self.params.get(nid, 0),
                    "macs": self.macs.get(nid, 0),
                    "param_bytes": self.param_bytes.get(nid, 0),
                }
                for nid in self.order
            },
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "silenced": [d.to_dict() for d in self.silenced],
        }


# Checkers for node kinds other than the model's (datasets, preprocessing, losses,
# optimizers) register here: fn(ctx, node) fills ctx.report for that node.
Checker = Callable[["CheckContext", Node], None]
_CHECKERS: dict[str, Checker] = {}
# Whole-graph passes run after every node was visited (e.g. "is it ready to train").
_FINISHERS: list[Callable[[CheckContext], None]] = []


def register_checker(kind: str, fn: Checker) -> None:
    _CHECKERS[kind] = fn


def register_finisher(fn: Callable[[CheckContext], None]) -> None:
    if fn not in _FINISHERS:
        _FINISHERS.append(fn)


@dataclass
class CheckContext:
    graph: Graph
    report: Report
    in_edges: dict[str, list[Edge]]
    out_edges: dict[str, list[Edge]]
    failed: set[str] = field(default_factory=set)
    feed: dict[str, tuple[Shape, torch.dtype]] | None = None

    def label(self, node_id: str) -> str:
        return self.graph.nodes[node_id].name


def check(graph: Graph) -> Report:
    """Check ``graph``; never raises for a problem in the graph, reports it instead."""
    with bulk():
        rep = _check(graph)
    shape_cache.flush()  # new shapes to disk for the next process (rate-limited)
    return rep


def _check(graph: Graph, feed: dict[str, tuple[Shape, torch.dtype]] | None = None) -> Report:
    """``feed``: shapes and dtypes for the Input nodes of a block's inner graph; such a
    check (of one instance) skips the whole-model passes: memory, finishers and lints."""
    from engine import catalog

    catalog.all_specs()  # make sure every declaration module has registered
    rep = Report(graph=graph)
    rep._names = {nid: n.name for nid, n in graph.nodes.items()}
    rep._types = {nid: n.type for nid, n in graph.nodes.items()}
    rep.frozen = {nid for nid, n in graph.nodes.items() if n.frozen}
    ins, outs = _edges(graph)
    ctx = CheckContext(graph, rep, ins, outs, feed=feed)

    order, cyclic = _topo(graph, outs)
    stray = _stray_nodes(graph, ins, outs)
    order = [nid for nid in order if nid not in stray]
    cyclic -= stray
    rep.order = order
    rep.left_out = [nid for nid in graph.nodes if nid in stray]
    for nid in rep.left_out:
        rep.warn(
            nid,
            f"{graph.nodes[nid].name}: not connected to the model, so it is left out; "
            "wire it in or delete it",
        )
    _report_cycles(ctx, cyclic)

    for nid in order:
        node = graph.nodes[nid]
        spec = node.spec
        if spec.kind in ("model", "io"):
            _check_model_node(ctx, node, spec)
        elif spec.kind in _CHECKERS:
            _CHECKERS[spec.kind](ctx, node)

    _find_outputs(ctx)
    if feed is not None:
        _no_silent_drops(ctx)
        return rep
    _check_memory(ctx)
    for fn in _FINISHERS:
        fn(ctx)
    from engine.lints import run_lints

    run_lints(ctx)
    _no_silent_drops(ctx)
    return rep


def _edges(graph: Graph) -> tuple[dict[str, list[Edge]], dict[str, list[Edge]]]:
    """Each node's incoming edges (in its input ports' order) and outgoing edges."""
    ins: dict[str, list[Edge]] = {nid: [] for nid in graph.nodes}
    outs: dict[str, list[Edge]] = {nid: [] for nid in graph.nodes}
    for e in graph.edges:
        ins[e.dst].append(e)
        outs[e.src].append(e)
    for nid, lst in ins.items():
        order = {p.name: i for i, p in enumerate(graph.nodes[nid].spec.inputs)}
        lst.sort(key=lambda e: order.get(e.dst_port, 99))
    return ins, outs


def inner_context(inner: Report) -> CheckContext:
    """A context over a block instance's checked inner graph, as the lints read one (the
    inner check itself runs no lints: ``engine.lints.run_lints`` runs them once per block
    definition). Nothing in it is written back to ``inner``, which the definition caches."""
    assert inner.graph is not None
    ins, outs = _edges(inner.graph)
    feed = {nid: (inner.shapes[nid], inner.dtypes[nid]) for nid in inner.inputs}
    return CheckContext(inner.graph, inner, ins, outs, feed=feed)


# -- order and cycles ----------------------------------------------------------------------
def _stray_nodes(graph: Graph, ins: dict[str, list[Edge]], outs: dict[str, list[Edge]]) -> set[str]:
    """Model nodes left over beside a working model: warned about and left out.

    A group of model nodes wired only among themselves, with no Input or Output among
    them and nothing outside the model (a loss) reading them, cannot be part of the
    model. While another group holds a real model (an Input and a layer) such a group is
    most likely a node just dropped on the canvas, so it must not fail the whole graph.
    Without a real model it is kept: its "no input connected" is then the next step.
    """
    model = {nid for nid, n in graph.nodes.items() if n.spec.kind in ("model", "io")}
    seen: set[str] = set()
    groups: list[set[str]] = []
    for start in graph.nodes:
        if start not in model or start in seen:
            continue
        group = {start}
        todo = [start]
        while todo:
            nid = todo.pop()
            for nb in [e.src for e in ins[nid]] + [e.dst for e in outs[nid]]:
                if nb in model and nb not in group:
                    group.add(nb)
                    todo.append(nb)
        seen |= group
        groups.append(group)

    def anchored(group: set[str]) -> bool:
        if any(graph.nodes[n].type in ("Input", "Output") for n in group):
            return True
        return any(e.dst not in model for n in group for e in outs[n]) or any(
            e.src not in model for n in group for e in ins[n]
        )

    def real(group: set[str]) -> bool:
        types = [graph.nodes[n].type for n in group]
        return "Input" in types and any(t != "Input" for t in types)

    if not any(real(g) for g in groups):
        return set()
    return {n for g in groups if not anchored(g) for n in g}


def _topo(graph: Graph, outs: dict[str, list[Edge]]) -> tuple[list[str], set[str]]:
    return topological_order(graph.nodes, lambda nid: (e.dst for e in outs[nid]))


def _report_cycles(ctx: CheckContext, cyclic: set[str]) -> None:
    """Name every node the topological order could not place: on a cycle, or after one.

    ``cyclic`` (what Kahn's algorithm left) holds the cycles' nodes and everything
    downstream of them. Strongly connected components tell the two apart; a walk that
    follows "the first way out" can leave the cycle and miss it (the old bug).
    """
    if not cyclic:
        return
    g, rep = ctx.graph, ctx.report
    ctx.failed.update(cyclic)
    succ = {n: [e.dst for e in ctx.out_edges[n] if e.dst in cyclic] for n in cyclic}
    ordered = [n for n in g.nodes if n in cyclic]  # graph order: stable messages
    rank = {n: i for i, n in enumerate(ordered)}
    which: dict[str, str] = {}  # node -> the text naming the cycle it is on or after
    for comp in strongly_connected(ordered, succ):
        if len(comp) == 1 and comp[0] not in succ[comp[0]]:
            continue  # not on a cycle itself: downstream of one
        cycle = _one_cycle(comp, succ, rank)
        names = _path_text([g.nodes[n].name for n in [*cycle, cycle[0]]])
        on = set(cycle)
        for n in sorted(comp, key=rank.__getitem__):
            name = g.nodes[n].name
            if n in on:
                rep.error(n, f"{name}: cycle through {names}")
            else:
                rep.error(n, f"{name}: part of the cycle through {names}")
            which[n] = names
    # downstream nodes: breadth-first from the cycles, each names the nearest cycle
    queue = [n for n in ordered if n in which]
    i = 0
    while i < len(queue):
        n = queue[i]
        i += 1
        for m in succ[n]:
            if m not in which:
                which[m] = which[n]
                queue.append(m)
                rep.error(
                    m,
                    f"{g.nodes[m].name}: downstream of the cycle through {which[n]}; it cannot "
                    "be evaluated until the cycle is broken",
                )


def strongly_connected(nodes: Sequence[str], succ: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iterative (no recursion limit at 100k nodes).

    Components come out in reverse topological order; each lists its nodes.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(succ.get(root, ())))]
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ.get(w, ()))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    u = work[-1][0]
                    low[u] = min(low[u], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    out.append(comp)
    return out


def _one_cycle(comp: list[str], succ: dict[str, list[str]], rank: dict[str, int]) -> list[str]:
    """A shortest cycle through the component's first node (in graph order), by BFS."""
    members = set(comp)
    first = min(comp, key=rank.__getitem__)
    parent: dict[str, str] = {}
    queue, i = [first], 0
    while i < len(queue):
        n = queue[i]
        i += 1
        for m in succ[n]:
            if m == first:
                path = [n]
                while path[-1] != first:
                    path.append(parent[path[-1]])
                return path[::-1]
            if m in members and m not in parent:
                parent[m] = n
                queue.append(m)
    return [first]  # unreachable for a real component


def _path_text(names: list[str], most: int = 12) -> str:
    if len(names) <= most:
        return " → ".join(names)
    head, tail = names[: most - 3], names[-2:]
    return " → ".join([*head, f"… ({len(names) - len(head) - len(tail)} more)", *tail])


def _no_silent_drops(ctx: CheckContext) -> None:
    """Every model node has a shape or an error on itself or upstream; else it gets one.

    A safety net for the rule in the module docstring: a node whose failure is explained
    upstream stays quiet (one mistake, one error), anything else is named.
    """
    g, rep = ctx.graph, ctx.report
    blamed = {d.node for d in rep.diagnostics if d.severity == "error" and d.node is not None}
    explained: set[str] = set()
    placed = set(rep.order)
    for nid in [*rep.order, *(n for n in g.nodes if n not in placed)]:
        if nid in blamed or any(e.src in explained for e in ctx.in_edges[nid]):
            explained.add(nid)
    left_out = set(rep.left_out)
    for nid, node in g.nodes.items():
        if nid in left_out:
            continue
        if node.spec.kind in ("model", "io") and nid not in rep.shapes and nid not in explained:
            rep.error(nid, f"{node.name}: could not be evaluated, so it is not in the model")


# -- model nodes ---------------------------------------------------------------------------
def _fmt(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(v) for v in shape) + ("," if len(shape) == 1 else "") + ")"


def _dtype_name(dt: torch.dtype) -> str:
    return str(dt).replace("torch.", "")


def input_slots(spec: NodeSpec, edges: Sequence[Edge]) -> list[Edge | None]:
    """The node's tensor inputs in port order, as its ``call`` takes them: every edge of a
    multi port, the edge of a single port, ``None`` for an optional port left unconnected
    (a required one left unconnected is the check's error, and left out here)."""
    slots: list[Edge | None] = []
    for port in spec.inputs:
        if port.kind != "tensor":
            continue
        mine = [e for e in edges if e.dst_port == port.name]
        if port.multi:
            slots.extend(mine)
        elif mine:
            slots.append(mine[0])
        elif port.optional:
            slots.append(None)
    return slots


def _check_model_node(ctx: CheckContext, node: Node, spec: NodeSpec) -> None:
    rep, nid, name = ctx.report, node.id, node.name
    edges = ctx.in_edges[nid]
    if node.type == "Input":
        _check_input(ctx, node)
        return

    tensor_ports = [p for p in spec.inputs if p.kind == "tensor"]
    for port in tensor_ports:
        if not port.optional and not any(e.dst_port == port.name for e in edges):
            if len(tensor_ports) == 1:
                rep.error(nid, f"{name}: no input connected", port=port.name)
            else:
                rep.error(nid, f"{name}: nothing connected to {port.name}", port=port.name)
            ctx.failed.add(nid)
    if nid in ctx.failed:
        return
    slots = input_slots(spec, edges)
    tensor_edges = [e for e in slots if e is not None]
    for e in tensor_edges:
        if e.src in ctx.failed or (e.src, e.src_port) not in rep.port_shapes:
            if e.src not in ctx.failed and e.src in rep.shapes:  # the source is fine
                src = ctx.graph.nodes[e.src]
                live = ", ".join(p.name for p in src.spec.live_outputs(src.params))
                rep.error(
                    nid,
                    f"{name}: {src.name}.{e.src_port} is not an output its parameters make "
                    f"(it has {live})",
                    port=e.dst_port,
                )
            ctx.failed.add(nid)  # else the problem is upstream, and reported there
            return
    in_shapes: list[Shape | None] = [
        None if e is None else rep.port_shapes[(e.src, e.src_port)] for e in slots
    ]
    in_dtypes: list[torch.dtype | None] = [
        None if e is None else rep.port_dtypes[(e.src, e.src_port)] for e in slots
    ]
    connected = [(e, s, d) for e, s, d in zip(slots, in_shapes, in_dtypes, strict=True) if e]
    if "block" in spec.extra:
        _check_instance(
            ctx,
            node,
            spec,
            [sh for sh in in_shapes if sh is not None],
            [dt for dt in in_dtypes if dt is not None],
        )
        return

    problems: list[str] = []
    if spec.ranks is not None:
        for e, s, _ in connected:
            if len(s) not in spec.ranks:
                want = " or ".join(f"{r}-D" for r in spec.ranks)
                problems.append(
                    f"expects a {want} sample, but {ctx.label(e.src)} gives {_fmt(s)} ({len(s)}-D)"
                )
    port_dtype = {p.name: p.dtype or spec.input_dtype for p in tensor_ports}
    for e, _, dt in connected:
        want = port_dtype.get(e.dst_port, spec.input_dtype)
        if want == "float" and not dt.is_floating_point:
            problems.append(
                f"needs float input, but {ctx.label(e.src)} gives {_dtype_name(dt)} "
                "(token ids feed an Embedding)"
            )
        elif want == "long" and dt.is_floating_point:
            problems.append(
                f"needs integer token ids (int64), but {ctx.label(e.src)} gives "
                f"{_dtype_name(dt)}; set the Input's dtype to int64"
            )
    if not problems and spec.validate is not None:
        problems.extend(
            spec.validate(
                node.params, in_shapes, ["" if e is None else ctx.label(e.src) for e in slots]
            )
        )
    if problems:
        for p in problems:
            rep.error(nid, f"{name}: {p}")
        ctx.failed.add(nid)
        return

    try:
        ev = evaluate(spec, node.params, in_shapes, in_dtypes)
    except NodeFailure as f:
        rep.error(nid, f"{name}: {f}")
        ctx.failed.add(nid)
        return
    rep.shapes[nid], rep.dtypes[nid] = ev.shape, ev.dtype
    for port, shape, dtype in zip(
        spec.live_outputs(node.params), ev.shapes, ev.dtypes, strict=True
    ):
        rep.port_shapes[(nid, port.name)], rep.port_dtypes[(nid, port.name)] = shape, dtype
    rep.params[nid], rep.macs[nid] = ev.params, ev.macs
    rep.param_bytes[nid] = ev.param_bytes
    rep.model_nodes.append(nid)
    _warnings(ctx, node, spec, tensor_edges, in_shapes)


def _check_instance(
    ctx: CheckContext,
    node: Node,
    spec: NodeSpec,
    in_shapes: list[Shape],
    in_dtypes: list[torch.dtype],
) -> None:
    """A block instance: its inner graph checked with the arriving shapes (cached per
    definition); its errors are the instance's, named "instance › inner node: …"."""
    rep, nid = ctx.report, node.id
    d = ctx.graph.blocks.get(node.type)
    if d is None or d.spec is not spec:
        rep.error(nid, f"{node.name}: the block {node.type} is not registered in this graph")
        ctx.failed.add(nid)
        return
    key = (freeze(node.params), tuple(map(tuple, in_shapes)), tuple(in_dtypes))
    inner = d.cache.get(key)
    if inner is None:
        feed = dict(zip(d.inputs, zip(in_shapes, in_dtypes, strict=True), strict=True))
        inner = _check(d.instantiate(node.params), feed)
        d.cache[key] = inner
    rep.inner[nid] = inner
    if not inner.ok:
        from engine.blocks import SEP

        for diag in inner.errors:
            rep.error(nid, f"{node.name}{SEP}{diag.message}")
        ctx.failed.add(nid)
        return
    # one port per inner Output, in the definition's port order (not the inner check's)
    for port, out in zip(spec.outputs, d.outputs, strict=True):
        rep.port_shapes[(nid, port.name)] = inner.shapes[out]
        rep.port_dtypes[(nid, port.name)] = inner.dtypes[out]
    first = d.outputs[0]
    rep.shapes[nid], rep.dtypes[nid] = inner.shapes[first], inner.dtypes[first]
    rep.params[nid], rep.macs[nid] = inner.total_params, inner.total_macs
    rep.param_bytes[nid] = inner.total_param_bytes
    rep.model_nodes.append(nid)


def _check_input(ctx: CheckContext, node: Node) -> None:
    rep, nid = ctx.report, node.id
    shape = tuple(node.params["shape"])
    dtype = torch.int64 if node.params["dtype"] == "int64" else torch.float32
    if ctx.feed is not None and nid in ctx.feed:  # a block's input: what arrives
        fed, fed_dtype = ctx.feed[nid]
        rep.shapes[nid], rep.dtypes[nid] = tuple(fed), fed_dtype
        rep.port_shapes[(nid, "output")] = rep.shapes[nid]
        rep.port_dtypes[(nid, "output")] = fed_dtype
        rep.params[nid] = rep.macs[nid] = rep.param_bytes[nid] = 0
        rep.inputs.append(nid)
        rep.model_nodes.append(nid)
        return
    data_edges = [e for e in ctx.in_edges[nid] if e.dst_port == "data"]
    if data_edges:
        src = data_edges[0].src
        info = rep.data.get(src)
        if info is None:
            ctx.failed.add(nid)
            return
        fshape = getattr(info, "feature_shape", None)
        if fshape is not None:
            shape = tuple(fshape)
        fdt = getattr(info, "feature_dtype", None)
        if fdt is not None:
            dtype = fdt
    if not shape:
        rep.error(nid, f"{node.name}: the sample shape is empty")
        ctx.failed.add(nid)
        return
    rep.shapes[nid], rep.dtypes[nid] = shape, dtype
    rep.port_shapes[(nid, "output")], rep.port_dtypes[(nid, "output")] = shape, dtype
    rep.params[nid] = rep.macs[nid] = rep.param_bytes[nid] = 0
    rep.inputs.append(nid)
    rep.model_nodes.append(nid)


def _warnings(
    ctx: CheckContext, node: Node, spec: NodeSpec, edges: list[Edge], in_shapes: list[Shape]
) -> None:
    rep = ctx.report
    if node.type in ("Linear", "Maxout") and in_shapes and len(in_shapes[0]) >= 3:
        e = edges[0]
        rep.warn(
            node.id,
            f"{node.name}: gets {_fmt(in_shapes[0])} from {ctx.label(e.src)} and acts on the "
            "last dimension only; insert a Flatten before it?",
            port=e.dst_port,
            fix=insert_fix(ctx.graph, "Flatten", e),
        )
    if node.type in ("Dropout", "Dropout2d") and node.params["p"] >= 1.0:
        rep.warn(node.id, f"{node.name}: p = 1 zeroes everything while training")


def _find_outputs(ctx: CheckContext) -> None:
    """Model outputs: the Output nodes, or else the one model node nothing else reads."""
    g, rep = ctx.graph, ctx.report
    model = [nid for nid in rep.order if g.nodes[nid].spec.kind in ("model", "io")]
    explicit = [nid for nid in model if g.nodes[nid].type == "Output"]
    model_set = set(model)

    def consumers(nid: str) -> list[str]:
        return [e.dst for e in ctx.out_edges[nid] if e.dst in model_set]

    if explicit:
        rep.outputs = [nid for nid in explicit if nid in rep.shapes]
        return  # unused nodes and inputs: the lints unused-output, unused-input
    sinks = [nid for nid in model if not consumers(nid) and g.nodes[nid].type != "Input"]
    if len(sinks) > 1:
        names = ", ".join(g.nodes[n].name for n in sinks)
        for n in sinks:
            rep.error(
                n,
                f"{g.nodes[n].name}: the model ends in several places ({names}); "
                "mark each model output with an Output node",
            )
    elif sinks and sinks[0] in rep.shapes:
        rep.outputs = [sinks[0]]
    if not model:
        return
    if not any(g.nodes[n].type == "Input" for n in model):
        rep.error(None, "the model has no Input node")


# -- memory --------------------------------------------------------------------------------
# Weights + gradients + optimizer state, as a multiple of the weights (Adam keeps two
# moments, SGD with momentum one buffer, RMSprop/Adagrad one running average).
_TRAINING_FACTOR = {"Adam": 4, "AdamW": 4, "RMSprop": 3, "Adagrad": 3}
GB = 1024**3


def _check_memory(ctx: CheckContext) -> None:
    """Weights over the memory limit: an error on the biggest nodes, before allocating.

    Training needs the weights' gradients and the optimizer's state too; that total over
    the limit is only a warning (activations and the batch are not counted at all).
    """
    rep, g = ctx.report, ctx.graph
    total = rep.total_param_bytes
    limit, where = memory_limit(g)
    for nid in rep.model_nodes:  # one sample's output alone too big (e.g. 10^8 channels)
        shape, dtype = rep.shapes[nid], rep.dtypes[nid]
        out = math.prod(shape) * dtype.itemsize
        if out > limit:
            rep.error(
                nid,
                f"{g.nodes[nid].name}: its output for one sample {_fmt(shape)} needs "
                f"{format_bytes(out)}, more than the {format_bytes(limit)} {where}",
            )
    if total == 0:
        return
    biggest = sorted(rep.param_bytes, key=rep.param_bytes.__getitem__, reverse=True)
    if total > limit:
        # blame the few nodes that make most of it (each alone over the limit, or the
        # top ones until they are half the total), never fewer than one
        blamed, acc = [], 0
        for nid in biggest:
            b = rep.param_bytes[nid]
            if blamed and b <= limit and (acc >= total / 2 or len(blamed) >= 5):
                break
            blamed.append(nid)
            acc += b
        for nid in blamed:
            node = g.nodes[nid]
            alone = rep.param_bytes[nid]
            rep.error(
                nid,
                f"{node.name}: its weights need {format_bytes(alone)}"
                + ("" if alone == total else f" of the model's {format_bytes(total)}")
                + f", more than the {format_bytes(limit)} {where}; make it smaller",
            )
        return
    factor, opt = _training_factor(g)
    if total * factor > limit:
        nid = biggest[0]
        rep.warn(
            nid,
            f"{g.nodes[nid].name}: training this model needs about "
            f"{format_bytes(total * factor)} (weights {format_bytes(total)} × {factor} "
            f"with gradients and {opt} state), more than the {format_bytes(limit)} {where}",
        )


def _training_factor(g: Graph) -> tuple[int, str]:
    for n in g.nodes.values():
        if n.spec.kind == "optimizer":
            if n.type in _TRAINING_FACTOR:
                return _TRAINING_FACTOR[n.type], n.type
            momentum = n.params.get("momentum", 0) or 0
            return (3 if momentum > 0 else 2), n.type
    return 4, "Adam-like optimizer"


def memory_limit(g: Graph) -> tuple[int, str]:
    """The most bytes a model's weights may take, and the words naming that limit.

    ``max_model_memory_gb`` in the training settings; 0 (the default) means this
    machine's memory, or the GPU's if smaller when training would run on CUDA.
    """
    from engine.train.settings import TRAINING_SETTINGS

    training = g.settings.get("training") if isinstance(g.settings, dict) else None
    device, gb = "auto", 0.0
    if isinstance(training, dict):
        for p in TRAINING_SETTINGS:
            if p.name in ("max_model_memory_gb", "device") and p.name in training:
                try:
                    value = p.coerce(training[p.name])
                except (TypeError, ValueError):
                    continue  # reported by the training settings' own check
                if p.name == "device":
                    device = value
                else:
                    gb = value
    if gb > 0 and math.isfinite(gb * GB):
        return int(min(gb * GB, 2**62)), "allowed (max_model_memory_gb)"
    ram, gpu = _machine_memory(device in ("auto", "cuda"))
    if gpu and gpu < ram:
        return gpu, "the GPU has"
    return ram, "this machine has"


@functools.lru_cache(maxsize=4)
def _machine_memory(cuda: bool) -> tuple[int, int]:
    """(physical memory, first CUDA device's memory or 0); asked once per process."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a small machine
        ram = 16 * GB
    gpu = 0
    if cuda:
        try:
            if torch.cuda.is_available():
                gpu = int(torch.cuda.get_device_properties(0).total_memory)
        except Exception:  # a broken driver is the training's problem, not the check's
            gpu = 0
    return int(ram), gpu


def format_bytes(n: float) -> str:
    """Bytes for people: 512 B, 3.2 MB, 40.0 GB, 7.3 TB (powers of 1024)."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PB"  # pragma: no cover


# -- evaluation on meta -------------------------------------------------------------------
class NodeFailure(Exception):
    """torch refused the node; the message is rewritten in the user's terms."""


class Evaluation(NamedTuple):
    """One node run on meta: output shape (per sample) and dtype, weights, cost."""

    shape: Shape  # the first output's
    dtype: torch.dtype
    params: int
    macs: int
    param_bytes: int  # parameters and buffers, as the real module would allocate them
    shapes: tuple[Shape, ...] = ()  # every live output's, in port order
    dtypes: tuple[torch.dtype, ...] = ()


_cache: Memo[Evaluation] = Memo(8192, remember=(NodeFailure,))
_call_fns: dict[tuple[str, ...], Callable[..., Any]] = {}


def call_function(
    spec: NodeSpec, params: dict[str, Any], n_inputs: int, absent: Sequence[int] = ()
) -> Callable[..., Any]:
    """The node's forward lines as a function ``f(m, x0, x1, ...)`` (cached by source).

    The lines hold no user text: the names are fixed here (``m``, ``x0``…, ``y``) and a
    spec's ``call`` puts parameters in only as numbers or ``repr()`` literals. The
    namespace matches the compiled module's imports, so a line that runs here runs there.
    ``absent`` are the optional inputs left unconnected (the call sees ``None`` for them).
    A multi-output node's function returns a tuple, one tensor per live output.
    """
    args = [f"x{i}" for i in range(n_inputs)]
    ins = [None if i in absent else a for i, a in enumerate(args)]
    n_out = len(spec.live_outputs(params))
    outs: Any = tuple(f"y{i}" for i in range(n_out)) if spec.multi_output else "y"
    lines = spec.call("m" if spec.has_module else None, ins, outs, params)
    ret = f"({', '.join(outs)},)" if spec.multi_output else "y"
    key = (*lines, str(n_inputs), ret, *map(str, absent))
    fn = _call_fns.get(key)
    if fn is None:
        body = "\n".join(f"    {ln}" for ln in lines) or "    pass"
        src = f"def _node(m, {', '.join(args)}):\n{body}\n    return {ret}\n"
        ns: dict[str, Any] = {"torch": torch, "nn": torch.nn}
        exec(compile(src, f"<torchwire {spec.type}>", "exec"), ns)
        fn = _call_fns[key] = ns["_node"]
    return fn


def evaluate(
    spec: NodeSpec,
    params: dict[str, Any],
    in_shapes: Sequence[Shape | None],
    in_dtypes: Sequence[torch.dtype | None],
) -> Evaluation:
    """Output shape, dtype, parameter count, MACs and weight bytes of one node, on meta.

    ``None`` in ``in_shapes`` is an optional input left unconnected."""
    key = (
        spec.type,
        freeze(params),
        tuple(None if s is None else tuple(s) for s in in_shapes),
        tuple(in_dtypes),
    )
    return _cache.get(key, lambda: _evaluate_cached(spec, params, in_shapes, in_dtypes))


def _evaluate_cached(
    spec: NodeSpec,
    params: dict[str, Any],
    in_shapes: Sequence[Shape | None],
    in_dtypes: Sequence[torch.dtype | None],
) -> Evaluation:
    """``_evaluate`` through the disk cache (engine.shape_cache) for catalog types."""
    from engine import catalog

    dk = None
    if shape_cache.enabled() and catalog.has(spec.type) and catalog.get(spec.type) is spec:
        dk = shape_cache.key(
            spec.type,
            spec.version,
            params,
            [None if s is None else list(s) for s in in_shapes],
            in_dtypes,
        )
    if dk is not None:
        hit = _from_entry(shape_cache.get(dk))
        if hit is not None:
            return hit
    ev = _evaluate(spec, params, in_shapes, in_dtypes)
    if dk is not None:
        shape_cache.put(
            dk,
            {
                "shape": list(ev.shape),
                "dtype": str(ev.dtype),
                "params": ev.params,
                "macs": ev.macs,
                "bytes": ev.param_bytes,
                "shapes": [list(s) for s in ev.shapes],
                "dtypes": [str(d) for d in ev.dtypes],
            },
        )
    return ev


def _dtype(name: str) -> torch.dtype | None:
    dt = getattr(torch, name.removeprefix("torch."), None)
    return dt if isinstance(dt, torch.dtype) else None


def _from_entry(e: dict[str, Any] | None) -> Evaluation | None:
    if e is None:
        return None
    dtype = _dtype(e["dtype"])
    dtypes = [_dtype(d) for d in e["dtypes"]]
    if dtype is None or any(d is None for d in dtypes):
        return None
    return Evaluation(
        tuple(e["shape"]),
        dtype,
        e["params"],
        e["macs"],
        e["bytes"],
        tuple(tuple(s) for s in e["shapes"]),
        tuple(dtypes),  # type: ignore[arg-type]
    )


def _evaluate(
    spec: NodeSpec,
    params: dict[str, Any],
    in_shapes: Sequence[Shape | None],
    in_dtypes: Sequence[torch.dtype | None],
) -> Evaluation:
    absent = [i for i, s in enumerate(in_shapes) if s is None]
    present = [s for s in in_shapes if s is not None]
    try:
        with torch.device("meta"):
            module = spec.build(params, in_shapes)
        fn = call_function(spec, params, len(in_shapes), absent)
        xs = [
            None if s is None else torch.empty((CHECK_BATCH, *s), dtype=dt, device="meta")
            for s, dt in zip(in_shapes, in_dtypes, strict=True)
        ]
        # Only layers with weights multiply-accumulate (activations and merges count
        # zero MACs by convention), so the others skip the counting mode. No autograd
        # graph is needed for a shape: no_grad makes meta execution ~30% cheaper.
        counting = module is not None and any(True for _ in module.parameters())
        counter = _MacCounter() if counting else _NoCount()
        with torch.no_grad(), counter:
            y = fn(module, *xs)
    except Exception as e:  # torch's own refusal, rewritten for the user
        raise NodeFailure(_explain(e, present)) from None
    ys = list(y) if spec.multi_output else [y]
    for t in ys:
        if not isinstance(t, torch.Tensor):
            raise NodeFailure(f"produces {type(t).__name__}, not a tensor")
        if t.dim() == 0 or t.shape[0] != CHECK_BATCH:
            raise NodeFailure("changes the batch dimension; keep dimension 0 as the batch")
    y = ys[0]
    nparams = nbytes = 0
    if module is not None:
        for p in module.parameters():
            nparams += p.numel()
            nbytes += p.numel() * p.element_size()
        for b in module.buffers():
            nbytes += b.numel() * b.element_size()
    return Evaluation(
        tuple(y.shape[1:]),
        y.dtype,
        int(nparams),
        int(counter.flops // 2 // CHECK_BATCH),
        nbytes,
        tuple(tuple(t.shape[1:]) for t in ys),
        tuple(t.dtype for t in ys),
    )


_EXPLAIN = [
    (
        re.compile(
            r"Kernel size can't be greater than actual input size|"
            r"Output size is too small|output size .* is too small",
            re.I,
        ),
        lambda m, s: f"input {_fmt(s[0])} is too small for this kernel/stride",
    ),
    (
        re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)"),
        lambda m, s: f"input has {m.group(2)} features, but the layer expects {m.group(3)}",
    ),
    (
        re.compile(r"expected .*?(\d+)D.* input.* got .*?(\d+)D", re.I),
        lambda m, s: f"expects {int(m.group(1)) - 1}-D samples, got {_fmt(s[0])}",
    ),
]


def _explain(e: Exception, in_shapes: Sequence[Shape]) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    for pattern, fn in _EXPLAIN:
        m = pattern.search(text)
        if m and in_shapes:
            try:
                return fn(m, in_shapes)
            except Exception:
                break
    shapes = ", ".join(_fmt(s) for s in in_shapes)
    return f"{text} (input {shapes})" if shapes else text


class _NoCount:
    flops = 0

    def __enter__(self) -> _NoCount:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class _MacCounter(TorchDispatchMode):
    """Counts FLOPs with torch's own per-op formulas; far cheaper than FlopCounterMode."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # torch wraps a mode's __torch_dispatch__ in dynamo.disable, which imports
        # torch._dynamo (seconds) on the first check; the check is never compiled.
        return False

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = _flop_registry().get(func._overloadpacket)
        if formula is not None:
            from torch.utils._pytree import tree_map

            def shape(x: Any) -> Any:
                return x.shape if isinstance(x, torch.Tensor) else x

            self.flops += formula(
                *tree_map(shape, args), **tree_map(shape, kwargs), out_val=tree_map(shape, out)
            )
        return out


_registry: dict[Any, Any] | None = None


def _flop_registry() -> dict[Any, Any]:
    global _registry
    if _registry is None:
        from torch.utils.flop_counter import flop_registry

        _registry = flop_registry
    return _registry
