"""What a check finds: diagnostics, reasons, readiness, the report, and the context that
the per-kind checkers and lints fill.

Why apart from ``check``: the checkers of data and training nodes, the lints and the
memory pass all write into a ``Report`` through a ``CheckContext``; with both here they
import downward only, and ``check`` runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from engine.analysis.fixes import Fix
from engine.catalog.base import Shape
from engine.graph import Edge, Graph, Node

Severity = Literal["error", "warning"]
CHECK_BATCH = 2  # BatchNorm refuses a batch of one, even on meta


@dataclass(frozen=True)
class Diagnostic:
    """One problem, attached to a node (and port), in the user's terms.

    ``fix`` is an obvious repair a GUI may offer (``engine.analysis.fixes.Fix``: a label and the op
    that does it, built for the graph that was checked).
    """

    node: str | None
    severity: Severity
    message: str
    port: str | None = None
    fix: Fix | None = None
    lint: str | None = None  # the id of the lint that found it (engine.analysis.lints), if one did
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
    plan: Any = (
        None  # engine.analysis.training_check.Plan: which nodes training uses (None: cannot)
    )

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


def checkers() -> dict[str, Checker]:
    """The registered checkers by node kind (``register_checker``)."""
    return _CHECKERS


def finishers() -> list[Callable[[CheckContext], None]]:
    """The registered whole-graph passes, in registration order."""
    return _FINISHERS


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


def edges_by_node(graph: Graph) -> tuple[dict[str, list[Edge]], dict[str, list[Edge]]]:
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
    inner check itself runs no lints: ``engine.analysis.lints.run_lints`` runs them once per block
    definition). Nothing in it is written back to ``inner``, which the definition caches."""
    assert inner.graph is not None
    ins, outs = edges_by_node(inner.graph)
    feed = {nid: (inner.shapes[nid], inner.dtypes[nid]) for nid in inner.inputs}
    return CheckContext(inner.graph, inner, ins, outs, feed=feed)


# -- order and cycles ----------------------------------------------------------------------


def fmt_shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(v) for v in shape) + ("," if len(shape) == 1 else "") + ")"
