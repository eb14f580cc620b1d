"""Typed edit operations on a ``EditableGraph``: the one place the rules of editing live.

Why ops rather than methods only: the designer's undo stack, scripts, tests and logs all
need an edit as a *value* — something that can be checked without being done
(``EditableGraph.check_op``), done (``EditableGraph.apply``), undone exactly, shown to a user ("Connect
conv1 → relu1") and written down (``to_dict``/``Op.from_dict``). ``EditableGraph``'s own methods
(``add``, ``connect``, ``set``, …) build one of these and apply it, so a rule (a name is
taken, a port carries the wrong kind, a value is out of range) is written once, here and in
the EditableGraph's ``connection_problem``.

``op.apply(graph)`` returns the op that undoes it *exactly*: applying the inverse gives a
graph whose project JSON is byte-identical to the one before — node order (ids keep their
place), edge order (which is Concat's input order), ids, names, positions, parameters and
silenced lints. A refused op raises ``GraphError`` and changes nothing; a ``Batch`` is
atomic (if one of its ops is refused, the ones already applied are undone).

New kinds (the blocks' MakeBlock/Ungroup) subclass ``Op`` as frozen dataclasses and
implement ``_check``/``_do``; they register themselves by class name for ``from_dict``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from engine import catalog
from engine.catalog.base import ParamError
from engine.graph.elements import (
    Edge,
    EditableGraph,
    GraphChanged,
    GraphError,
    Node,
    TrainingChanged,
    check_lr_scale,
    plain,
)
from engine.graph.frames import Frame, FrameError, frame_from_dict

__all__ = [
    "AddNode",
    "Batch",
    "Connect",
    "Disconnect",
    "Move",
    "Op",
    "RemoveNode",
    "Rename",
    "RenameProject",
    "SetCollapsed",
    "SetFrames",
    "SetParams",
    "SetSettings",
    "SetSilenced",
    "SetTraining",
    "op_kinds",
]

_KINDS: dict[str, type[Op]] = {}


def op_kinds() -> dict[str, type[Op]]:
    """Every registered op class by its ``to_dict`` name (a copy)."""
    return dict(_KINDS)


def _name(graph: EditableGraph, node_id: str) -> str:
    node = graph.nodes.get(node_id)
    return node.name if node is not None else node_id


@dataclass(frozen=True)
class Op:
    """One edit of a graph. Subclasses are frozen dataclasses of plain values (ids, not
    Node objects), so an op can be kept, compared, logged and replayed.

    A subclass implements ``_check(graph)`` -> (problem or None, what ``_do`` needs) and
    ``_do(graph, prepared)`` -> the inverse op, plus ``describe``. ``_many`` is the text of
    a Batch made of ``n`` ops of this kind ("Move {n} nodes").
    """

    _many: ClassVar[str] = "{n} edits"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _KINDS[cls.__name__] = cls

    # -- the contract -----------------------------------------------------------------------
    def _check(self, graph: EditableGraph) -> tuple[str | None, Any]:
        raise NotImplementedError

    def _do(self, graph: EditableGraph, prepared: Any) -> Op:
        raise NotImplementedError

    def describe(self, graph: EditableGraph) -> str:
        """What this op does, in the user's words, for the graph it is about to edit."""
        return type(self).__name__

    # -- public -----------------------------------------------------------------------------
    def problem(self, graph: EditableGraph) -> str | None:
        """Why ``graph`` would refuse this op, in plain words; None when it would not.
        Changes nothing."""
        return self._check(graph)[0]

    def apply(self, graph: EditableGraph) -> Op:
        """Do this op on ``graph`` and return the op that undoes it exactly.

        A refused op raises GraphError and leaves the graph as it was."""
        problem, prepared = self._check(graph)
        if problem is not None:
            raise GraphError(problem)
        return self._do(graph, prepared)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form: ``{"op": <kind>, <field>: <value>, ...}``."""
        out: dict[str, Any] = {"op": type(self).__name__}
        for f in dataclasses.fields(self):
            out[f.name] = _jsonable(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Op:
        """The op written by ``to_dict``; a malformed one raises GraphError."""
        if not isinstance(data, dict):
            raise GraphError(f"an edit operation must be an object, got {type(data).__name__}")
        kind = data.get("op")
        op_cls = _KINDS.get(kind) if isinstance(kind, str) else None
        if op_cls is None or (cls is not Op and not issubclass(op_cls, cls)):
            raise GraphError(f"unknown edit operation {kind!r}")
        names = {f.name for f in dataclasses.fields(op_cls)}
        extra = sorted(set(data) - names - {"op"})
        if extra:
            raise GraphError(f"{kind}: unknown field(s) {', '.join(extra)}")
        try:
            return op_cls(**{k: v for k, v in data.items() if k != "op"})
        except (TypeError, ValueError) as e:
            raise GraphError(f"{kind}: {e}") from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, Op):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def set_field(op: Op, name: str, value: Any) -> None:
    object.__setattr__(op, name, value)  # normalising a frozen dataclass in __post_init__


def _pos(value: Any) -> tuple[float, float]:
    x, y = value
    return (float(x), float(y))


def _bad_index(index: int | None, size: int) -> str | None:
    if index is None:
        return None
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= size:
        return f"position {index!r} is outside 0..{size}"
    return None


# -- nodes -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AddNode(Op):
    """Add a node. ``id`` None: a fresh readable id; ``name`` None: the id; ``pos`` None:
    right of the others; ``index`` None: last in node order (an inverse puts it back)."""

    type: str
    id: str | None = None
    name: str | None = None
    pos: tuple[float, float] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    silenced: dict[str, str] = field(default_factory=dict)
    index: int | None = None
    frozen: bool = False
    lr_scale: float = 1.0

    _many: ClassVar[str] = "Add {n} nodes"

    def __post_init__(self) -> None:
        if self.pos is not None:
            set_field(self, "pos", _pos(self.pos))
        set_field(self, "params", dict(self.params))
        set_field(self, "silenced", {str(k): str(v) for k, v in dict(self.silenced).items()})

    @classmethod
    def of(cls, node: Node, index: int | None = None) -> AddNode:
        """The op that adds ``node`` again as it is (a copy of its values)."""
        return cls(
            node.type,
            node.id,
            node.name,
            node.pos,
            plain(node.params),
            dict(node.silenced),
            index,
            node.frozen,
            node.lr_scale,
        )

    def _check(self, graph: EditableGraph) -> tuple[str | None, Any]:
        type_name = self.type
        block = graph.blocks.get(type_name)  # a block type registered in this graph
        if block is None and not catalog.has(type_name):
            return f"unknown node type {type_name!r}", None
        spec = block.spec if block is not None else catalog.get(type_name)
        try:
            values = spec.coerce_params(self.params)
        except ParamError as e:
            msg = str(e)
            return (msg if msg.startswith(type_name) else f"{type_name}: {msg}"), None
        node_id = self.id or graph.fresh_id(type_name)
        if node_id in graph.nodes:
            return f"a node with id {node_id!r} already exists", None
        name = self.name or node_id
        if name in graph.name_index():
            return f"a node named {name!r} already exists", None
        bad = _bad_index(self.index, len(graph.nodes))
        if bad is not None:
            return f"{name}: {bad}", None
        pos = self.pos if self.pos is not None else (len(graph.nodes) * 220.0, 0.0)
        problem = _training_problem(spec, name, self.frozen, self.lr_scale)
        if problem is not None:
            return problem, None
        node = Node(node_id, type_name, plain(values), name, pos, dict(self.silenced))
        node.frozen, node.lr_scale = self.frozen, float(self.lr_scale)
        if block is not None:
            node.block_spec = block.spec
        return None, node

    def _do(self, graph: EditableGraph, prepared: Node) -> Op:
        graph.put_node(prepared, self.index)
        return RemoveNode(prepared.id)

    def describe(self, graph: EditableGraph) -> str:
        return f"Add {self.type}"


@dataclass(frozen=True)
class RemoveNode(Op):
    """Remove a node and every wire touching it; the inverse restores both, in place."""

    node: str

    _many: ClassVar[str] = "Delete {n} nodes"

    def _check(self, graph: EditableGraph) -> tuple[str | None, Any]:
        if self.node not in graph.nodes:
            return f"no node {self.node!r} in the graph", None
        return None, None

    def _do(self, graph: EditableGraph, prepared: Any) -> Op:
        node = graph.nodes[self.node]
        index = graph.node_position(self.node)
        restore: list[Op] = [AddNode.of(node, index)]
        for k, e in enumerate(graph.edge_index.touching(self.node)):  # in list order
            i = graph.drop_edge(e)
            restore.append(Connect.of(e, index=i + k, replace=False, allow_cycle=True))
        graph.drop_node(self.node)
        return restore[0] if len(restore) == 1 else Batch(tuple(restore))

    def describe(self, graph: EditableGraph) -> str:
        return f"Delete {_name(graph, self.node)}"


@dataclass(frozen=True)
class SetParams(Op):
    """Change some parameters of a node (the others keep their values), via the catalog's
    declarations: a value it refuses makes the op refused."""

    node: str
    params: dict[str, Any]

    def __post_init__(self) -> None:
        set_field(self, "params", dict(self.params))

    def _check(self, graph: EditableGraph) -> tuple[str | None, Any]:
        node = graph.nodes.get(self.node)
        if node is None:
            return f"no node {self.node!r} in the graph", None
        try:
            return None, node.spec.coerce_params({**node.params, **self.params})
        except ParamError as e:
            return f"{node.name}: {e}", None

    def _do(self, graph: EditableGraph, prepared: dict[str, Any]) -> Op:
        old = graph.nodes[self.node].params
        keys = [k for k in prepared if k in self.params or prepared[k] != old.get(k)]
        graph.store_params(self.node, plain(prepared), sorted(self.params))
        return SetParams(self.node, {k: plain(old[k]) for k in keys if k in old})

    def effective(self, graph: EditableGraph) -> SetParams:
        """This op reduced to the values it really changes (coerced); raises GraphError if
        refused. An empty ``params`` means the op would change nothing."""
        problem, new = self._check(graph)
        if problem is not None:
            raise GraphError(problem)
        old = graph.nodes[self.node].params
        return SetParams(self.node, {k: new[k] for k in self.params if new[k] != old.get(k)})

    def describe(self, graph: EditableGraph) -> str:
        return f"Set {_name(graph, self.node)}.{', '.join(sorted(self.params))}"


@dataclass(frozen=True)
class Move(Op):
    """Put a node at ``pos`` on the canvas."""

    node: str
    pos: tuple[float, float]

    _many: ClassVar[str] = "Move {n} nodes"

    def __post_init__(self) -> None:
        set_field(self, "pos", _pos(self.pos))

    def _check(self, graph: EditableGraph) -> tuple[str | None, Any]:
        if self.node not in graph.nodes:
            return f"no node {self.node!r} in the graph", None
        return None, None

    def _do(self, graph: EditableGraph, prepared: Any) -> Op:
        old = graph.nodes[self.node].pos
        graph.store_pos(self.node, self.pos)
        return Move(self.node, old)

    def describe(self, graph: EditableGraph) -> str:
        return f"Move {_name(graph, self.node)}"


@dataclass(frozen=True)
class Rename(Op):
    """Give a node another name (surrounding spaces dropped); names stay unique."""

    node: str
    name: str

    def _check(self, graph: EditableGraph) -> tuple[str | None, Any]:
        if self.node not in graph.nodes:
            return f"no node {self.node!r} in the graph", None
        name = str(self.name).strip()
        if not name:
            return "a node's name cannot be empty", None
        if graph.name_index().get(name, self.node) != self.node:
            return f"a node named {name!r} already exists", None
        return None, name

    def _do(self, graph: EditableGraph, prepared: str) -> Op:
        old = graph.nodes[self.node].name
        graph.store_name(self.node, prepared)
        return Rename(self.node, old)

    def describe(self, graph: EditableGraph) -> str:
        return f"Rename {_name(graph, self.node)} to {str(self.name).strip()}"


@dataclass(frozen=True)
class SetSilenced(Op):
    """Silence lint ``lint`` on a node with the user's ``reason`` (None: let it speak
    again). ``at``: where a newly silenced lint goes among the node's (None: last)."""

    node: str
    lint: str
    reason: str | None
    at: int | None = None

    def _check(self, graph: EditableGraph) -> tuple[str | None, Any]:
        node = graph.nodes.get(self.node)
        if node is None:
            return f"no node {self.node!r} in the graph", None
        bad = _bad_index(self.at, len(node.silenced))
        return (f"{node.name}: {bad}" if bad else None), None

    def _do(self, graph: EditableGraph, prepared: Any) -> Op:
        old = graph.nodes[self.node].silenced
        items = list(old.items())
        keys = [k for k, _ in items]
        was = keys.index(self.lint) if self.lint in old else None
        if self.reason is None:
            new = {k: v for k, v in items if k != self.lint}
        elif was is not None:
            new = {k: (self.reason if k == self.lint else v) for k, v in items}
        else:
            at = len(items) if self.at is None else self.at
            new = dict([*items[:at], (self.lint, self.reason), *items[at:]])
        graph.store_silenced(self.node, new, self.lint)
        if was is None:
            return SetSilenced(self.node, self.lint, None)
        return SetSilenced(self.node, self.lint, old[self.lint], at=was)

    def describe(self, graph: EditableGraph) -> str:
        return f"{'Silence' if self.reason is not None else 'Unsilence'} {self.lint}"


# -- the project's own fields -------------------------------------------------------------------
@dataclass(frozen=True)
class SetSettings(Op):
    """Replace one section of the project's settings (``training``, ``tuning``…) with
    ``values``; None removes the section. ``at``: where a new section goes among the
    sections (None: last), so undoing a removal puts the section back in its place."""

    section: str
    values: Any
    at: int | None = None

    def __post_init__(self) -> None:
        set_field(self, "values", plain(self.values))  # the op keeps its own copy

    def _check(self, graph: EditableGraph) -> tuple[str | None, Any]:
        if not isinstance(self.section, str) or not self.section:
            return "a settings section needs a name", None
        return _bad_index(self.at, len(graph.settings)), None

    def _do(self, graph: EditableGraph, prepared: Any) -> Op:
        settings = graph.settings
        items = list(settings.items())
        keys = [k for k, _ in items]
        was = keys.index(self.section) if self.section in settings else None
        old = settings.get(self.section)
        value = plain(self.values)
        if self.values is None:
            new = [(k, v) for k, v in items if k != self.section]
        elif was is not None:
            new = [(k, value if k == self.section else v) for k, v in items]
        else:
            at = len(items) if self.at is None else self.at
            new = [*items[:at], (self.section, value), *items[at:]]
        settings.clear()  # in place: whoever holds graph.settings sees the change
        settings.update(new)
        graph.emit(GraphChanged("settings", self.section))
        if was is None:
            return SetSettings(self.section, None)
        return SetSettings(self.section, old, at=was)

    def describe(self, graph: EditableGraph) -> str:
        return f"Set {self.section}"


@dataclass(frozen=True)
class RenameProject(Op):
    """Give the project (the graph) another name: its run folders and exports take it."""

    name: str

    def _check(self, graph: EditableGraph) -> tuple[str | None, Any]:
        if not isinstance(self.name, str) or not self.name:
            return "a project's name cannot be empty", None
        return None, None

    def _do(self, graph: EditableGraph, prepared: Any) -> Op:
        old = graph.name
        graph.name = self.name
        graph.emit(GraphChanged("name"))
        return RenameProject(old)

    def describe(self, graph: EditableGraph) -> str:
        return "Set name"


@dataclass(frozen=True)
class SetFrames(Op):
    """Replace the canvas's frames (``engine.graph.frames``), all of them, in order."""

    frames: tuple[Frame, ...]

    def __post_init__(self) -> None:
        try:
            frames = tuple(
                f if isinstance(f, Frame) else frame_from_dict(f, i)
                for i, f in enumerate(self.frames, 1)
            )
        except FrameError as e:
            raise ValueError(str(e)) from None
        set_field(self, "frames", frames)

    def _check(self, graph: EditableGraph) -> tuple[str | None, Any]:
        return None, None

    def _do(self, graph: EditableGraph, prepared: Any) -> Op:
        old = graph.frames
        graph.frames = self.frames
        graph.emit(GraphChanged("frames"))
        return SetFrames(old)

    def describe(self, graph: EditableGraph) -> str:
        return "Change frames"

    def to_dict(self) -> dict[str, Any]:
        return {"op": type(self).__name__, "frames": [f.to_dict() for f in self.frames]}


@dataclass(frozen=True)
class SetCollapsed(Op):
    """Replace the set of nodes the canvas shows collapsed (their title bar only)."""

    nodes: frozenset[str]

    def __post_init__(self) -> None:
        set_field(self, "nodes", frozenset(self.nodes))

    def _check(self, graph: EditableGraph) -> tuple[str | None, Any]:
        return None, None

    def _do(self, graph: EditableGraph, prepared: Any) -> Op:
        old = graph.collapsed
        graph.collapsed = self.nodes
        graph.emit(GraphChanged("collapsed"))
        return SetCollapsed(old)

    def describe(self, graph: EditableGraph) -> str:
        return "Collapse nodes"

    def to_dict(self) -> dict[str, Any]:
        return {"op": type(self).__name__, "nodes": sorted(self.nodes)}


# -- wires -------------------------------------------------------------------------------------
def _training_problem(spec: Any, name: str, frozen: Any, lr_scale: Any) -> str | None:
    """Why a node cannot carry these transfer-learning settings (None: it can)."""
    if frozen is False and lr_scale == 1.0:
        return None
    if spec.kind != "model":
        return (
            f"{name}: only model layers can be frozen or have an lr_scale "
            f"({spec.type} is a {spec.kind} node)"
        )
    if not isinstance(frozen, bool):
        return f"{name}: frozen must be true or false, got {frozen!r}"
    try:
        check_lr_scale(lr_scale, name)
    except GraphError as e:
        return str(e)
    return None


@dataclass(frozen=True)
class SetTraining(Op):
    """Freeze/unfreeze a model node and set its learning-rate multiplier (transfer
    learning); None leaves that value as it is."""

    node: str
    frozen: bool | None = None
    lr_scale: float | None = None

    _many: ClassVar[str] = "Change training of {n} nodes"

    def _check(self, graph: EditableGraph) -> tuple[str | None, Any]:
        node = graph.nodes.get(self.node)
        if node is None:
            return f"no node {self.node!r} in the graph", None
        frozen = node.frozen if self.frozen is None else self.frozen
        scale = node.lr_scale if self.lr_scale is None else self.lr_scale
        if node.spec.kind != "model":  # even to set the default: a clear refusal
            return _training_problem(node.spec, node.name, True, scale), None
        problem = _training_problem(node.spec, node.name, frozen, scale)
        return problem, (frozen, float(scale))

    def _do(self, graph: EditableGraph, prepared: tuple[bool, float]) -> Op:
        node = graph.nodes[self.node]
        old = SetTraining(self.node, node.frozen, node.lr_scale)
        node.frozen, node.lr_scale = prepared
        graph.emit(TrainingChanged(self.node))
        return old

    def describe(self, graph: EditableGraph) -> str:
        name = _name(graph, self.node)
        if self.lr_scale is not None and self.frozen is None:
            return f"lr_scale of {name}"
        return f"{'Freeze' if self.frozen else 'Unfreeze'} {name}"


@dataclass(frozen=True)
class Connect(Op):
    """Wire ``src.src_port`` to ``dst.dst_port``.

    ``replace``: a new wire into a single-input port that is taken replaces the wire there
    (the inverse puts that wire back); without it, a taken input refuses the op.
    ``allow_cycle``: skip the cycle test (a loaded project may hold a cycle; the check
    reports it). ``index``: the wire's place in edge order (None: last).
    """

    src: str
    src_port: str
    dst: str
    dst_port: str
    replace: bool = True
    allow_cycle: bool = False
    index: int | None = None

    _many: ClassVar[str] = "Connect {n} wires"

    @classmethod
    def of(cls, edge: Edge, **kwargs: Any) -> Connect:
        return cls(edge.src, edge.src_port, edge.dst, edge.dst_port, **kwargs)

    @property
    def edge(self) -> Edge:
        return Edge(self.src, self.src_port, self.dst, self.dst_port)

    def _check(self, graph: EditableGraph) -> tuple[str | None, Any]:
        problem, replaced = graph.connect_problem(
            self.src,
            self.src_port,
            self.dst,
            self.dst_port,
            cycles=not self.allow_cycle,
            replace=self.replace,
        )
        if problem is None:
            problem = _bad_index(self.index, len(graph.edges) - (replaced is not None))
        return problem, replaced

    def _do(self, graph: EditableGraph, prepared: Edge | None) -> Op:
        undo: Op = Disconnect.of(self.edge)
        if prepared is not None:
            i = graph.drop_edge(prepared)
            back = Connect.of(prepared, index=i, replace=False, allow_cycle=True)
            undo = Batch((undo, back))
        graph.put_edge(self.edge, self.index)
        return undo

    def describe(self, graph: EditableGraph) -> str:
        return f"Connect {_name(graph, self.src)} → {_name(graph, self.dst)}"


@dataclass(frozen=True)
class Disconnect(Op):
    """Remove one wire; the inverse puts it back in its place in edge order."""

    src: str
    src_port: str
    dst: str
    dst_port: str

    _many: ClassVar[str] = "Disconnect {n} wires"

    @classmethod
    def of(cls, edge: Edge) -> Disconnect:
        return cls(edge.src, edge.src_port, edge.dst, edge.dst_port)

    @property
    def edge(self) -> Edge:
        return Edge(self.src, self.src_port, self.dst, self.dst_port)

    def _check(self, graph: EditableGraph) -> tuple[str | None, Any]:
        if self.edge not in graph.edges:
            a, b = _name(graph, self.src), _name(graph, self.dst)
            return f"there is no wire {a}.{self.src_port} → {b}.{self.dst_port}", None
        return None, None

    def _do(self, graph: EditableGraph, prepared: Any) -> Op:
        i = graph.drop_edge(self.edge)
        return Connect.of(self.edge, index=i, replace=False, allow_cycle=True)

    def describe(self, graph: EditableGraph) -> str:
        return f"Disconnect {_name(graph, self.src)} → {_name(graph, self.dst)}"


# -- several at once ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Batch(Op):
    """Several ops applied in order as one edit, atomically: if one is refused, the ones
    already applied are undone (listeners hear both) and GraphError names the refusal.
    ``label`` is the text a user sees ("Auto-layout"); empty: made from the ops."""

    ops: tuple[Op, ...]
    label: str = ""

    def __post_init__(self) -> None:
        set_field(self, "ops", tuple(o if isinstance(o, Op) else Op.from_dict(o) for o in self.ops))

    @classmethod
    def of(cls, ops: Iterable[Op], label: str = "") -> Batch:
        return cls(tuple(ops), label)

    def problem(self, graph: EditableGraph) -> str | None:
        """A dry run on a copy (each op sees the ones before it done)."""
        if len(self.ops) == 1:
            return self.ops[0].problem(graph)
        if not self.ops:
            return None
        trial = graph.copy()
        try:
            self.apply(trial)
        except GraphError as e:
            return str(e)
        return None

    def apply(self, graph: EditableGraph) -> Op:
        done: list[Op] = []
        try:
            for op in self.ops:
                done.append(op.apply(graph))
        except BaseException:
            for inverse in reversed(done):
                inverse.apply(graph)
            raise
        return Batch(tuple(reversed(done)), self.label)

    def describe(self, graph: EditableGraph) -> str:
        if self.label:
            return self.label
        if len(self.ops) == 1:
            return self.ops[0].describe(graph)
        kinds = {type(o) for o in self.ops}
        n = len(self.ops)
        many = kinds.pop()._many if len(kinds) == 1 else Op._many
        return many.format(n=n)
