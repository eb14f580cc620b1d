"""Undo commands: every edit of the graph is an engine op (``engine.graph.ops``) and its inverse.

The rules of editing live in the engine: the Document applies an op with ``Graph.apply``
(a refused op raises and changes nothing) and pushes an ``OpCommand`` holding the op and the
exact inverse ``apply`` returned. QUndoStack.push runs ``redo`` at once and cannot report a
failure, so that first ``redo`` only announces the edit; later, undo applies the inverse
and redo the op again, each returning the other. Commands never touch the canvas: the
canvas listens to the Graph, so undo and redo redraw the same way an edit does.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from engine.graph import Graph, GraphError
from engine.graph.ops import Op, SetParams

MERGE_WINDOW_S = 1.0  # spin-box steps of one parameter within this window undo as one


class GraphCommand(QUndoCommand):
    """Base: keeps the graph and a callback run after every redo/undo."""

    def __init__(self, graph: Graph, text: str, after: Callable[[], None] | None = None) -> None:
        super().__init__(text)
        self.graph = graph
        self._after = after

    def _done(self) -> None:
        if self._after is not None:
            self._after()


class OpCommand(GraphCommand):
    """An op already applied, with its inverse; ``text`` defaults to the op's description.

    Successive edits of the same parameters of one node merge into one step."""

    MERGE_ID = 1001

    def __init__(
        self,
        graph: Graph,
        op: Op,
        inverse: Op,
        text: str,
        after: Callable[[], None] | None = None,
        failed: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(graph, text, after)
        self.op, self.inverse = op, inverse
        self._failed = failed
        self._applied = True  # by the Document, before the push
        self.at = time.monotonic()

    def _run(self, op: Op) -> Op | None:
        try:
            return self.graph.apply(op)
        except GraphError as e:  # the graph was edited behind the undo stack's back
            if self._failed is not None:
                self._failed(str(e))
            return None

    def redo(self) -> None:
        if self._applied:
            self._applied = False
        else:
            self.inverse = self._run(self.op) or self.inverse
        self._done()

    def undo(self) -> None:
        self.op = self._run(self.inverse) or self.op
        self._done()

    def id(self) -> int:
        return self.MERGE_ID if isinstance(self.op, SetParams) else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        mine, theirs = self.op, getattr(other, "op", None)
        if (
            not isinstance(other, OpCommand)
            or not isinstance(mine, SetParams)
            or not isinstance(theirs, SetParams)
            or theirs.node != mine.node
            or set(theirs.params) != set(mine.params)
            or other.at - self.at > MERGE_WINDOW_S
        ):
            return False
        self.op = theirs  # self.inverse still restores the values before the first step
        self.at = other.at
        return True
