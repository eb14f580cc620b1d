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

from collections.abc import Sequence

import torch

from engine import catalog
from engine.analysis import shape_cache
from engine.analysis.evaluate import NodeFailure, evaluate
from engine.analysis.fixes import insert_fix
from engine.analysis.lints import run_lints
from engine.analysis.memory import check_memory
from engine.analysis.report import (
    CheckContext,
    Report,
    checkers,
    edges_by_node,
    finishers,
    fmt_shape,
)
from engine.bulk import bulk
from engine.catalog.base import NodeSpec, Shape
from engine.graph import SEP, Edge, Graph, Node, topological_order
from engine.memo import freeze


def check(graph: Graph) -> Report:
    """Check ``graph``; never raises for a problem in the graph, reports it instead."""
    with bulk():
        rep = _check(graph)
    shape_cache.flush()  # new shapes to disk for the next process (rate-limited)
    return rep


def _check(graph: Graph, feed: dict[str, tuple[Shape, torch.dtype]] | None = None) -> Report:
    """``feed``: shapes and dtypes for the Input nodes of a block's inner graph; such a
    check (of one instance) skips the whole-model passes: memory, finishers and lints."""
    catalog.all_specs()  # make sure every declaration module has registered
    rep = Report(graph=graph)
    rep._names = {nid: n.name for nid, n in graph.nodes.items()}
    rep._types = {nid: n.type for nid, n in graph.nodes.items()}
    rep.frozen = {nid for nid, n in graph.nodes.items() if n.frozen}
    ins, outs = edges_by_node(graph)
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
        elif (checker := checkers().get(spec.kind)) is not None:
            checker(ctx, node)

    _find_outputs(ctx)
    if feed is not None:
        _no_silent_drops(ctx)
        return rep
    check_memory(ctx)
    for fn in finishers():
        fn(ctx)
    run_lints(ctx)
    _no_silent_drops(ctx)
    return rep


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
                    f"expects a {want} sample, but {ctx.label(e.src)} gives {fmt_shape(s)} ({len(s)}-D)"
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
            f"{node.name}: gets {fmt_shape(in_shapes[0])} from {ctx.label(e.src)} and acts on the "
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


def apply_fixes(graph: Graph, most: int = 50) -> list[str]:
    """Apply the check's fixes to ``graph`` one at a time (each fix is built for the graph
    as it is, so the graph is checked again after each) until none is left; returns the
    labels of those applied. A fix whose diagnostic (lint, node) was fixed once already is
    not applied again, so a fix that does not silence its problem cannot loop."""
    done: set[tuple[str | None, str | None, str]] = set()
    labels: list[str] = []
    while len(labels) < most:
        rep = check(graph)
        todo = [
            d
            for d in rep.diagnostics
            if d.fix is not None and (d.lint, d.node, d.fix.label) not in done
        ]
        if not todo:
            break
        d = todo[0]
        assert d.fix is not None
        done.add((d.lint, d.node, d.fix.label))
        if graph.check_op(d.fix.op) is not None:
            continue
        graph.apply(d.fix.op)
        labels.append(d.fix.label)
    return labels
