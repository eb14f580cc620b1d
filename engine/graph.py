"""The graph a user edits: plain data (nodes, edges, positions), no canvas library.

The GUI, scripts and the CLI all edit a ``Graph`` through the same methods; listeners
hear every change, which is how a canvas view stays in sync.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from engine import catalog
from engine.catalog.base import NodeSpec, ParamError, Port
from engine.errors import TorchwireError
from engine.frames import Frame, FrameError, collapsed_from_list, frames_from_list


class GraphError(TorchwireError, ValueError):
    """A graph that cannot be edited, checked or compiled as asked; ``problems`` lists why."""

    def __init__(self, message: str, problems: list[Any] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


# Bumped whenever a node is renamed after it was made (by ``Graph.rename`` or by a direct
# ``node.name = ...``), so every Graph knows when its name index may be stale.
_renames = itertools.count(1)
_rename_epoch = 0


@dataclass
class Node:
    id: str
    type: str
    params: dict[str, Any]
    name: str
    pos: tuple[float, float] = (0.0, 0.0)
    # lint id -> the user's reason for silencing that lint on this node (engine.lints)
    silenced: dict[str, str] = field(default_factory=dict)

    def __setattr__(self, key: str, value: Any) -> None:
        if key == "name" and "name" in self.__dict__:
            global _rename_epoch
            _rename_epoch = next(_renames)
        object.__setattr__(self, key, value)

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


class EdgeList(list[Edge]):
    """``Graph.edges``: the public, ordered list of edges, carrying the graph's edge indexes.

    Why a list subclass rather than a private store: the GUI, tests and scripts read
    ``graph.edges`` as a list, and a few callers change it in place (undo restores Concat's
    input order with ``edges.sort``; the document tries a connection with some edges
    removed via ``edges[:] = ...``). The indexes (edges by source, by destination, a
    membership count, positions) therefore live *in* the list: ``append``, ``extend`` and
    ``remove`` keep them up to date in O(1)/O(log E), and every other change marks them
    stale so the next lookup rebuilds them once (O(E)). A stale index can never be read.
    """

    __slots__ = ("_by_dst", "_by_src", "_count", "_next", "_ordered", "_seq")

    def __init__(self, edges: Iterable[Edge] = ()) -> None:
        super().__init__(edges)
        self._stale()

    def __reduce_ex__(self, protocol: Any) -> Any:  # copy/pickle: rebuild the indexes
        return (type(self), (list(self),))

    # -- the indexes -----------------------------------------------------------------------
    def _stale(self) -> None:
        self._by_src: dict[str, list[Edge]] | None = None
        self._by_dst: dict[str, list[Edge]] = {}
        self._count: dict[Edge, int] = {}
        self._seq: dict[Edge, int] = {}
        self._next = 0
        self._ordered = True  # the list is sorted by _seq (false only with duplicates)

    def _index(self) -> dict[str, list[Edge]]:
        if self._by_src is None:
            by_src: dict[str, list[Edge]] = {}
            self._by_dst, self._count, self._seq = {}, {}, {}
            self._ordered = True
            for i, e in enumerate(self):
                by_src.setdefault(e.src, []).append(e)
                self._by_dst.setdefault(e.dst, []).append(e)
                if e in self._count:
                    self._count[e] += 1
                    self._ordered = False
                else:
                    self._count[e] = 1
                self._seq[e] = i
            self._next = len(self)
            self._by_src = by_src
        return self._by_src

    def out_of(self, node_id: str) -> list[Edge]:
        """Edges leaving ``node_id``, in list order (a new list)."""
        return list(self._index().get(node_id, ()))

    def into(self, node_id: str) -> list[Edge]:
        """Edges entering ``node_id``, in list order (a new list)."""
        self._index()
        return list(self._by_dst.get(node_id, ()))

    def touching(self, node_id: str) -> list[Edge]:
        """Edges with ``node_id`` at either end, in list order."""
        both = {id(e): e for e in [*self.into(node_id), *self.out_of(node_id)]}
        edges = list(both.values())
        if self._ordered:
            edges.sort(key=self._seq.__getitem__)
        else:
            pos = {id(e): i for i, e in enumerate(self)}
            edges.sort(key=lambda e: pos.get(id(e), 0))
        return edges

    def __contains__(self, edge: object) -> bool:
        self._index()
        return self._count.get(edge, 0) > 0  # type: ignore[call-overload]

    # -- changes that keep the indexes -------------------------------------------------------
    def append(self, edge: Edge) -> None:
        by_src = self._index()
        super().append(edge)
        by_src.setdefault(edge.src, []).append(edge)
        self._by_dst.setdefault(edge.dst, []).append(edge)
        if self._count.get(edge, 0):
            self._ordered = False
        self._count[edge] = self._count.get(edge, 0) + 1
        self._seq[edge] = self._next
        self._next += 1

    def extend(self, edges: Iterable[Edge]) -> None:
        for e in list(edges):
            self.append(e)

    def __iadd__(self, edges: Iterable[Edge]) -> EdgeList:  # type: ignore[override,misc]
        self.extend(edges)
        return self

    def remove(self, edge: Edge) -> None:
        """Remove the first edge equal to ``edge`` (ValueError if none), in O(log E)."""
        by_src = self._index()
        if not self._count.get(edge, 0):
            raise ValueError(f"{edge} is not in the list")
        i = -1
        if self._ordered:
            s = self._seq[edge]
            i = bisect.bisect_left(self, s, key=self._seq.__getitem__)
            if i >= len(self) or self[i] != edge:
                i = -1
        if i < 0:
            i = self.index(edge)
        super().__delitem__(i)
        _drop(by_src, edge.src, edge)
        _drop(self._by_dst, edge.dst, edge)
        self._count[edge] -= 1
        if not self._count[edge]:
            del self._count[edge], self._seq[edge]

    # -- every other change marks the indexes stale ------------------------------------------
    def insert(self, index: Any, edge: Edge) -> None:
        super().insert(index, edge)
        self._stale()

    def pop(self, index: Any = -1) -> Edge:
        e = super().pop(index)
        self._stale()
        return e

    def clear(self) -> None:
        super().clear()
        self._stale()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        super().sort(*args, **kwargs)
        self._stale()

    def reverse(self) -> None:
        super().reverse()
        self._stale()

    def __setitem__(self, index: Any, value: Any) -> None:
        super().__setitem__(index, value)
        self._stale()

    def __delitem__(self, index: Any) -> None:
        super().__delitem__(index)
        self._stale()

    def __imul__(self, n: Any) -> EdgeList:  # type: ignore[override,misc]
        super().__imul__(n)
        self._stale()
        return self


def _drop(index: dict[str, list[Edge]], key: str, edge: Edge) -> None:
    lst = index.get(key)
    if lst is None:
        return
    for i, e in enumerate(lst):
        if e is edge or e == edge:
            del lst[i]
            break
    if not lst:
        del index[key]


class NodeDict(dict[str, Node]):
    """``Graph.nodes``: a dict that counts changes made to it directly (not by the Graph),
    so the Graph's name index is rebuilt after them instead of going stale."""

    __slots__ = ("changes",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.changes = 0

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (type(self), (dict(self),))

    def _bump(self) -> None:
        self.changes += 1

    def __setitem__(self, key: str, value: Node) -> None:
        super().__setitem__(key, value)
        self.changes += 1

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.changes += 1

    def pop(self, *args: Any) -> Any:
        self.changes += 1
        return super().pop(*args)

    def popitem(self) -> tuple[str, Node]:
        self.changes += 1
        return super().popitem()

    def clear(self) -> None:
        super().clear()
        self.changes += 1

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self.changes += 1

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.changes += 1
        return super().setdefault(key, default)

    def __ior__(self, other: Any) -> NodeDict:  # type: ignore[override,misc]
        super().update(other)
        self.changes += 1
        return self


Listener = Callable[[str, dict[str, Any]], None]

_PORT_KINDS_OK = {
    ("tensor", "tensor"),
    ("data", "data"),
    ("target", "target"),
    ("loss", "loss"),
    ("model", "model"),
}
_SUFFIXED = re.compile(r"^(.+)_(\d+)$")


def port_kinds_compatible(out_kind: str, in_kind: str) -> bool:
    return out_kind == "any" or in_kind == "any" or (out_kind, in_kind) in _PORT_KINDS_OK


@dataclass
class Graph:
    """Nodes, edges and the project's other sections (training settings, UI state).

    Every lookup an edit needs (a node by name, a fresh id, the edges into or out of a
    node, whether an edge exists) goes through an index, so building, loading and checking
    a graph stay linear in its size: ``graph.edges`` carries the edge indexes (see
    ``EdgeList``), and a name index is rebuilt whenever ``graph.nodes`` or a node's name
    was changed behind the Graph's back.
    """

    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    name: str = "model"
    settings: dict[str, Any] = field(default_factory=dict)
    ui: dict[str, Any] = field(default_factory=dict)
    # view-only annotations (engine.frames): titled frames, nodes shown collapsed
    frames: tuple[Frame, ...] = ()
    collapsed: frozenset[str] = frozenset()
    revision: int = field(default=0, compare=False)
    _listeners: list[Listener] = field(default_factory=list, repr=False, compare=False)
    # name -> node id, valid while _names_stamp matches (id(nodes), nodes.changes, epoch)
    _names: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)
    _names_stamp: tuple[int, int, int] = field(
        default=(0, 0, 0), init=False, repr=False, compare=False
    )
    _names_dup: bool = field(default=False, init=False, repr=False, compare=False)
    # type base -> a lower bound of the smallest free "base_<i>" (i >= 2), for _fresh_id
    _floor: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __setattr__(self, key: str, value: Any) -> None:
        # Whole-attribute assignment (``graph.nodes = dict(...)``) must keep the indexes too.
        if key == "edges" and not isinstance(value, EdgeList):
            value = EdgeList(value)
        elif key == "nodes" and not isinstance(value, NodeDict):
            value = NodeDict(value)
        object.__setattr__(self, key, value)

    @property
    def _ix(self) -> EdgeList:
        """``edges`` with its indexes (always an EdgeList: ``__setattr__`` sees to it)."""
        return self.edges  # type: ignore[return-value]

    # -- listening ---------------------------------------------------------------------
    def subscribe(self, fn: Listener) -> Callable[[], None]:
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    def _emit(self, event: str, **data: Any) -> None:
        self.revision += 1
        for fn in list(self._listeners):
            fn(event, data)

    # -- the name index ----------------------------------------------------------------
    def _stamp(self) -> tuple[int, int, int]:
        return (id(self.nodes), self.nodes.changes, _rename_epoch)  # type: ignore[attr-defined]

    def _name_index(self) -> dict[str, str]:
        names = self._names
        if names is None or self._names_stamp != self._stamp():
            names = {}
            dup = False
            for nid, n in self.nodes.items():
                if n.name in names:
                    dup = True
                else:
                    names[n.name] = nid
            self._names, self._names_dup = names, dup
            self._floor = {}
            self._names_stamp = self._stamp()
        return names

    def _taken(self, name: str) -> bool:
        return name in self.nodes or name in self._name_index()

    def _freed(self, name: str) -> None:
        """``name`` (an id or a node name) may be free again: lower _fresh_id's floor."""
        m = _SUFFIXED.match(name)
        if m and m.group(1) in self._floor:
            self._floor[m.group(1)] = min(self._floor[m.group(1)], max(2, int(m.group(2))))

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
        nid = self._name_index().get(name)
        if nid is None:
            raise GraphError(f"no node named {name!r}")
        return self.nodes[nid]

    def _fresh_id(self, type_name: str) -> str:
        """The type's snake-case name, or the smallest free ``name_<i>`` (ids and names)."""
        base = re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", type_name).lower()
        base = re.sub(r"[^a-z0-9_]", "_", base)
        if not self._taken(base):
            return base
        i = self._floor.get(base, 2)
        while self._taken(f"{base}_{i}"):
            i += 1
        self._floor[base] = i  # base_2 .. base_(i-1) are all taken
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
        names = self._name_index()
        if name in names:
            raise GraphError(f"a node named {name!r} already exists")
        if pos is None:
            pos = (len(self.nodes) * 220.0, 0.0)
        node = Node(node_id, type_name, values, name, (float(pos[0]), float(pos[1])))
        dict.__setitem__(self.nodes, node_id, node)  # the Graph's own change: index kept
        names[name] = node_id
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

    def silence(self, node_id: str, lint_id: str, reason: str | None) -> None:
        """Silence lint ``lint_id`` on a node with the user's ``reason`` (None: speak again)."""
        node = self.node(node_id)
        silenced = dict(node.silenced)
        if reason is None:
            silenced.pop(lint_id, None)
        else:
            silenced[lint_id] = reason
        node.silenced = silenced
        self._emit("silenced_changed", node=node_id, lint=lint_id)

    def rename(self, node_id: str, name: str) -> None:
        node = self.node(node_id)
        name = name.strip()
        if not name:
            raise GraphError("a node's name cannot be empty")
        names = self._name_index()
        if names.get(name, node_id) != node_id:
            raise GraphError(f"a node named {name!r} already exists")
        old = node.name
        node.name = name
        if names.get(old) == node_id:
            del names[old]
        names[name] = node_id
        self._names_stamp = self._stamp()  # our own rename: the index is up to date
        if self._names_dup:
            self._names = None  # another node may carry the old name too
        self._freed(old)
        self._emit("renamed", node=node_id)

    def move(self, node_id: str, pos: tuple[float, float]) -> None:
        node = self.node(node_id)
        node.pos = (float(pos[0]), float(pos[1]))
        self._emit("moved", node=node_id)

    def remove(self, node_id: str) -> None:
        """Remove a node and every edge touching it."""
        node = self.node(node_id)
        for e in self._ix.touching(node_id):
            self.edges.remove(e)
            self._emit("edge_removed", edge=e)
        names = self._name_index()
        dict.__delitem__(self.nodes, node_id)
        if names.get(node.name) == node_id:
            del names[node.name]
        if self._names_dup:
            self._names = None
        self._freed(node_id)
        self._freed(node.name)
        self._emit("node_removed", node=node_id)

    # -- edges -------------------------------------------------------------------------
    def _split(self, ref: str, port: str | None) -> tuple[str, str | None]:
        if port is None and ref not in self.nodes and ":" in ref:
            ref, port = ref.split(":", 1)
        return ref, port

    def connection_problem(
        self, src: str, src_port: str, dst: str, dst_port: str, *, cycles: bool = True
    ) -> str | None:
        """Why this edge cannot be made, in the user's words; None when it can.

        ``cycles=False`` skips the cycle test (the only one that is not O(1)): loading a
        project allows cycles anyway, and leaves reporting them to the check.
        """
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
        if not inp.multi and any(e.dst_port == dst_port for e in self._ix.into(dst)):
            return f"{b.name}.{inp.name} is already connected"
        if cycles and self.reaches(dst, src):
            return f"connecting {a.name} → {b.name} would make a cycle"
        return None

    def reaches(self, start: str, goal: str) -> bool:
        """Whether ``goal`` is downstream of ``start`` (O(nodes and edges downstream))."""
        out_index = self._ix._index()
        seen, stack = set(), [start]
        while stack:
            n = stack.pop()
            if n == goal:
                return True
            if n in seen:
                continue
            seen.add(n)
            stack.extend(e.dst for e in out_index.get(n, ()))
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
        problem = self.connection_problem(src, src_port, dst, dst_port, cycles=not allow_cycle)
        if problem is not None:
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
        taken = {e.dst_port for e in self._ix.into(b.id)}
        for o in outs:
            for i in ins:
                if not port_kinds_compatible(o.kind, i.kind):
                    continue
                if i.multi or i.name not in taken:
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
                for e in self._ix.out_of(src)
                if (dst is None or e.dst == dst)
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
        edges = self._ix.into(node_id)
        return sorted(edges, key=lambda e: order.get(e.dst_port, 99))

    def out_edges(self, node_id: str) -> list[Edge]:
        return self._ix.out_of(node_id)

    # -- whole graph -------------------------------------------------------------------
    def copy(self) -> Graph:
        g = Graph(
            nodes={
                k: Node(v.id, v.type, _plain(v.params), v.name, v.pos, dict(v.silenced))
                for k, v in self.nodes.items()
            },
            edges=list(self.edges),
            name=self.name,
            settings=copy.deepcopy(self.settings),
            ui=copy.deepcopy(self.ui),
            frames=self.frames,
            collapsed=self.collapsed,
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
                    "params": _plain(n.params),
                    **({"silenced": dict(n.silenced)} if n.silenced else {}),
                }
                for n in self.nodes.values()
            ],
            "edges": [
                {"from": e.src, "from_port": e.src_port, "to": e.dst, "to_port": e.dst_port}
                for e in self.edges
            ],
            "settings": copy.deepcopy(self.settings),
            "ui": copy.deepcopy(self.ui),
            **({"frames": [f.to_dict() for f in self.frames]} if self.frames else {}),
            **(
                {"collapsed": shown}
                if (shown := sorted(self.collapsed & self.nodes.keys()))
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Graph:
        """Build a graph from its plain form; every problem raises GraphError.

        Cycles are allowed here (a saved project may hold one); ``check`` reports them.
        """
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
            silenced = nd.get("silenced") or {}
            if not isinstance(silenced, dict):
                raise GraphError(f"node {nd['id']!r}: 'silenced' must be an object")
            g.nodes[str(nd["id"])].silenced = {str(k): str(v) for k, v in silenced.items()}
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
        try:
            g.frames = frames_from_list(data.get("frames"))
            g.collapsed = collapsed_from_list(data.get("collapsed"), g.nodes)
        except FrameError as e:
            raise GraphError(str(e)) from None
        g.revision = 0
        return g


def _find_port(ports: tuple[Port, ...], name: str) -> Port | None:
    for p in ports:
        if p.name == name:
            return p
    return None


def _plain(value: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, tuples, scalars), ~20x cheaper than deepcopy;
    anything else is deep-copied."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(_plain(v) for v in value)
    return copy.deepcopy(value)
