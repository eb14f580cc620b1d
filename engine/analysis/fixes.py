"""One-click repairs the check offers: a label and the edit operation that does it.

Why ops rather than a description to interpret: the engine builds the fix for the very
graph it checked (a fresh id, the new node's place, the wires to reconnect), so every
front end applies it the same way (``graph.apply(fix.op)``, the designer's
``Document.do(fix.op, fix.label)``, a script) and undoes it exactly; the rules of an insert
or a bridging removal live here once instead of in each GUI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine import catalog
from engine.graph import Edge, Graph, GraphError
from engine.graph.ops import AddNode, Batch, Connect, Disconnect, Op, RemoveNode, SetParams

__all__ = [
    "INSERT_DROP",
    "Fix",
    "insert_fix",
    "insert_on_wire",
    "remove_bridging",
    "remove_fix",
    "set_fix",
]

INSERT_DROP = 78.0  # an inserted node goes this far below the wire's midpoint (canvas units)


@dataclass(frozen=True)
class Fix:
    """A repair of the graph a diagnostic was found in: what a user is shown (``label``,
    also the undo step's text) and the op that does it (``op.apply`` returns its undo)."""

    label: str
    op: Op

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "op": self.op.to_dict()}


def insert_on_wire(
    graph: Graph,
    type_name: str,
    src: str,
    src_port: str,
    dst: str,
    dst_port: str,
    params: dict[str, Any] | None = None,
) -> Batch:
    """The op that puts a new ``type_name`` node on the wire ``src.src_port → dst.dst_port``
    (or between those ports if they are not wired yet): the node gets a fresh id, sits below
    the wire's midpoint, and takes the wire's kind (tensor or data) in and out.

    Raises GraphError when it cannot go there (unknown type, no port of that kind)."""
    if not catalog.has(type_name):
        raise GraphError(f"unknown node type {type_name!r}")
    spec = catalog.get(type_name)
    a, b = graph.node(src), graph.node(dst)
    kind = next((p.kind for p in a.spec.outputs if p.name == src_port), "tensor")
    in_port = next((p.name for p in spec.inputs if p.kind == kind), None)
    out_port = next((p.name for p in spec.outputs if p.kind == kind), None)
    if in_port is None or out_port is None:
        raise GraphError(f"{type_name} cannot go on a wire that carries {kind}")
    nid = graph.fresh_id(type_name)
    pos = ((a.pos[0] + b.pos[0]) / 2, (a.pos[1] + b.pos[1]) / 2 + INSERT_DROP)
    old = Edge(src, src_port, dst, dst_port)
    ops: list[Op] = [Disconnect.of(old)] if old in graph.edges else []
    ops += [
        AddNode(type_name, nid, None, pos, dict(params or {})),
        Connect(src, src_port, nid, in_port, replace=False, allow_cycle=True),
        Connect(nid, out_port, dst, dst_port, replace=False, allow_cycle=True),
    ]
    return Batch(tuple(ops), f"Insert {type_name}")


def remove_bridging(graph: Graph, node_id: str) -> Batch:
    """The op that deletes a node with exactly one input and wires that input to each of
    its consumers (a Softmax before a loss goes, the loss gets the scores).

    Raises GraphError for a node with no or several inputs: there is no one wire to keep."""
    node = graph.node(node_id)
    ins = graph.in_edges(node_id)
    if len(ins) != 1:
        raise GraphError(f"{node.name}: only a node with one input can be removed this way")
    src = ins[0]
    bridges = [
        Connect(src.src, src.src_port, e.dst, e.dst_port, replace=False, allow_cycle=True)
        for e in graph.out_edges(node_id)
    ]
    return Batch((RemoveNode(node_id), *bridges), f"Remove {node.name}")


def insert_fix(graph: Graph, type_name: str, edge: Edge, **params: Any) -> Fix:
    """Fix: insert a ``type_name`` node (with ``params``) on ``edge``."""
    op = insert_on_wire(graph, type_name, edge.src, edge.src_port, edge.dst, edge.dst_port, params)
    a, b = graph.nodes[edge.src].name, graph.nodes[edge.dst].name
    return Fix(f"Insert {type_name} between {a} and {b}", op)


def set_fix(graph: Graph, node_id: str, **params: Any) -> Fix:
    """Fix: set some parameters of a node."""
    kv = ", ".join(f"{k} = {v}" for k, v in params.items())
    return Fix(f"Set {kv} on {graph.nodes[node_id].name}", SetParams(node_id, params))


def remove_fix(graph: Graph, node_id: str) -> Fix:
    """Fix: remove a one-input node, its input going straight on to its consumers."""
    name = graph.nodes[node_id].name
    return Fix(f"Remove {name} (its input goes straight on)", remove_bridging(graph, node_id))
