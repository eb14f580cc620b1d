"""Undo commands: every user edit is one of these, applied through the engine's Graph methods.

Commands never touch the canvas: the canvas listens to the Graph, so undo and redo redraw
the same way an edit does. A command is validated before it is pushed (QUndoStack.push runs
``redo`` at once and cannot report a failure), so ``redo`` only repeats what already worked.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtGui import QUndoCommand

from engine.graph import Edge, Graph

MERGE_WINDOW_S = 1.0  # spin-box steps of one parameter within this window undo as one
NodeRecord = dict[str, Any]  # {"id", "type", "name", "pos", "params"[, "silenced"]}


def node_record(graph: Graph, node_id: str) -> NodeRecord:
    n = graph.node(node_id)
    return {
        "id": n.id,
        "type": n.type,
        "name": n.name,
        "pos": tuple(n.pos),
        "params": copy.deepcopy(n.params),
        "silenced": dict(n.silenced),
        "frozen": n.frozen,
        "lr_scale": n.lr_scale,
    }


def _add_record(graph: Graph, rec: NodeRecord) -> None:
    graph.add(rec["type"], id=rec["id"], name=rec["name"], pos=tuple(rec["pos"]), **rec["params"])
    if rec.get("silenced"):
        graph.nodes[rec["id"]].silenced = dict(rec["silenced"])
    if rec.get("frozen"):
        graph.freeze(rec["id"], True)
    if rec.get("lr_scale", 1.0) != 1.0:
        graph.set_lr_scale(rec["id"], rec["lr_scale"])


def _restore_order(graph: Graph, node_order: list[str], edge_order: list[Edge]) -> None:
    """Put nodes and edges back in their saved order (edge order is Concat's input order)."""
    rank = {nid: i for i, nid in enumerate(node_order)}
    graph.nodes = dict(sorted(graph.nodes.items(), key=lambda kv: rank.get(kv[0], len(rank))))
    erank = {e: i for i, e in enumerate(edge_order)}
    graph.edges.sort(key=lambda e: erank.get(e, len(erank)))


class GraphCommand(QUndoCommand):
    """Base: keeps the graph and a callback run after every redo/undo."""

    def __init__(self, graph: Graph, text: str, after: Callable[[], None] | None = None) -> None:
        super().__init__(text)
        self.graph = graph
        self._after = after

    def _done(self) -> None:
        if self._after is not None:
            self._after()


class AddNodes(GraphCommand):
    """Add nodes (with fixed ids) and edges among/into them: add, paste, duplicate, insert."""

    def __init__(
        self,
        graph: Graph,
        records: list[NodeRecord],
        edges: Iterable[Edge] = (),
        text: str = "Add node",
        remove_edges: Iterable[Edge] = (),
        after: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(graph, text, after)
        self.records = records
        self.edges = list(edges)
        self.remove_edges = list(remove_edges)
        self._orders: tuple[list[str], list[Edge]] | None = None

    def redo(self) -> None:
        g = self.graph
        self._orders = (list(g.nodes), list(g.edges))
        for e in self.remove_edges:
            g.disconnect(e)
        for rec in self.records:
            _add_record(g, rec)
        for e in self.edges:
            g.connect(e.src, e.dst, e.src_port, e.dst_port, allow_cycle=True)
        self._done()

    def undo(self) -> None:
        g = self.graph
        for rec in reversed(self.records):
            if rec["id"] in g.nodes:
                g.remove(rec["id"])
        for e in self.remove_edges:
            g.connect(e.src, e.dst, e.src_port, e.dst_port, allow_cycle=True)
        if self._orders is not None:
            _restore_order(g, *self._orders)
        self._done()


class RemoveNodes(GraphCommand):
    def __init__(
        self, graph: Graph, node_ids: list[str], after: Callable[[], None] | None = None
    ) -> None:
        n = len(node_ids)
        super().__init__(graph, f"Delete {n} node{'s' if n != 1 else ''}", after)
        self.node_ids = list(node_ids)
        self.records = [node_record(graph, nid) for nid in self.node_ids]
        ids = set(self.node_ids)
        self.edges = [e for e in graph.edges if e.src in ids or e.dst in ids]
        self._orders: tuple[list[str], list[Edge]] | None = None

    def redo(self) -> None:
        g = self.graph
        self._orders = (list(g.nodes), list(g.edges))
        for nid in self.node_ids:
            g.remove(nid)
        self._done()

    def undo(self) -> None:
        g = self.graph
        for rec in self.records:
            _add_record(g, rec)
        for e in self.edges:
            g.connect(e.src, e.dst, e.src_port, e.dst_port, allow_cycle=True)
        if self._orders is not None:
            _restore_order(g, *self._orders)
        self._done()


class RemoveBridging(GraphCommand):
    """Remove one node and wire its input to each of its consumers (the "remove" fix)."""

    def __init__(
        self,
        graph: Graph,
        node_id: str,
        bridges: list[Edge],
        after: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(graph, f"Remove {graph.node(node_id).name}", after)
        self.remove = RemoveNodes(graph, [node_id])
        self.bridges = list(bridges)

    def redo(self) -> None:
        self.remove.redo()
        for e in self.bridges:
            self.graph.connect(e.src, e.dst, e.src_port, e.dst_port, allow_cycle=True)
        self._done()

    def undo(self) -> None:
        for e in self.bridges:
            if e in self.graph.edges:
                self.graph.disconnect(e)
        self.remove.undo()
        self._done()


class SetSilenced(GraphCommand):
    """Silence a lint on a node with a reason, or let it speak again (reason None)."""

    def __init__(
        self,
        graph: Graph,
        node_id: str,
        lint_id: str,
        reason: str | None,
        after: Callable[[], None] | None = None,
    ) -> None:
        verb = "Silence" if reason is not None else "Unsilence"
        super().__init__(graph, f"{verb} {lint_id}", after)
        self.node_id, self.lint_id, self.new = node_id, lint_id, reason
        self.old = graph.node(node_id).silenced.get(lint_id)

    def redo(self) -> None:
        self.graph.silence(self.node_id, self.lint_id, self.new)
        self._done()

    def undo(self) -> None:
        self.graph.silence(self.node_id, self.lint_id, self.old)
        self._done()


class SetTraining(GraphCommand):
    """Freeze/unfreeze nodes or set their lr_scale (transfer learning); one step for all."""

    def __init__(
        self,
        graph: Graph,
        new: dict[str, tuple[bool, float]],
        text: str,
        after: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(graph, text, after)
        self.new = dict(new)
        self.old = {nid: (graph.node(nid).frozen, graph.node(nid).lr_scale) for nid in new}

    def _apply(self, values: dict[str, tuple[bool, float]]) -> None:
        for nid, (frozen, scale) in values.items():
            self.graph.freeze(nid, frozen)
            self.graph.set_lr_scale(nid, scale)
        self._done()

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)


class SetParams(GraphCommand):
    """Change parameters of one node; successive edits of one parameter merge into one step."""

    ID = 1001

    def __init__(
        self,
        graph: Graph,
        node_id: str,
        new: dict[str, Any],
        after: Callable[[], None] | None = None,
    ) -> None:
        node = graph.node(node_id)
        names = ", ".join(sorted(new))
        super().__init__(graph, f"Set {node.name}.{names}", after)
        self.node_id = node_id
        self.old = {k: copy.deepcopy(node.params[k]) for k in new}
        self.new = copy.deepcopy(new)
        self.at = time.monotonic()

    def id(self) -> int:
        return self.ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if (
            not isinstance(other, SetParams)
            or other.node_id != self.node_id
            or set(other.new) != set(self.new)
            or other.at - self.at > MERGE_WINDOW_S
        ):
            return False
        self.new = other.new
        self.at = other.at
        return True

    def redo(self) -> None:
        self.graph.set(self.node_id, **self.new)
        self._done()

    def undo(self) -> None:
        self.graph.set(self.node_id, **self.old)
        self._done()


class Rename(GraphCommand):
    def __init__(
        self, graph: Graph, node_id: str, name: str, after: Callable[[], None] | None = None
    ) -> None:
        old = graph.node(node_id).name
        super().__init__(graph, f"Rename {old} to {name}", after)
        self.node_id, self.old, self.new = node_id, old, name

    def redo(self) -> None:
        self.graph.rename(self.node_id, self.new)
        self._done()

    def undo(self) -> None:
        self.graph.rename(self.node_id, self.old)
        self._done()


class MoveNodes(GraphCommand):
    def __init__(
        self,
        graph: Graph,
        old: dict[str, tuple[float, float]],
        new: dict[str, tuple[float, float]],
        text: str = "Move",
        after: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(graph, text, after)
        self.old, self.new = dict(old), dict(new)

    def _apply(self, where: dict[str, tuple[float, float]]) -> None:
        for nid, pos in where.items():
            if nid in self.graph.nodes:
                self.graph.move(nid, pos)
        self._done()

    def redo(self) -> None:
        self._apply(self.new)

    def undo(self) -> None:
        self._apply(self.old)


class Connect(GraphCommand):
    """Make edges (and drop the ones they replace, e.g. an occupied single input)."""

    def __init__(
        self,
        graph: Graph,
        add: list[Edge],
        remove: list[Edge] | None = None,
        text: str = "Connect",
        after: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(graph, text, after)
        self.add = list(add)
        self.remove = list(remove or [])
        self._edges_before: list[Edge] | None = None

    def redo(self) -> None:
        g = self.graph
        self._edges_before = list(g.edges)
        for e in self.remove:
            g.disconnect(e)
        for e in self.add:
            g.connect(e.src, e.dst, e.src_port, e.dst_port, allow_cycle=True)
        self._done()

    def undo(self) -> None:
        g = self.graph
        for e in reversed(self.add):
            g.disconnect(e)
        for e in self.remove:
            g.connect(e.src, e.dst, e.src_port, e.dst_port, allow_cycle=True)
        if self._edges_before is not None:
            _restore_order(g, list(g.nodes), self._edges_before)
        self._done()


class Disconnect(Connect):
    def __init__(
        self, graph: Graph, edges: list[Edge], after: Callable[[], None] | None = None
    ) -> None:
        super().__init__(graph, [], edges, "Disconnect", after)


class SetGraphField(GraphCommand):
    """The project's name or a settings entry (training settings are edited through this)."""

    def __init__(
        self,
        graph: Graph,
        field: str,
        key: str | None,
        value: Any,
        after: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(graph, f"Set {key or field}", after)
        self.field, self.key = field, key
        self.new = copy.deepcopy(value)
        self.missing = False
        if key is None:
            self.old = copy.deepcopy(getattr(graph, field))
        else:
            d = getattr(graph, field)
            self.missing = key not in d
            self.old = copy.deepcopy(d.get(key))

    def _set(self, value: Any, missing: bool) -> None:
        g = self.graph
        if self.key is None:
            setattr(g, self.field, copy.deepcopy(value))
        else:
            d = getattr(g, self.field)
            if missing:
                d.pop(self.key, None)
            else:
                d[self.key] = copy.deepcopy(value)
        g._emit("graph_changed", field=self.field, key=self.key)
        self._done()

    def redo(self) -> None:
        self._set(self.new, False)

    def undo(self) -> None:
        self._set(self.old, self.missing)
