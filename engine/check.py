"""Checks a graph: order, cycles, per-node shapes, parameter and MAC counts, problems.

Shapes come from running each node's real torch module on the ``meta`` device, through
the very lines of ``forward`` the compiler writes (see ``NodeSpec.call``), so a new layer
type needs no shape code. Results are cached per (type, parameters, input shapes), which
keeps a live check after one edit of a large graph cheap.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from engine.catalog.base import NodeSpec, Shape
from engine.graph import Edge, Graph, Node
from engine.memo import Memo, freeze

Severity = Literal["error", "warning"]
CHECK_BATCH = 2  # BatchNorm refuses a batch of one, even on meta


@dataclass(frozen=True)
class Diagnostic:
    """One problem, attached to a node (and port), in the user's terms.

    ``fix`` describes an obvious repair a GUI may offer, e.g.
    ``{"action": "insert", "type": "Flatten", "src": "conv2", "dst": "fc1", "dst_port": "input"}``.
    """

    node: str | None
    severity: Severity
    message: str
    port: str | None = None
    fix: dict[str, Any] | None = None

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        d = {"node": self.node, "severity": self.severity, "message": self.message}
        if self.port:
            d["port"] = self.port
        if self.fix:
            d["fix"] = self.fix
        return d


@dataclass
class Report:
    """What ``check`` found. Shapes are per sample (batch excluded)."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    shapes: dict[str, Shape] = field(default_factory=dict)
    dtypes: dict[str, torch.dtype] = field(default_factory=dict)
    params: dict[str, int] = field(default_factory=dict)
    macs: dict[str, int] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    model_nodes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    _names: dict[str, str] = field(default_factory=dict, repr=False)
    _types: dict[str, str] = field(default_factory=dict, repr=False)

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
    def total_macs(self) -> int:
        return sum(self.macs.values())

    def for_node(self, node_id: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.node == node_id]

    def error(self, node: str | None, message: str, **kw: Any) -> None:
        self.diagnostics.append(Diagnostic(node, "error", message, **kw))

    def warn(self, node: str | None, message: str, **kw: Any) -> None:
        self.diagnostics.append(Diagnostic(node, "warning", message, **kw))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "total_params": self.total_params,
            "total_macs": self.total_macs,
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
                    "params": self.params.get(nid, 0),
                    "macs": self.macs.get(nid, 0),
                }
                for nid in self.order
            },
            "diagnostics": [d.to_dict() for d in self.diagnostics],
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

    def label(self, node_id: str) -> str:
        return self.graph.nodes[node_id].name


def check(graph: Graph) -> Report:
    """Check ``graph``; never raises for a problem in the graph, reports it instead."""
    from engine import catalog

    catalog.all_specs()  # make sure every declaration module has registered
    rep = Report()
    rep._names = {nid: n.name for nid, n in graph.nodes.items()}
    rep._types = {nid: n.type for nid, n in graph.nodes.items()}
    ins: dict[str, list[Edge]] = {nid: [] for nid in graph.nodes}
    outs: dict[str, list[Edge]] = {nid: [] for nid in graph.nodes}
    for e in graph.edges:
        ins[e.dst].append(e)
        outs[e.src].append(e)
    for nid, lst in ins.items():
        order = {p.name: i for i, p in enumerate(graph.nodes[nid].spec.inputs)}
        lst.sort(key=lambda e: order.get(e.dst_port, 99))
    ctx = CheckContext(graph, rep, ins, outs)

    order, cyclic = _topo(graph, ins, outs)
    rep.order = order
    for cycle in _cycles(graph, cyclic, outs):
        names = " → ".join(graph.nodes[n].name for n in [*cycle, cycle[0]])
        for n in cycle:
            rep.error(n, f"{graph.nodes[n].name}: cycle through {names}")
        ctx.failed.update(cycle)
    ctx.failed.update(cyclic)

    for nid in order:
        node = graph.nodes[nid]
        spec = node.spec
        if spec.kind in ("model", "io"):
            _check_model_node(ctx, node, spec)
        elif spec.kind in _CHECKERS:
            _CHECKERS[spec.kind](ctx, node)

    _find_outputs(ctx)
    for fn in _FINISHERS:
        fn(ctx)
    return rep


# -- order and cycles ----------------------------------------------------------------------
def _topo(
    graph: Graph, ins: dict[str, list[Edge]], outs: dict[str, list[Edge]]
) -> tuple[list[str], set[str]]:
    indeg = {nid: len(ins[nid]) for nid in graph.nodes}
    ready = [nid for nid in graph.nodes if indeg[nid] == 0]
    order: list[str] = []
    i = 0
    while i < len(ready):
        nid = ready[i]
        i += 1
        order.append(nid)
        for e in outs[nid]:
            indeg[e.dst] -= 1
            if indeg[e.dst] == 0:
                ready.append(e.dst)
    cyclic = {nid for nid in graph.nodes if indeg[nid] > 0}
    return order, cyclic


def _cycles(graph: Graph, cyclic: set[str], outs: dict[str, list[Edge]]) -> list[list[str]]:
    """One concrete cycle per strongly connected group of the leftover nodes."""
    found: list[list[str]] = []
    covered: set[str] = set()
    for start in graph.nodes:
        if start not in cyclic or start in covered:
            continue
        path: list[str] = []
        pos: dict[str, int] = {}
        n = start
        while n not in pos:
            pos[n] = len(path)
            path.append(n)
            nxt = [e.dst for e in outs[n] if e.dst in cyclic]
            if not nxt:
                break
            n = nxt[0]
        else:
            cycle = path[pos[n] :]
            if not covered.intersection(cycle):
                found.append(cycle)
            covered.update(cycle)
        covered.update(path)
    return found


# -- model nodes ---------------------------------------------------------------------------
def _fmt(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(v) for v in shape) + ("," if len(shape) == 1 else "") + ")"


def _dtype_name(dt: torch.dtype) -> str:
    return str(dt).replace("torch.", "")


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
    tensor_edges = [e for e in edges if any(p.name == e.dst_port for p in tensor_ports)]
    for e in tensor_edges:
        if e.src in ctx.failed or e.src not in rep.shapes:
            ctx.failed.add(nid)  # the problem is upstream, and reported there
            return
    in_shapes = [rep.shapes[e.src] for e in tensor_edges]
    in_dtypes = [rep.dtypes[e.src] for e in tensor_edges]

    problems: list[str] = []
    if spec.ranks is not None:
        for e, s in zip(tensor_edges, in_shapes, strict=True):
            if len(s) not in spec.ranks:
                want = " or ".join(f"{r}-D" for r in spec.ranks)
                problems.append(
                    f"expects a {want} sample, but {ctx.label(e.src)} gives {_fmt(s)} ({len(s)}-D)"
                )
    for e, dt in zip(tensor_edges, in_dtypes, strict=True):
        if spec.input_dtype == "float" and not dt.is_floating_point:
            problems.append(
                f"needs float input, but {ctx.label(e.src)} gives {_dtype_name(dt)} "
                "(token ids feed an Embedding)"
            )
        elif spec.input_dtype == "long" and dt.is_floating_point:
            problems.append(
                f"needs integer token ids (int64), but {ctx.label(e.src)} gives "
                f"{_dtype_name(dt)}; set the Input's dtype to int64"
            )
    if not problems and spec.validate is not None:
        problems.extend(
            spec.validate(node.params, in_shapes, [ctx.label(e.src) for e in tensor_edges])
        )
    if problems:
        for p in problems:
            rep.error(nid, f"{name}: {p}")
        ctx.failed.add(nid)
        return

    try:
        shape, dtype, nparams, macs = evaluate(spec, node.params, in_shapes, in_dtypes)
    except NodeFailure as f:
        rep.error(nid, f"{name}: {f}")
        ctx.failed.add(nid)
        return
    rep.shapes[nid], rep.dtypes[nid] = shape, dtype
    rep.params[nid], rep.macs[nid] = nparams, macs
    rep.model_nodes.append(nid)
    _warnings(ctx, node, spec, tensor_edges, in_shapes)


def _check_input(ctx: CheckContext, node: Node) -> None:
    rep, nid = ctx.report, node.id
    shape = tuple(node.params["shape"])
    dtype = torch.int64 if node.params["dtype"] == "int64" else torch.float32
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
    rep.params[nid] = rep.macs[nid] = 0
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
            fix={
                "action": "insert",
                "type": "Flatten",
                "src": e.src,
                "src_port": e.src_port,
                "dst": e.dst,
                "dst_port": e.dst_port,
            },
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
        for nid in model:
            if g.nodes[nid].type not in ("Output",) and not consumers(nid) and nid in rep.shapes:
                if g.nodes[nid].type == "Input":
                    rep.warn(nid, f"{g.nodes[nid].name}: this input is not used")
                elif not ctx.out_edges[nid]:
                    rep.warn(nid, f"{g.nodes[nid].name}: output is not used")
        return
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
    for nid in model:
        if g.nodes[nid].type == "Input" and not consumers(nid) and nid in rep.shapes:
            rep.warn(nid, f"{g.nodes[nid].name}: this input is not used")


# -- evaluation on meta -------------------------------------------------------------------
class NodeFailure(Exception):
    """torch refused the node; the message is rewritten in the user's terms."""


_cache: Memo[tuple[Shape, torch.dtype, int, int]] = Memo(8192, remember=(NodeFailure,))
_call_fns: dict[tuple[str, ...], Callable[..., Any]] = {}


def call_function(spec: NodeSpec, params: dict[str, Any], n_inputs: int) -> Callable[..., Any]:
    """The node's forward lines as a function ``f(m, x0, x1, ...)`` (cached by source).

    The lines hold no user text: the names are fixed here (``m``, ``x0``…, ``y``) and a
    spec's ``call`` puts parameters in only as numbers or ``repr()`` literals. The
    namespace matches the compiled module's imports, so a line that runs here runs there.
    """
    args = [f"x{i}" for i in range(n_inputs)]
    lines = spec.call("m" if spec.has_module else None, args, "y", params)
    key = (*lines, str(n_inputs))
    fn = _call_fns.get(key)
    if fn is None:
        body = "\n".join(f"    {ln}" for ln in lines) or "    pass"
        src = f"def _node(m, {', '.join(args)}):\n{body}\n    return y\n"
        ns: dict[str, Any] = {"torch": torch, "nn": torch.nn}
        exec(compile(src, f"<torchwire {spec.type}>", "exec"), ns)
        fn = _call_fns[key] = ns["_node"]
    return fn


def evaluate(
    spec: NodeSpec,
    params: dict[str, Any],
    in_shapes: Sequence[Shape],
    in_dtypes: Sequence[torch.dtype],
) -> tuple[Shape, torch.dtype, int, int]:
    """Output shape, dtype, parameter count and MACs of one node, run on meta."""
    key = (spec.type, freeze(params), tuple(map(tuple, in_shapes)), tuple(in_dtypes))
    return _cache.get(key, lambda: _evaluate(spec, params, in_shapes, in_dtypes))


def _evaluate(
    spec: NodeSpec,
    params: dict[str, Any],
    in_shapes: Sequence[Shape],
    in_dtypes: Sequence[torch.dtype],
) -> tuple[Shape, torch.dtype, int, int]:
    try:
        with torch.device("meta"):
            module = spec.build(params, in_shapes)
        fn = call_function(spec, params, len(in_shapes))
        xs = [
            torch.empty((CHECK_BATCH, *s), dtype=dt, device="meta")
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
        raise NodeFailure(_explain(e, in_shapes)) from None
    if not isinstance(y, torch.Tensor):
        raise NodeFailure(f"produces {type(y).__name__}, not a tensor")
    if y.dim() == 0 or y.shape[0] != CHECK_BATCH:
        raise NodeFailure("changes the batch dimension; keep dimension 0 as the batch")
    nparams = sum(p.numel() for p in module.parameters()) if module is not None else 0
    return tuple(y.shape[1:]), y.dtype, int(nparams), int(counter.flops // 2 // CHECK_BATCH)


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
