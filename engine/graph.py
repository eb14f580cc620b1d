"""The graph a user edits: plain data (nodes, edges, positions), no canvas library.

The GUI, scripts and the CLI all edit a ``Graph`` through the same methods; listeners
hear every change, which is how a canvas view stays in sync.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from engine import catalog
from engine.catalog.base import NodeSpec, ParamError, Port
from engine.errors import TorchwireError


class GraphError(TorchwireError, ValueError):
    """A graph that cannot be edited, checked or compiled as asked; ``problems`` lists why."""

    def __init__(self, message: str, problems: list[Any] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


@dataclass
class Node:
    id: str
    type: str
    params: dict[str, Any]
    name: str
    pos: tuple[float, float] = (0.0, 0.0)

    @property
    def spec(self) -> NodeSpec:
        return catalog.get(self.type)


@dataclass(frozen=True)
class Edge:
    src: str
    src_port: str
    dst: str
    dst_port: str

    def __str__(self) -> str:
        return f"{self.src}.{self.src_port} -> {self.dst}.{self.dst_port}"


Listener = Callable[[str, dict[str, Any]], None]

_PORT_KINDS_OK = {
    ("tensor", "tensor"),
    ("data", "data"),
    ("target", "target"),
    ("loss", "loss"),
    ("model", "model"),
}


def port_kinds_compatible(out_kind: str, in_kind: str) -> bool:
    return out_kind == "any" or in_kind == "any" or (out_kind, in_kind) in _PORT_KINDS_OK


@dataclass
class Graph:
    """Nodes, edges and the project's other sections (training settings, UI state)."""

    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    name: str = "model"
    settings: dict[str, Any] = field(default_factory=dict)
    ui: dict[str, Any] = field(default_factory=dict)
    revision: int = field(default=0, compare=False)
    _listeners: list[Listener] = field(default_factory=list, repr=False, compare=False)

    # -- listening ---------------------------------------------------------------------
    def subscribe(self, fn: Listener) -> Callable[[], None]:
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    def _emit(self, event: str, **data: Any) -> None:
        self.revision += 1
        for fn in list(self._listeners):
            fn(event, data)

    # -- nodes -------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Node]:
        return iter(list(self.nodes.values()))

    def __len__(self) -> int:
        return len(self.nodes)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.nodes

    def node(self, node_id: str) -> Node:
        try:
            return self.nodes[node_id]
        except KeyError:
            raise GraphError(f"no node {node_id!r} in the graph") from None

    def by_name(self, name: str) -> Node:
        for n in self.nodes.values():
            if n.name == name:
                return n
        raise GraphError(f"no node named {name!r}")

    def _fresh_id(self, type_name: str) -> str:
        base = re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", type_name).lower()
        base = re.sub(r"[^a-z0-9_]", "_", base)
        taken = set(self.nodes) | {n.name for n in self.nodes.values()}
        if base not in taken:
            return base
        i = 2
        while f"{base}_{i}" in taken:
            i += 1
        return f"{base}_{i}"

    def add(
        self,
        type_name: str,
        *,
        id: str | None = None,
        name: str | None = None,
        pos: tuple[float, float] | None = None,
        **params: Any,
    ) -> str:
        """Add a node of ``type_name`` with ``params`` (the rest default); return its id."""
        if not catalog.has(type_name):
            raise GraphError(f"unknown node type {type_name!r}")
        spec = catalog.get(type_name)
        try:
            values = spec.coerce_params(params)
        except ParamError as e:
            msg = str(e)
            raise GraphError(msg if msg.startswith(type_name) else f"{type_name}: {msg}") from None
        node_id = id or self._fresh_id(type_name)
        if node_id in self.nodes:
            raise GraphError(f"a node with id {node_id!r} already exists")
        name = name or node_id
        if any(n.name == name for n in self.nodes.values()):
            raise GraphError(f"a node named {name!r} already exists")
        if pos is None:
            pos = (len(self.nodes) * 220.0, 0.0)
        node = Node(node_id, type_name, values, name, (float(pos[0]), float(pos[1])))
        self.nodes[node_id] = node
        self._emit("node_added", node=node_id)
        return node_id

    def set(self, node_id: str, **params: Any) -> None:
        """Change some parameters of a node; invalid values raise GraphError and change nothing."""
        node = self.node(node_id)
        merged = {**node.params, **params}
        try:
            node.params = node.spec.coerce_params(merged)
        except ParamError as e:
            raise GraphError(f"{node.name}: {e}") from None
        self._emit("params_changed", node=node_id, names=sorted(params))

    def rename(self, node_id: str, name: str) -> None:
        node = self.node(node_id)
        name = name.strip()
        if not name:
            raise GraphError("a node's name cannot be empty")
        if any(n.name == name and n.id != node_id for n in self.nodes.values()):
            raise GraphError(f"a node named {name!r} already exists")
        node.name = name
        self._emit("renamed", node=node_id)

    def move(self, node_id: str, pos: tuple[float, float]) -> None:
        node = self.node(node_id)
        node.pos = (float(pos[0]), float(pos[1]))
        self._emit("moved", node=node_id)

    def remove(self, node_id: str) -> None:
        """Remove a node and every edge touching it."""
        self.node(node_id)
        for e in [e for e in self.edges if node_id in (e.src, e.dst)]:
            self.edges.remove(e)
            self._emit("edge_removed", edge=e)
        del self.nodes[node_id]
        self._emit("node_removed", node=node_id)

    # -- edges -------------------------------------------------------------------------
    def _split(self, ref: str, port: str | None) -> tuple[str, str | None]:
        if port is None and ref not in self.nodes and ":" in ref:
            ref, port = ref.split(":", 1)
        return ref, port

    def connection_problem(self, src: str, src_port: str, dst: str, dst_port: str) -> str | None:
        """Why this edge cannot be made, in the user's words; None when it can."""
        if src not in self.nodes or dst not in self.nodes:
            return "both ends must be nodes of this graph"
        a, b = self.nodes[src], self.nodes[dst]
        if src == dst:
            return f"{a.name} cannot feed itself"
        out = _find_port(a.spec.outputs, src_port)
        if out is None:
            return f"{a.name} has no output {src_port!r}"
        inp = _find_port(b.spec.inputs, dst_port)
        if inp is None:
            return f"{b.name} has no input {dst_port!r}"
        if not port_kinds_compatible(out.kind, inp.kind):
            return (
                f"{a.name}.{out.name} carries {out.kind}, but {b.name}.{inp.name} takes {inp.kind}"
            )
        if Edge(src, src_port, dst, dst_port) in self.edges:
            return "these ports are already connected"
        if not inp.multi and any(e.dst == dst and e.dst_port == dst_port for e in self.edges):
            return f"{b.name}.{inp.name} is already connected"
        if self.reaches(dst, src):
            return f"connecting {a.name} → {b.name} would make a cycle"
        return None

    def reaches(self, start: str, goal: str) -> bool:
        """Whether ``goal`` is downstream of ``start``."""
        seen, stack = set(), [start]
        while stack:
            n = stack.pop()
            if n == goal:
                return True
            if n in seen:
                continue
            seen.add(n)
            stack.extend(e.dst for e in self.edges if e.src == n)
        return False

    def connect(
        self,
        src: str,
        dst: str,
        src_port: str | None = None,
        dst_port: str | None = None,
        *,
        allow_cycle: bool = False,
    ) -> Edge:
        """Connect ``src``'s output to ``dst``'s input.

        Without port names: the first output of ``src`` whose kind fits, into the first
        free input of ``dst`` whose kind fits. ``"node:port"`` also names a port.
        """
        src, src_port = self._split(src, src_port)
        dst, dst_port = self._split(dst, dst_port)
        a, b = self.node(src), self.node(dst)
        if src_port is None or dst_port is None:
            src_port, dst_port = self._pick_ports(a, b, src_port, dst_port)
        problem = self.connection_problem(src, src_port, dst, dst_port)
        if problem is not None and not (allow_cycle and "cycle" in problem):
            raise GraphError(problem)
        edge = Edge(src, src_port, dst, dst_port)
        self.edges.append(edge)
        self._emit("edge_added", edge=edge)
        return edge

    def _pick_ports(
        self, a: Node, b: Node, src_port: str | None, dst_port: str | None
    ) -> tuple[str, str]:
        outs = [p for p in a.spec.outputs if src_port in (None, p.name)]
        if not outs:
            raise GraphError(f"{a.name} has no output {src_port!r}")
        ins = [p for p in b.spec.inputs if dst_port in (None, p.name)]
        if not ins:
            raise GraphError(f"{b.name} has no input {dst_port!r}")
        for o in outs:
            for i in ins:
                if not port_kinds_compatible(o.kind, i.kind):
                    continue
                taken = any(e.dst == b.id and e.dst_port == i.name for e in self.edges)
                if i.multi or not taken:
                    return o.name, i.name
        raise GraphError(f"{b.name} has no free input that takes {a.name}'s output")

    def disconnect(
        self,
        src: str | Edge,
        dst: str | None = None,
        src_port: str | None = None,
        dst_port: str | None = None,
    ) -> int:
        """Remove the edges matching the given ends; return how many were removed."""
        if isinstance(src, Edge):
            matches = [src] if src in self.edges else []
        else:
            src, src_port = self._split(src, src_port)
            if dst is not None:
                dst, dst_port = self._split(dst, dst_port)
            matches = [
                e
                for e in self.edges
                if e.src == src
                and (dst is None or e.dst == dst)
                and (src_port is None or e.src_port == src_port)
                and (dst_port is None or e.dst_port == dst_port)
            ]
        for e in matches:
            self.edges.remove(e)
            self._emit("edge_removed", edge=e)
        return len(matches)

    def in_edges(self, node_id: str) -> list[Edge]:
        """Edges into a node, in port order, then in connection order."""
        node = self.node(node_id)
        order = {p.name: i for i, p in enumerate(node.spec.inputs)}
        edges = [e for e in self.edges if e.dst == node_id]
        return sorted(edges, key=lambda e: order.get(e.dst_port, 99))

    def out_edges(self, node_id: str) -> list[Edge]:
        return [e for e in self.edges if e.src == node_id]

    # -- whole graph -------------------------------------------------------------------
    def copy(self) -> Graph:
        g = Graph(
            nodes={k: copy.deepcopy(v) for k, v in self.nodes.items()},
            edges=list(self.edges),
            name=self.name,
            settings=copy.deepcopy(self.settings),
            ui=copy.deepcopy(self.ui),
        )
        return g

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "nodes": [
                {
                    "id": n.id,
                    "type": n.type,
                    "name": n.name,
                    "pos": [n.pos[0], n.pos[1]],
                    "params": copy.deepcopy(n.params),
                }
                for n in self.nodes.values()
            ],
            "edges": [
                {"from": e.src, "from_port": e.src_port, "to": e.dst, "to_port": e.dst_port}
                for e in self.edges
            ],
            "settings": copy.deepcopy(self.settings),
            "ui": copy.deepcopy(self.ui),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Graph:
        """Build a graph from its plain form; every problem raises GraphError."""
        g = cls(name=str(data.get("name", "model")))
        g.settings = dict(data.get("settings") or {})
        g.ui = dict(data.get("ui") or {})
        for i, nd in enumerate(data.get("nodes") or []):
            if not isinstance(nd, dict) or "type" not in nd or "id" not in nd:
                raise GraphError(f"node #{i + 1} needs an 'id' and a 'type'")
            pos = nd.get("pos") or (0.0, 0.0)
            params = nd.get("params") or {}
            if not isinstance(params, dict):
                raise GraphError(f"node {nd['id']!r}: 'params' must be an object")
            try:
                g.add(
                    str(nd["type"]),
                    id=str(nd["id"]),
                    name=str(nd.get("name") or nd["id"]),
                    pos=(float(pos[0]), float(pos[1])),
                    **params,
                )
            except GraphError as e:
                raise GraphError(f"node {nd['id']!r}: {e}") from None
        for i, ed in enumerate(data.get("edges") or []):
            try:
                src, dst = str(ed["from"]), str(ed["to"])
                sp, dp = str(ed["from_port"]), str(ed["to_port"])
            except (KeyError, TypeError):
                raise GraphError(
                    f"edge #{i + 1} needs 'from', 'from_port', 'to' and 'to_port'"
                ) from None
            for end in (src, dst):
                if end not in g.nodes:
                    raise GraphError(
                        f"edge #{i + 1} ({src} → {dst}) points at missing node {end!r}"
                    )
            try:
                g.connect(src, dst, sp, dp, allow_cycle=True)
            except GraphError as e:
                raise GraphError(f"edge #{i + 1} ({src} → {dst}): {e}") from None
        g.revision = 0
        return g


def _find_port(ports: tuple[Port, ...], name: str) -> Port | None:
    for p in ports:
        if p.name == name:
            return p
    return None
