"""The graph a user edits: plain data (nodes, edges, positions), no canvas library.

The GUI, scripts and the CLI all edit a ``Graph`` through the same methods; listeners
hear every change, which is how a canvas view stays in sync.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.graph import elements
from engine.graph.block_ops import RemoveBlock
from engine.graph.blocks import (
    MAX_BLOCK_DEPTH,
    SEP,
    BlockDef,
    BlockError,
    define,
    dependency_order,
)
from engine.graph.elements import (
    SUFFIXED,
    BlockAdded,
    BlockChanged,
    BlockRemoved,
    Edge,
    EdgeAdded,
    EdgeList,
    EdgeRemoved,
    GraphError,
    GraphEvent,
    Listener,
    Moved,
    Node,
    NodeAdded,
    NodeDict,
    NodeRemoved,
    ParamsChanged,
    Renamed,
    SilencedChanged,
    find_port,
    plain,
    port_kinds_compatible,
)
from engine.graph.frames import Frame, FrameError, collapsed_from_list, frames_from_list
from engine.graph.ops import (
    AddNode,
    Connect,
    Disconnect,
    Move,
    Op,
    RemoveNode,
    Rename,
    SetParams,
    SetSilenced,
    SetTraining,
)


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
    # block types usable in this graph (engine.graph.blocks), by type name
    blocks: dict[str, BlockDef] = field(default_factory=dict, compare=False)
    # what this graph exposes when it is registered as a block (``add_block`` without
    # ``expose``; set by ``engine.graph.blocks.load_library``), and its block version
    exposed: dict[str, list[str]] = field(default_factory=dict, compare=False)
    block_version: int = field(default=1, compare=False)
    # view-only annotations (engine.graph.frames): titled frames, nodes shown collapsed
    frames: tuple[Frame, ...] = ()
    collapsed: frozenset[str] = frozenset()
    revision: int = field(default=0, compare=False)
    # the file this graph was loaded from or saved to (absolute), None for an untitled one:
    # relative data paths, ``init_from`` and run folders resolve from its folder
    source_path: str | None = field(default=None, compare=False)
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
    def edge_index(self) -> EdgeList:
        """``edges`` with its indexes (always an EdgeList: ``__setattr__`` sees to it)."""
        return self.edges  # type: ignore[return-value]

    # -- listening ---------------------------------------------------------------------
    def subscribe(self, fn: Listener) -> Callable[[], None]:
        self._listeners.append(fn)
        return lambda: self._listeners.remove(fn) if fn in self._listeners else None

    def emit(self, event: GraphEvent) -> None:
        """Tell the listeners of a change already made (and count it in ``revision``)."""
        self.revision += 1
        for fn in list(self._listeners):
            fn(event)

    # -- the name index ----------------------------------------------------------------
    def _stamp(self) -> tuple[int, int, int]:
        return (id(self.nodes), self.nodes.changes, elements.rename_epoch())  # type: ignore[attr-defined]

    def name_index(self) -> dict[str, str]:
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
        return name in self.nodes or name in self.name_index()

    def _freed(self, name: str) -> None:
        """``name`` (an id or a node name) may be free again: lower _fresh_id's floor."""
        m = SUFFIXED.match(name)
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
        nid = self.name_index().get(name)
        if nid is None:
            raise GraphError(f"no node named {name!r}")
        return self.nodes[nid]

    def fresh_name(self, base: str, reserved: Collection[str] = ()) -> str:
        """``base`` when no node has it as id or name (and it is not ``reserved``), else the
        smallest free ``<stem>_<i>`` (i >= 2; ``fc_3`` counts on from ``fc``). ``reserved``:
        names about to be used, e.g. by the other nodes of one paste."""
        if not self._taken(base) and base not in reserved:
            return base
        m = SUFFIXED.match(base)
        stem = m.group(1) if m else base
        i = 2
        while self._taken(f"{stem}_{i}") or f"{stem}_{i}" in reserved:
            i += 1
        return f"{stem}_{i}"

    def fresh_id(self, type_name: str, reserved: Collection[str] = ()) -> str:
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

    # -- edits: each builds an engine.graph.ops op and applies it (one set of rules) ----------
    def apply(self, op: Op) -> Op:
        """Apply an edit operation (``engine.graph.ops``); return the op that undoes it exactly.

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
        inverse = self.apply(AddNode(type_name, id, name, pos, params))
        return inverse.node  # type: ignore[attr-defined,no-any-return]  # a RemoveNode

    def set(self, node_id: str, **params: Any) -> None:
        """Change some parameters of a node; invalid values raise GraphError and change nothing."""
        self.apply(SetParams(node_id, params))

    def silence(self, node_id: str, lint_id: str, reason: str | None) -> None:
        """Silence lint ``lint_id`` on a node with the user's ``reason`` (None: speak again)."""
        self.apply(SetSilenced(node_id, lint_id, reason))

    def freeze(self, node_id: str, frozen: bool = True) -> None:
        """Freeze (or unfreeze) a model node: training keeps its weights as they are.

        Why on the node and not in the training settings: the canvas shows it, and it
        travels with the node when the graph is edited, copied or saved.
        """
        if not isinstance(frozen, bool):
            name = self.node(node_id).name
            raise GraphError(f"{name}: frozen must be true or false, got {frozen!r}")
        self.apply(SetTraining(node_id, frozen=frozen))

    def set_lr_scale(self, node_id: str, scale: float) -> None:
        """Multiply the optimizer's learning rate by ``scale`` (> 0) for this node's weights."""
        self.apply(SetTraining(node_id, lr_scale=scale))

    def rename(self, node_id: str, name: str) -> None:
        self.apply(Rename(node_id, name))

    def move(self, node_id: str, pos: tuple[float, float]) -> None:
        self.apply(Move(node_id, pos))

    def remove(self, node_id: str) -> None:
        """Remove a node and every edge touching it."""
        self.apply(RemoveNode(node_id))

    # -- the primitives ops use: no rules here, only the data and its indexes ------------
    def node_position(self, node_id: str) -> int:
        if next(reversed(self.nodes), None) == node_id:
            return len(self.nodes) - 1
        return list(self.nodes).index(node_id)

    def put_node(self, node: Node, index: int | None = None) -> None:
        names = self.name_index()
        nodes = self.nodes
        if index is None or index >= len(nodes):
            dict.__setitem__(nodes, node.id, node)  # the Graph's own change: index kept
        else:
            items = list(nodes.items())
            items.insert(index, (node.id, node))
            dict.clear(nodes)
            dict.update(nodes, items)
        names[node.name] = node.id
        self.emit(NodeAdded(node.id))

    def drop_node(self, node_id: str) -> None:
        """Remove a node that no edge touches any more."""
        node = self.nodes[node_id]
        names = self.name_index()
        dict.__delitem__(self.nodes, node_id)
        if names.get(node.name) == node_id:
            del names[node.name]
        if self._names_dup:
            self._names = None
        self._freed(node_id)
        self._freed(node.name)
        self.emit(NodeRemoved(node_id))

    def put_edge(self, edge: Edge, index: int | None = None) -> None:
        if index is None or index >= len(self.edges):
            self.edges.append(edge)
        else:
            self.edges.insert(index, edge)
        self.emit(EdgeAdded(edge))

    def drop_edge(self, edge: Edge) -> int:
        i = self.edge_index.pop_edge(edge)
        self.emit(EdgeRemoved(edge))
        return i

    def store_params(self, node_id: str, values: dict[str, Any], names: list[str]) -> None:
        self.nodes[node_id].params = values
        self.emit(ParamsChanged(node_id, tuple(names)))

    def store_pos(self, node_id: str, pos: tuple[float, float]) -> None:
        self.nodes[node_id].pos = (float(pos[0]), float(pos[1]))
        self.emit(Moved(node_id))

    def store_silenced(self, node_id: str, silenced: dict[str, str], lint_id: str) -> None:
        self.nodes[node_id].silenced = silenced
        self.emit(SilencedChanged(node_id, lint_id))

    def store_name(self, node_id: str, name: str) -> None:
        node = self.nodes[node_id]
        names = self.name_index()
        old = node.name
        node.name = name
        if names.get(old) == node_id:
            del names[old]
        names[name] = node_id
        self._names_stamp = self._stamp()  # our own rename: the index is up to date
        if self._names_dup:
            self._names = None  # another node may carry the old name too
        self._freed(old)
        self.emit(Renamed(node_id))

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
        return self.connect_problem(src, src_port, dst, dst_port, cycles=cycles)[0]

    def connect_problem(
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
        out = find_port(a.spec.outputs, src_port)
        if out is None:
            return f"{a.name} has no output {src_port!r}", None
        inp = find_port(b.spec.inputs, dst_port)
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
            taken = next((e for e in self.edge_index.into(dst) if e.dst_port == dst_port), None)
            if taken is not None and not replace:
                return f"{b.name}.{inp.name} is already connected", None
            replaced = taken
        if cycles and self.reaches(dst, src):
            return f"connecting {a.name} → {b.name} would make a cycle", None
        return None, replaced

    def reaches(self, start: str, goal: str) -> bool:
        """Whether ``goal`` is downstream of ``start`` (O(nodes and edges downstream))."""
        out_index = self.edge_index._index()
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
        ``engine.graph.ops.Connect`` can replace the wire there instead).

        Without port names: the first output of ``src`` whose kind fits, into the first
        free input of ``dst`` whose kind fits. ``"node:port"`` also names a port.
        """
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
        taken = {e.dst_port for e in self.edge_index.into(b.id)}
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
                for e in self.edge_index.out_of(src)
                if (dst is None or e.dst == dst)
                and (src_port is None or e.src_port == src_port)
                and (dst_port is None or e.dst_port == dst_port)
            ]
        for e in matches:
            self.apply(Disconnect.of(e))
        return len(matches)

    def in_edges(self, node_id: str) -> list[Edge]:
        """Edges into a node, in port order, then in connection order."""
        node = self.node(node_id)
        order = {p.name: i for i, p in enumerate(node.spec.inputs)}
        edges = self.edge_index.into(node_id)
        return sorted(edges, key=lambda e: order.get(e.dst_port, 99))

    def out_edges(self, node_id: str) -> list[Edge]:
        return self.edge_index.out_of(node_id)

    # -- blocks ------------------------------------------------------------------------
    def add_block(
        self,
        blk: Graph,
        expose: dict[str, list[str]] | None = None,
        *,
        version: int | None = None,
    ) -> BlockDef:
        """Register ``blk`` as the node type ``blk.name`` in this graph (see engine.graph.blocks).

        ``expose`` maps the block's parameter names to inner ``"node.param"`` references
        (default: ``blk.exposed``). The blocks ``blk`` uses are registered too. The same
        definition registered twice is fine; a different one under a taken name is not.
        """
        if blk is self:
            raise GraphError(f"block {blk.name} contains itself: a graph cannot be its own block")
        try:
            d = define(
                blk,
                blk.exposed if expose is None else expose,
                blk.block_version if version is None else version,
            )
            for dep in [*d.graph.blocks.values(), d]:
                self.register_block(dep)
        except BlockError as e:
            raise GraphError(str(e)) from None
        return self.blocks[d.name]

    def register_block(self, d: BlockDef) -> None:
        have = self.blocks.get(d.name)
        if have is not None:
            if not have.same_as(d):
                raise BlockError(
                    f"a different block named {d.name!r} is already registered in this graph"
                )
            return
        self.blocks[d.name] = d
        self.emit(BlockAdded(d.name))

    def remove_block(self, name: str) -> None:
        """Unregister the block type ``name`` (refused while an instance of it, or a block
        using it, is left; ``engine.graph.block_ops.RemoveBlock``)."""
        self.apply(RemoveBlock(name))

    # primitives of the block ops: no rules here, the registry's order is kept
    def put_block(self, d: BlockDef, index: int | None = None) -> None:
        items = list(self.blocks.items())
        at = len(items) if index is None else min(index, len(items))
        items.insert(at, (d.name, d))
        self.blocks = dict(items)
        self.emit(BlockAdded(d.name))

    def drop_block(self, name: str) -> int:
        index = list(self.blocks).index(name)
        self.blocks = {k: v for k, v in self.blocks.items() if k != name}
        self.emit(BlockRemoved(name))
        return index

    def replace_block(self, d: BlockDef) -> None:
        """Swap in a new definition of a registered block; its instances take its spec."""
        self.blocks = {k: (d if k == d.name else v) for k, v in self.blocks.items()}
        for n in self.nodes.values():
            if n.type == d.name:
                n.block_spec = d.spec
        self.emit(BlockChanged(d.name))

    # -- whole graph -------------------------------------------------------------------
    def copy(self) -> Graph:
        g = Graph(
            nodes={
                k: Node(
                    v.id,
                    v.type,
                    plain(v.params),
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
            source_path=self.source_path,
        )
        return g

    def to_dict(self, *, blocks: bool = True) -> dict[str, Any]:
        """The graph's plain form; ``blocks=False`` leaves out its block definitions (a
        block's own graph: the definitions it uses are stored beside it, once)."""
        return {
            "name": self.name,
            "nodes": [
                {
                    "id": n.id,
                    "type": n.type,
                    "name": n.name,
                    "pos": [n.pos[0], n.pos[1]],
                    "params": plain(n.params),
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
            **({"blocks": self.blocks_to_list()} if blocks and self.blocks else {}),
            **({"frames": [f.to_dict() for f in self.frames]} if self.frames else {}),
            **(
                {"collapsed": shown}
                if (shown := sorted(self.collapsed & self.nodes.keys()))
                else {}
            ),
        }

    def blocks_to_list(self) -> list[dict[str, Any]]:
        """The block definitions, each after the blocks it uses (a project's ``blocks``)."""
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
            try:
                for d in defs_from_list(data["blocks"]):
                    g.register_block(d)
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


def defs_from_list(items: Any) -> list[BlockDef]:
    """Block definitions from a ``blocks`` list (project section or library file).

    Each item is ``{"name", "version", "expose", "graph"}``; a block may use blocks listed
    anywhere in the list. The result lists every block after the blocks it uses. Problems
    raise BlockError (a bad inner graph's GraphError is said as the block's).
    """
    if not isinstance(items, list):
        raise BlockError("'blocks' must be a list")
    raw: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise BlockError(f"block #{i} must be an object")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise BlockError(f"block #{i} needs a 'name' (text)")
        if name in raw:
            raise BlockError(f"block {name!r} is defined twice")
        raw[name] = item
    built: dict[str, BlockDef] = {}
    order: list[BlockDef] = []

    def build(name: str, stack: list[str]) -> BlockDef:
        if name in built:
            return built[name]
        if name in stack:
            cycle = SEP.join([*stack[stack.index(name) :], name])
            raise BlockError(f"block {name} contains itself ({cycle})")
        if len(stack) >= MAX_BLOCK_DEPTH:  # refused before the recursion exhausts the stack
            raise BlockError(
                f"block {stack[0]}: blocks nested too deeply (more than {MAX_BLOCK_DEPTH} "
                f"levels: {SEP.join(stack[:3])}{SEP}…{SEP}{name})"
            )
        item = raw[name]
        body = item.get("graph")
        if not isinstance(body, dict):
            raise BlockError(f"block {name}: 'graph' must be an object")
        nodes = body.get("nodes") or []
        used = [
            nd["type"]
            for nd in (nodes if isinstance(nodes, list) else [])
            if isinstance(nd, dict) and isinstance(nd.get("type"), str) and nd["type"] in raw
        ]
        registry: dict[str, BlockDef] = {}
        for u in dict.fromkeys(used):
            dep = build(u, [*stack, name])
            registry.update(dep.graph.blocks)
            registry[u] = dep
        try:
            inner = Graph.from_dict({**body, "name": name, "blocks": []}, blocks=registry)
        except GraphError as e:
            raise BlockError(f"block {name}: {e}") from None
        expose = item.get("expose") or {}
        if not isinstance(expose, dict) or not all(
            isinstance(v, list) and all(isinstance(r, str) for r in v) for v in expose.values()
        ):
            raise BlockError(
                f"block {name}: 'expose' must map parameter names to lists of 'node.param'"
            )
        d = define(inner, expose, item.get("version", 1))
        built[name] = d
        order.append(d)
        return d

    for name in raw:
        build(name, [])
    return order
