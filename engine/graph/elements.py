"""The parts of a graph: nodes, edges and their indexes, the events listeners hear, and the
small rules every layer above shares (port kinds, learning-rate multipliers, topological order).

Why a module of its own: the edit ops (``engine.graph.ops``), the blocks and the ``Graph``
class all build on these; keeping them here lets each of those import downward only.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine import catalog
from engine.catalog.base import NodeSpec, Port
from engine.errors import TorchwireError


class GraphError(TorchwireError, ValueError):
    """A graph that cannot be edited, checked or compiled as asked; ``problems`` lists why."""

    def __init__(self, message: str, problems: list[Any] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


# Bumped whenever a node is renamed after it was made (by ``Graph.rename`` or by a direct
# ``node.name = ...``), so every Graph knows when its name index may be stale.
_renames = itertools.count(1)
_rename_epoch = 0


def rename_epoch() -> int:
    """The count of renames so far: a Graph's name index is stale when this moved."""
    return _rename_epoch


@dataclass
class Node:
    id: str
    type: str
    params: dict[str, Any]
    name: str
    pos: tuple[float, float] = (0.0, 0.0)
    # lint id -> the user's reason for silencing that lint on this node (engine.analysis.lints)
    silenced: dict[str, str] = field(default_factory=dict)
    # transfer learning: a frozen node's weights are not trained (no gradient, not given to
    # the optimizer, its BatchNorm statistics kept); lr_scale multiplies the learning rate
    frozen: bool = False
    lr_scale: float = 1.0
    # the spec of a block instance (engine.graph.blocks): block types live in their graph's
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
    ``edges[:] = ...``; edits themselves go through ``engine.graph.ops``). The indexes (edges by source, by destination, a
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
SUFFIXED = re.compile(r"^(.+)_(\d+)$")


def port_kinds_compatible(out_kind: str, in_kind: str) -> bool:
    return out_kind == "any" or in_kind == "any" or (out_kind, in_kind) in _PORT_KINDS_OK


class EditableGraph(Protocol):
    """What the edit ops and the blocks need of a graph: its data, its indexes and the
    primitives that change them without rules. ``engine.graph.graph.Graph`` is one; the ops
    are typed against this protocol so that they never import the class that applies them
    (as torch.fx's nodes see their Graph), and the graph package has no import cycle."""

    nodes: NodeDict
    edges: list[Edge]
    blocks: dict[str, Any]
    name: str
    settings: dict[str, Any]
    frames: tuple[Any, ...]
    collapsed: frozenset[str]

    @property
    def edge_index(self) -> EdgeList: ...
    def node(self, node_id: str) -> Node: ...
    def by_name(self, name: str) -> Node: ...
    def name_index(self) -> dict[str, str]: ...
    def fresh_id(self, type_name: str, reserved: Collection[str] = ()) -> str: ...
    def node_position(self, node_id: str) -> int: ...
    def apply(self, op: Any) -> Any: ...
    def emit(self, event: GraphEvent) -> None: ...
    def copy(self) -> EditableGraph: ...
    def to_dict(self, *, blocks: bool = True) -> dict[str, Any]: ...
    def connect_problem(self, *args: Any, **kwargs: Any) -> Any: ...
    def put_node(self, node: Node, index: int | None = None) -> None: ...
    def drop_node(self, node_id: str) -> None: ...
    def put_edge(self, edge: Edge, index: int | None = None) -> None: ...
    def drop_edge(self, edge: Edge) -> int: ...
    def store_params(self, node_id: str, values: dict[str, Any], names: list[str]) -> None: ...
    def store_pos(self, node_id: str, pos: tuple[float, float]) -> None: ...
    def store_silenced(self, node_id: str, silenced: dict[str, str], lint_id: str) -> None: ...
    def store_name(self, node_id: str, name: str) -> None: ...
    def put_block(self, d: Any, index: int | None = None) -> None: ...
    def drop_block(self, name: str) -> int: ...
    def replace_block(self, d: Any) -> None: ...
    def add_block(
        self, blk: Any, expose: Mapping[str, list[str]] | None = None, *, version: int | None = None
    ) -> Any: ...
    def add(self, type_name: str, **kwargs: Any) -> str: ...


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


def find_port(ports: tuple[Port, ...], name: str) -> Port | None:
    for p in ports:
        if p.name == name:
            return p
    return None


def plain(value: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, tuples, scalars), ~20x cheaper than deepcopy;
    anything else is deep-copied."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(plain(v) for v in value)
    return copy.deepcopy(value)
