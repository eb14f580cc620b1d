"""The graph a user edits: plain data (nodes, edges, positions), no canvas library.

The GUI, scripts and the CLI all edit a ``Graph`` through the same methods; listeners
hear every change, which is how a canvas view stays in sync.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine import catalog
from engine.catalog.base import NodeSpec, Port
from engine.errors import TorchwireError
from engine.frames import Frame, FrameError, collapsed_from_list, frames_from_list

if TYPE_CHECKING:
    from engine.blocks import BlockDef
    from engine.ops import Op


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
    # transfer learning: a frozen node's weights are not trained (no gradient, not given to
    # the optimizer, its BatchNorm statistics kept); lr_scale multiplies the learning rate
    frozen: bool = False
    lr_scale: float = 1.0
    # the spec of a block instance (engine.blocks): block types live in their graph's
    # registry, not in the catalog
    block_spec: NodeSpec | None = field(default=None, repr=False, compare=False)

    def __setattr__(self, key: str, value: Any) -> None:
        if key == "name" and "name" in self.__dict__:
            global _rename_epoch
            _rename_epoch = next(_renames)
        object.__setattr__(self, key, value)

    @property
    def spec(self) -> NodeSpec:
        if self.block_spec is not None:
            return self.block_spec
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
    ``graph.edges`` as a list, and a script may change it in place (``edges.sort``,
    ``edges[:] = ...``; edits themselves go through ``engine.ops``). The indexes (edges by source, by destination, a
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
        self.pop_edge(edge)

    def pop_edge(self, edge: Edge) -> int:
        """Remove the first edge equal to ``edge`` (ValueError if none); return where it was."""
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
        return i

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


# -- graph events ------------------------------------------------------------------------
# What ``Graph.subscribe`` listeners receive: one frozen value per change, matched by class
# (``isinstance``), so a listener cannot misspell an event's name or guess its keys. Nodes
# are named by id (a removed node's object is gone by the time listeners hear of it).
@dataclass(frozen=True, slots=True)
class GraphEvent:
    """A change of a graph, heard by its listeners after it is made."""


@dataclass(frozen=True, slots=True)
class NodeAdded(GraphEvent):
    node: str


@dataclass(frozen=True, slots=True)
class NodeRemoved(GraphEvent):
    node: str


@dataclass(frozen=True, slots=True)
class EdgeAdded(GraphEvent):
    edge: Edge


@dataclass(frozen=True, slots=True)
class EdgeRemoved(GraphEvent):
    edge: Edge


@dataclass(frozen=True, slots=True)
class ParamsChanged(GraphEvent):
    node: str
    names: tuple[str, ...]  # the parameters the edit set (others may follow from them)


@dataclass(frozen=True, slots=True)
class Moved(GraphEvent):
    node: str


@dataclass(frozen=True, slots=True)
class Renamed(GraphEvent):
    node: str


@dataclass(frozen=True, slots=True)
class SilencedChanged(GraphEvent):
    node: str
    lint: str


@dataclass(frozen=True, slots=True)
class TrainingChanged(GraphEvent):
    """A model node was frozen/unfrozen or its lr_scale changed."""

    node: str


@dataclass(frozen=True, slots=True)
class BlockAdded(GraphEvent):
    block: str  # the block type's name


@dataclass(frozen=True, slots=True)
class BlockRemoved(GraphEvent):
    block: str


@dataclass(frozen=True, slots=True)
class BlockChanged(GraphEvent):
    """A registered block's definition was replaced (an edit inside it): its instances
    took the new spec."""

    block: str


@dataclass(frozen=True, slots=True)
class GraphChanged(GraphEvent):
    """A whole-graph field changed (``settings``, ``name``, ``frames``, ``collapsed``…);
    ``key``: which entry of a dict field (None: the whole field)."""

    field: str
    key: str | None = None


Listener = Callable[[GraphEvent], None]

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
    # block types usable in this graph (engine.blocks), by type name
    blocks: dict[str, BlockDef] = field(default_factory=dict, compare=False)
    # what this graph exposes when it is registered as a block (``add_block`` without
    # ``expose``; set by ``engine.blocks.load_library``), and its block version
    exposed: dict[str, list[str]] = field(default_factory=dict, compare=False)
    block_version: int = field(default=1, compare=False)
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

    def _emit(self, event: GraphEvent) -> None:
        """Tell the listeners of a change already made (and count it in ``revision``)."""
        self.revision += 1
        for fn in list(self._listeners):
            fn(event)

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

    def fresh_name(self, base: str, reserved: Collection[str] = ()) -> str:
        """``base`` when no node has it as id or name (and it is not ``reserved``), else the
        smallest free ``<stem>_<i>`` (i >= 2; ``fc_3`` counts on from ``fc``). ``reserved``:
        names about to be used, e.g. by the other nodes of one paste."""
        if not self._taken(base) and base not in reserved:
            return base
        m = _SUFFIXED.match(base)
        stem = m.group(1) if m else base
        i = 2
        while self._taken(f"{stem}_{i}") or f"{stem}_{i}" in reserved:
            i += 1
        return f"{stem}_{i}"

    def _fresh_id(self, type_name: str, reserved: Collection[str] = ()) -> str:
        """The type's snake-case name, or the smallest free ``name_<i>`` (ids and names)."""
        base = re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", type_name).lower()
        base = re.sub(r"[^a-z0-9_]", "_", base)
        if reserved:
            return self.fresh_name(base, reserved)
        if not self._taken(base):
            return base
        i = self._floor.get(base, 2)
        while self._taken(f"{base}_{i}"):
            i += 1
        self._floor[base] = i  # base_2 .. base_(i-1) are all taken
        return f"{base}_{i}"

    # -- edits: each builds an engine.ops op and applies it (one set of rules) ----------
    def apply(self, op: Op) -> Op:
        """Apply an edit operation (``engine.ops``); return the op that undoes it exactly.

        A refused op raises GraphError and leaves the graph unchanged (a Batch too)."""
        return op.apply(self)

    def check_op(self, op: Op) -> str | None:
        """Why ``apply(op)`` would be refused, in plain words; None if it would not.
        A dry run: the graph is not changed."""
        return op.problem(self)

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
        from engine.ops import AddNode

        inverse = self.apply(AddNode(type_name, id, name, pos, params))
        return inverse.node  # type: ignore[attr-defined,no-any-return]  # a RemoveNode

    def set(self, node_id: str, **params: Any) -> None:
        """Change some parameters of a node; invalid values raise GraphError and change nothing."""
        from engine.ops import SetParams

        self.apply(SetParams(node_id, params))

    def silence(self, node_id: str, lint_id: str, reason: str | None) -> None:
        """Silence lint ``lint_id`` on a node with the user's ``reason`` (None: speak again)."""
        from engine.ops import SetSilenced

        self.apply(SetSilenced(node_id, lint_id, reason))

    def freeze(self, node_id: str, frozen: bool = True) -> None:
        """Freeze (or unfreeze) a model node: training keeps its weights as they are.

        Why on the node and not in the training settings: the canvas shows it, and it
        travels with the node when the graph is edited, copied or saved.
        """
        from engine.ops import SetTraining

        if not isinstance(frozen, bool):
            name = self.node(node_id).name
            raise GraphError(f"{name}: frozen must be true or false, got {frozen!r}")
        self.apply(SetTraining(node_id, frozen=frozen))

    def set_lr_scale(self, node_id: str, scale: float) -> None:
        """Multiply the optimizer's learning rate by ``scale`` (> 0) for this node's weights."""
        from engine.ops import SetTraining

        self.apply(SetTraining(node_id, lr_scale=scale))

    def rename(self, node_id: str, name: str) -> None:
        from engine.ops import Rename

        self.apply(Rename(node_id, name))

    def move(self, node_id: str, pos: tuple[float, float]) -> None:
        from engine.ops import Move

        self.apply(Move(node_id, pos))

    def remove(self, node_id: str) -> None:
        """Remove a node and every edge touching it."""
        from engine.ops import RemoveNode

        self.apply(RemoveNode(node_id))

    # -- the primitives ops use: no rules here, only the data and its indexes ------------
    def _node_position(self, node_id: str) -> int:
        if next(reversed(self.nodes), None) == node_id:
            return len(self.nodes) - 1
        return list(self.nodes).index(node_id)

    def _put_node(self, node: Node, index: int | None = None) -> None:
        names = self._name_index()
        nodes = self.nodes
        if index is None or index >= len(nodes):
            dict.__setitem__(nodes, node.id, node)  # the Graph's own change: index kept
        else:
            items = list(nodes.items())
            items.insert(index, (node.id, node))
            dict.clear(nodes)
            dict.update(nodes, items)
        names[node.name] = node.id
        self._emit(NodeAdded(node.id))

    def _drop_node(self, node_id: str) -> None:
        """Remove a node that no edge touches any more."""
        node = self.nodes[node_id]
        names = self._name_index()
        dict.__delitem__(self.nodes, node_id)
        if names.get(node.name) == node_id:
            del names[node.name]
        if self._names_dup:
            self._names = None
        self._freed(node_id)
        self._freed(node.name)
        self._emit(NodeRemoved(node_id))

    def _put_edge(self, edge: Edge, index: int | None = None) -> None:
        if index is None or index >= len(self.edges):
            self.edges.append(edge)
        else:
            self.edges.insert(index, edge)
        self._emit(EdgeAdded(edge))

    def _drop_edge(self, edge: Edge) -> int:
        i = self._ix.pop_edge(edge)
        self._emit(EdgeRemoved(edge))
        return i

    def _set_params(self, node_id: str, values: dict[str, Any], names: list[str]) -> None:
        self.nodes[node_id].params = values
        self._emit(ParamsChanged(node_id, tuple(names)))

    def _set_pos(self, node_id: str, pos: tuple[float, float]) -> None:
        self.nodes[node_id].pos = (float(pos[0]), float(pos[1]))
        self._emit(Moved(node_id))

    def _set_silenced(self, node_id: str, silenced: dict[str, str], lint_id: str) -> None:
        self.nodes[node_id].silenced = silenced
        self._emit(SilencedChanged(node_id, lint_id))

    def _set_name(self, node_id: str, name: str) -> None:
        node = self.nodes[node_id]
        names = self._name_index()
        old = node.name
        node.name = name
        if names.get(old) == node_id:
            del names[old]
        names[name] = node_id
        self._names_stamp = self._stamp()  # our own rename: the index is up to date
        if self._names_dup:
            self._names = None  # another node may carry the old name too
        self._freed(old)
        self._emit(Renamed(node_id))

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
        return self._connect_problem(src, src_port, dst, dst_port, cycles=cycles)[0]

    def _connect_problem(
        self,
        src: str,
        src_port: str,
        dst: str,
        dst_port: str,
        *,
        cycles: bool = True,
        replace: bool = False,
    ) -> tuple[str | None, Edge | None]:
        """``connection_problem``, and with ``replace`` the wire a taken single input would
        lose to this one (returned second; the cycle test is the same without it, since a
        path from ``dst`` through a wire into ``dst`` only comes back to ``dst``)."""
        if src not in self.nodes or dst not in self.nodes:
            return "both ends must be nodes of this graph", None
        a, b = self.nodes[src], self.nodes[dst]
        if src == dst:
            return f"{a.name} cannot feed itself", None
        out = _find_port(a.spec.outputs, src_port)
        if out is None:
            return f"{a.name} has no output {src_port!r}", None
        inp = _find_port(b.spec.inputs, dst_port)
        if inp is None:
            return f"{b.name} has no input {dst_port!r}", None
        if not port_kinds_compatible(out.kind, inp.kind):
            return (
                f"{a.name}.{out.name} carries {out.kind}, but {b.name}.{inp.name} takes {inp.kind}"
            ), None
        if Edge(src, src_port, dst, dst_port) in self.edges:
            return "these ports are already connected", None
        replaced = None
        if not inp.multi:
            taken = next((e for e in self._ix.into(dst) if e.dst_port == dst_port), None)
            if taken is not None and not replace:
                return f"{b.name}.{inp.name} is already connected", None
            replaced = taken
        if cycles and self.reaches(dst, src):
            return f"connecting {a.name} → {b.name} would make a cycle", None
        return None, replaced

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
        """Connect ``src``'s output to ``dst``'s input (a taken single input refuses it;
        ``engine.ops.Connect`` can replace the wire there instead).

        Without port names: the first output of ``src`` whose kind fits, into the first
        free input of ``dst`` whose kind fits. ``"node:port"`` also names a port.
        """
        from engine.ops import Connect

        src, src_port = self._split(src, src_port)
        dst, dst_port = self._split(dst, dst_port)
        a, b = self.node(src), self.node(dst)
        if src_port is None or dst_port is None:
            src_port, dst_port = self._pick_ports(a, b, src_port, dst_port)
        op = Connect(src, src_port, dst, dst_port, replace=False, allow_cycle=allow_cycle)
        self.apply(op)
        return op.edge

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
        from engine.ops import Disconnect

        for e in matches:
            self.apply(Disconnect.of(e))
        return len(matches)

    def in_edges(self, node_id: str) -> list[Edge]:
        """Edges into a node, in port order, then in connection order."""
        node = self.node(node_id)
        order = {p.name: i for i, p in enumerate(node.spec.inputs)}
        edges = self._ix.into(node_id)
        return sorted(edges, key=lambda e: order.get(e.dst_port, 99))

    def out_edges(self, node_id: str) -> list[Edge]:
        return self._ix.out_of(node_id)

    # -- blocks ------------------------------------------------------------------------
    def add_block(
        self,
        blk: Graph,
        expose: dict[str, list[str]] | None = None,
        *,
        version: int | None = None,
    ) -> BlockDef:
        """Register ``blk`` as the node type ``blk.name`` in this graph (see engine.blocks).

        ``expose`` maps the block's parameter names to inner ``"node.param"`` references
        (default: ``blk.exposed``). The blocks ``blk`` uses are registered too. The same
        definition registered twice is fine; a different one under a taken name is not.
        """
        from engine.blocks import BlockError, define

        if blk is self:
            raise GraphError(f"block {blk.name} contains itself: a graph cannot be its own block")
        try:
            d = define(
                blk,
                blk.exposed if expose is None else expose,
                blk.block_version if version is None else version,
            )
            for dep in [*d.graph.blocks.values(), d]:
                self._register_block(dep)
        except BlockError as e:
            raise GraphError(str(e)) from None
        return self.blocks[d.name]

    def _register_block(self, d: BlockDef) -> None:
        from engine.blocks import BlockError

        have = self.blocks.get(d.name)
        if have is not None:
            if not have.same_as(d):
                raise BlockError(
                    f"a different block named {d.name!r} is already registered in this graph"
                )
            return
        self.blocks[d.name] = d
        self._emit(BlockAdded(d.name))

    def remove_block(self, name: str) -> None:
        """Unregister the block type ``name`` (refused while an instance of it, or a block
        using it, is left; ``engine.block_ops.RemoveBlock``)."""
        from engine.block_ops import RemoveBlock

        self.apply(RemoveBlock(name))

    # primitives of the block ops: no rules here, the registry's order is kept
    def _put_block(self, d: BlockDef, index: int | None = None) -> None:
        items = list(self.blocks.items())
        at = len(items) if index is None else min(index, len(items))
        items.insert(at, (d.name, d))
        self.blocks = dict(items)
        self._emit(BlockAdded(d.name))

    def _drop_block(self, name: str) -> int:
        index = list(self.blocks).index(name)
        self.blocks = {k: v for k, v in self.blocks.items() if k != name}
        self._emit(BlockRemoved(name))
        return index

    def _replace_block(self, d: BlockDef) -> None:
        """Swap in a new definition of a registered block; its instances take its spec."""
        self.blocks = {k: (d if k == d.name else v) for k, v in self.blocks.items()}
        for n in self.nodes.values():
            if n.type == d.name:
                n.block_spec = d.spec
        self._emit(BlockChanged(d.name))

    # -- whole graph -------------------------------------------------------------------
    def copy(self) -> Graph:
        g = Graph(
            nodes={
                k: Node(
                    v.id,
                    v.type,
                    _plain(v.params),
                    v.name,
                    v.pos,
                    dict(v.silenced),
                    v.frozen,
                    v.lr_scale,
                    v.block_spec,
                )
                for k, v in self.nodes.items()
            },
            edges=list(self.edges),
            name=self.name,
            settings=copy.deepcopy(self.settings),
            ui=copy.deepcopy(self.ui),
            blocks=dict(self.blocks),  # definitions never change: shared, not copied
            exposed=copy.deepcopy(self.exposed),
            block_version=self.block_version,
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
                    **({"frozen": True} if n.frozen else {}),
                    **({"lr_scale": n.lr_scale} if n.lr_scale != 1.0 else {}),
                }
                for n in self.nodes.values()
            ],
            "edges": [
                {"from": e.src, "from_port": e.src_port, "to": e.dst, "to_port": e.dst_port}
                for e in self.edges
            ],
            "settings": copy.deepcopy(self.settings),
            "ui": copy.deepcopy(self.ui),
            **({"blocks": self.blocks_to_list()} if self.blocks else {}),
            **({"frames": [f.to_dict() for f in self.frames]} if self.frames else {}),
            **(
                {"collapsed": shown}
                if (shown := sorted(self.collapsed & self.nodes.keys()))
                else {}
            ),
        }

    def blocks_to_list(self) -> list[dict[str, Any]]:
        """The block definitions, each after the blocks it uses (a project's ``blocks``)."""
        from engine.blocks import dependency_order

        return [d.to_dict() for d in dependency_order(self.blocks.values())]

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, blocks: dict[str, BlockDef] | None = None) -> Graph:
        """Build a graph from its plain form; every problem raises GraphError.

        Cycles are allowed here (a saved project may hold one); ``check`` reports them.
        Block types come from ``data["blocks"]`` (and ``blocks``, already made).
        """
        g = cls(name=str(data.get("name", "model")))
        if blocks:
            g.blocks.update(blocks)
        if data.get("blocks"):
            from engine.blocks import BlockError, defs_from_list

            try:
                for d in defs_from_list(data["blocks"]):
                    g._register_block(d)
            except BlockError as e:
                raise GraphError(str(e)) from None
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
            try:
                if nd.get("frozen", False) is not False:
                    g.freeze(str(nd["id"]), nd["frozen"])
                if nd.get("lr_scale", 1.0) != 1.0:
                    g.set_lr_scale(str(nd["id"]), nd["lr_scale"])
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
        try:
            g.frames = frames_from_list(data.get("frames"))
            g.collapsed = collapsed_from_list(data.get("collapsed"), g.nodes)
        except FrameError as e:
            raise GraphError(str(e)) from None
        g.revision = 0
        return g


MAX_LR_SCALE = 1e6  # a multiplier beyond this is a typo, not a learning rate


def topological_order(
    ids: Iterable[str], successors: Callable[[str], Iterable[str]]
) -> tuple[list[str], set[str]]:
    """Kahn's order of ``ids`` (ties in the given order) and the ids on or after a cycle,
    which it cannot place; the check and the layout both order nodes with it."""
    ids = list(ids)
    succ = {n: list(successors(n)) for n in ids}
    indeg = dict.fromkeys(ids, 0)
    for n in ids:
        for m in succ[n]:
            indeg[m] += 1
    ready = [n for n in ids if indeg[n] == 0]
    i = 0
    while i < len(ready):
        n = ready[i]
        i += 1
        for m in succ[n]:
            indeg[m] -= 1
            if indeg[m] == 0:
                ready.append(m)
    return ready, {n for n in ids if indeg[n] > 0}


def check_lr_scale(scale: Any, name: str = "lr_scale") -> float:
    """``scale`` as a learning-rate multiplier (a finite number > 0), or GraphError."""
    if isinstance(scale, bool) or not isinstance(scale, int | float):
        raise GraphError(f"{name}: lr_scale must be a number, got {scale!r}")
    v = float(scale)
    if not (v > 0 and v <= MAX_LR_SCALE):
        raise GraphError(f"{name}: lr_scale must be above 0 and at most {MAX_LR_SCALE:g}, got {v}")
    return v


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
