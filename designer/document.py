"""The open project: an ``engine.Graph`` (the source of truth), its file, undo stack and live check.

Every edit the GUI makes goes through a method here, which builds an engine op
(``engine.graph.ops``), applies it with ``Graph.apply`` (the engine's rules: a refusal raises and
changes nothing) and pushes the op with its exact inverse as one undo step. Views
(canvas, panels) listen to the Graph's events and to this object's signals; none of them
keeps a second copy of the graph.

The live check runs on a worker thread over a snapshot of the graph, debounced, so the UI
thread never waits on torch; a result for an outdated revision is dropped.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from designer import undo
from engine.analysis import fixes
from engine.analysis.check import Report, check
from engine.graph import Edge, Graph, GraphError, GraphEvent
from engine.graph.ops import (
    AddNode,
    Batch,
    Connect,
    Disconnect,
    Move,
    Op,
    RemoveNode,
    Rename,
    RenameProject,
    SetParams,
    SetSettings,
    SetSilenced,
    SetTraining,
)
from engine.project import MAX_REASON, load_project, save_project, to_json
from engine.project.files import rebased_paths

CHECK_DEBOUNCE_MS = 15
GRID_X, GRID_Y = 240.0, 130.0


class Document(QObject):
    """One open project. See the module docstring; the signals are the contract with panels."""

    graphReplaced = Signal()  # new/open/recover: document.graph is now a different Graph object
    graphChanged = Signal()  # after any edit of document.graph (fires before the re-check)
    reportReady = Signal(object)  # a fresh engine.analysis.check.Report after the live check
    modifiedChanged = Signal(bool)
    pathChanged = Signal(object)
    refused = Signal(str)  # an edit the engine refused, with its reason (for the status bar)
    sourceReady = Signal(str)  # generated model source (or why there is none), when wanted

    def __init__(self, graph: Graph | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.graph: Graph = graph if graph is not None else Graph(name="untitled")
        self.path: Path | None = None
        self.report: Report | None = None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self._dirty_outside = False  # edited without the undo stack (recovery, scripts)
        self._was_modified = False
        self._unsubscribe = self.graph.subscribe(self._on_graph_event)
        self._in_command = 0
        self._pending_change = False
        self._change_timer = QTimer(self, singleShot=True, interval=0)
        self._change_timer.timeout.connect(self._flush_change)
        self._check_timer = QTimer(self, singleShot=True, interval=CHECK_DEBOUNCE_MS)
        self._check_timer.timeout.connect(self._start_check)
        from designer.bridge import gui_thread_gc

        gui_thread_gc()  # the live check runs on a worker thread
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="torchwire-check")
        self._running: Future[Any] | None = None
        self._rerun = False
        self._reported_rev = -2
        self.want_source = False  # the code view sets this while it is shown
        self.source: str | None = None
        # The worker never touches Qt (a signal emitted from a Python worker thread was
        # seen to deadlock PySide6 and to crash when the Document died first): the finished
        # Future goes into an inbox (designer.workers), delivered on the GUI thread.
        from designer.workers import Inbox

        self._checked = Inbox(self._collect_check)
        self.check_seconds: float = 0.0  # duration of the last live check (bench reads it)
        self.schedule_check()

    # -- state ----------------------------------------------------------------------------
    @property
    def modified(self) -> bool:
        return self._dirty_outside or not self.undo_stack.isClean()

    def _modified_maybe_changed(self) -> None:
        try:
            m = self.modified
        except RuntimeError:  # the undo stack is being destroyed with the window
            return
        if m != self._was_modified:
            self._was_modified = m
            self.modifiedChanged.emit(m)

    def _on_clean_changed(self, _clean: bool) -> None:
        self._modified_maybe_changed()

    @property
    def title(self) -> str:
        return self.path.name if self.path is not None else f"{self.graph.name or 'untitled'}"

    # -- whole-document operations -------------------------------------------------------
    def replace_graph(
        self, graph: Graph, path: Path | None = None, *, modified: bool = False
    ) -> None:
        """New/open/recover: swap in another Graph, clear undo, re-check.

        The graph's ``source_path`` follows ``path``: it is what the engine resolves data
        paths, ``init_from`` and run folders from, in every copy the panels train or check,
        so a graph read from elsewhere (an autosave) still resolves from its project's folder.
        """
        self._unsubscribe()
        self.graph = graph
        self._unsubscribe = graph.subscribe(self._on_graph_event)
        self.path = Path(path).resolve() if path is not None else None
        if self.path is not None:
            graph.source_path = str(self.path)
        self.report = None
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self._dirty_outside = modified
        self.graphReplaced.emit()
        self.pathChanged.emit(self.path)
        self._modified_maybe_changed()
        self.schedule_check()

    def new(self) -> None:
        self.replace_graph(Graph(name="untitled"))

    def open(self, path: str | Path) -> None:
        """Load a project file (raises engine.ProjectError with the reason)."""
        graph = load_project(path)
        self.replace_graph(graph, Path(path).resolve())

    def save(self, path: str | Path | None = None) -> Path:
        """Save (atomically) to ``path`` or the current file; the undo stack becomes clean.

        A failure raises the engine's error naming the file (ProjectError when the graph
        cannot be written as a project, WriteError when the disk refuses) and changes
        nothing: the document keeps its path, its edits and its modified state.
        """
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ValueError("no file name yet; use Save As")
        old = self.graph.source_path
        rebase: dict[str, dict[str, str]] = {}
        if old and Path(old).resolve().parent != target.resolve().parent:
            rebase = rebased_paths(self.graph, Path(old).resolve().parent, target.resolve().parent)
        if rebase:  # write the rebased copy; the document changes only once it is on disk
            to_save = self.graph.copy()
            for nid, values in rebase.items():
                to_save.set(nid, **values)
        else:
            to_save = self.graph
        save_project(to_save, target)
        if rebase:
            self._apply_rebase(rebase)
        self.path = target.resolve()
        self.graph.source_path = str(self.path)  # as load_project sets it
        self.undo_stack.setClean()
        self._dirty_outside = False
        self.pathChanged.emit(self.path)
        self._modified_maybe_changed()
        return self.path

    def _apply_rebase(self, rebase: dict[str, dict[str, str]]) -> None:
        for nid, values in rebase.items():
            self.graph.set(nid, **values)
        self._pending_change = False  # part of saving, not an unsaved edit
        self._change_timer.stop()
        self.graphChanged.emit()
        self.schedule_check()

    def to_json(self) -> str:
        return to_json(self.graph)

    # -- edits ----------------------------------------------------------------------------
    def _push(self, cmd: undo.GraphCommand) -> None:
        self._in_command += 1
        try:
            self.undo_stack.push(cmd)
        finally:
            self._in_command -= 1

    def _after_command(self) -> None:
        """Every command's redo/undo ends here: one graphChanged per step, then a re-check."""
        self._pending_change = False
        self._change_timer.stop()
        self.graphChanged.emit()
        self.schedule_check()

    def _refuse(self, message: str) -> NoReturn:
        self.refused.emit(message)
        raise GraphError(message)

    def do(self, op: Op, text: str | None = None) -> Op:
        """Apply an engine op as one undo step (``text``: what Undo says; default the op's
        own description); returns its inverse. A refused op is emitted on ``refused``,
        raised as GraphError, and changes nothing."""
        return self._apply_and_push(op, text)

    def annotate(self, op: Op, text: str | None = None) -> Op:
        """Apply a view annotation op (frames, collapsed nodes) as one undo step of this
        document's own stack: inside a block they belong to the view shown, not to the
        block's definition, so a subclass's ``do`` does not reroute them."""
        return self._apply_and_push(op, text)

    def _apply_and_push(self, op: Op, text: str | None) -> Op:
        label = text or op.describe(self.graph)
        try:
            inverse = self.graph.apply(op)
        except GraphError as e:
            self.refused.emit(str(e))
            raise
        self._push(
            undo.OpCommand(
                self.graph, op, inverse, label, after=self._after, failed=self.refused.emit
            )
        )
        return inverse

    def add_node(
        self,
        type_name: str,
        pos: tuple[float, float] | None = None,
        *,
        name: str | None = None,
        **params: Any,
    ) -> str:
        """Add a node of a catalog type or a block type; returns its id. Invalid params raise
        GraphError. A block only the open library has is defined first, in the same step."""
        if pos is None:
            pos = self._free_position()
        add = AddNode(type_name, None, name, pos, params)
        define = self.block_source(type_name) if type_name not in self.graph.blocks else []
        inverse = self.do(Batch((*define, add), f"Add {type_name}") if define else add)
        if isinstance(inverse, Batch):
            inverse = inverse.ops[0]
        assert isinstance(inverse, RemoveNode)
        return inverse.node

    def block_source(self, type_name: str) -> list[Op]:
        """The ops that define block ``type_name`` in this graph when it is not a type here
        yet (designer.blocks_ui sets this from the open block library); none by default."""
        return []

    def _free_position(self) -> tuple[float, float]:
        from engine.build.layout import free_position

        return free_position(self.graph)

    def set_params(self, node_id: str, **params: Any) -> None:
        """Change parameters; a value the declaration refuses raises GraphError, nothing changes."""
        try:
            op = SetParams(node_id, params).effective(self.graph)
        except GraphError as e:
            self._refuse(str(e))
        if op.params:
            self.do(op)

    def rename(self, node_id: str, name: str) -> None:
        if name.strip() != self.graph.node(node_id).name:
            self.do(Rename(node_id, name))

    def move_nodes(self, new: dict[str, tuple[float, float]], text: str | None = None) -> None:
        """Move nodes as one undo step ("Move 3 nodes", or ``text``)."""
        nodes = self.graph.nodes
        moves = [
            Move(nid, p)
            for nid, p in new.items()
            if nid in nodes and nodes[nid].pos != (float(p[0]), float(p[1]))
        ]
        if moves:
            self.do(Batch(tuple(moves), text or ""))

    def remove_nodes(self, node_ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys(nid for nid in node_ids if nid in self.graph.nodes))
        if ids:
            self.do(Batch.of(RemoveNode(nid) for nid in ids))

    def connection_problem(self, edge: Edge, dropping: Iterable[Edge] = ()) -> str | None:
        """Why ``connect`` would refuse ``edge`` (after removing ``dropping``); None if not.
        A taken single input is no problem: the new wire replaces the old one."""
        g = self.graph
        drop = [Disconnect.of(e) for e in dict.fromkeys(dropping) if e in g.edges]
        op: Op = Connect.of(edge)
        return g.check_op(Batch((*drop, op)) if drop else op)

    def connect(self, src: str, src_port: str, dst: str, dst_port: str) -> Edge:
        """Connect two ports; an occupied single input is replaced; refusals say why."""
        op = Connect(src, src_port, dst, dst_port)
        self.do(op)
        return op.edge

    def disconnect(self, edges: Iterable[Edge]) -> None:
        es = [e for e in dict.fromkeys(edges) if e in self.graph.edges]
        if es:
            self.do(Batch.of(Disconnect.of(e) for e in es))

    def insert_node(
        self,
        type_name: str,
        src: str,
        src_port: str,
        dst: str,
        dst_port: str,
        **params: Any,
    ) -> str:
        """Put a new node on the wire src→dst (the engine's rule); one undo step."""
        try:
            op = fixes.insert_on_wire(self.graph, type_name, src, src_port, dst, dst_port, params)
        except GraphError as e:
            self._refuse(str(e))
        self.do(op)
        return next(o.id for o in op.ops if isinstance(o, AddNode))

    def remove_bridging(self, node_id: str) -> None:
        """Delete a node with one input, wiring that input to its consumers; one undo step."""
        try:
            op = fixes.remove_bridging(self.graph, node_id)
        except GraphError as e:
            self._refuse(str(e))
        self.do(op)

    def silence(self, node_id: str, lint_id: str, reason: str | None) -> None:
        """Silence lint ``lint_id`` on a node with a reason (None: let it speak again); undoable."""
        node = self.graph.node(node_id)
        if reason is not None:
            reason = reason.strip()
            if not reason:
                self._refuse("say why the lint does not apply here (the reason is saved)")
            if len(reason) > MAX_REASON:
                self._refuse(f"the reason is too long (at most {MAX_REASON} characters)")
        if node.silenced.get(lint_id) == reason:
            return
        self.do(SetSilenced(node_id, lint_id, reason))

    # -- clipboard --------------------------------------------------------------------------
    def freeze(self, node_ids: Iterable[str], frozen: bool = True) -> None:
        """Freeze (or unfreeze) the model layers among ``node_ids``; one undo step."""
        g = self.graph
        ids = [n for n in node_ids if n in g.nodes and g.nodes[n].spec.kind == "model"]
        ops = [SetTraining(n, frozen=frozen) for n in ids if g.nodes[n].frozen != frozen]
        if ops:
            text = ("Freeze" if frozen else "Unfreeze") + (
                f" {g.nodes[ops[0].node].name}" if len(ops) == 1 else f" {len(ops)} nodes"
            )
            self.do(ops[0] if len(ops) == 1 else Batch(tuple(ops)), text)

    def set_lr_scale(self, node_id: str, scale: float) -> None:
        """A model layer's learning-rate multiplier (> 0); undoable."""
        node = self.graph.node(node_id)
        if node.lr_scale != scale:
            self.do(SetTraining(node_id, lr_scale=scale), f"lr_scale of {node.name}")

    def fragment(self, node_ids: Iterable[str]) -> dict[str, Any]:
        """The selected nodes and the edges among them, as plain data (copy/duplicate)."""
        ids = [nid for nid in self.graph.nodes if nid in set(node_ids)]
        sel = set(ids)
        nodes = [self.graph.nodes[nid] for nid in ids]
        return {
            "format": "torchwire-fragment",
            "nodes": [
                {
                    "id": n.id,
                    "type": n.type,
                    "name": n.name,
                    "pos": tuple(n.pos),
                    "params": copy.deepcopy(n.params),
                    "silenced": dict(n.silenced),
                }
                for n in nodes
            ],
            "edges": [
                {"from": e.src, "from_port": e.src_port, "to": e.dst, "to_port": e.dst_port}
                for e in self.graph.edges
                if e.src in sel and e.dst in sel
            ],
        }

    def paste(
        self, fragment: dict[str, Any], offset: tuple[float, float] = (40.0, 40.0)
    ) -> list[str]:
        """Add a copied fragment with fresh ids and names; returns the new ids. Nodes the
        engine would refuse (an unknown type, a bad value) are left out."""
        g = self.graph
        reserved: set[str] = set()
        remap: dict[str, str] = {}
        ops: list[Op] = []
        for rec in fragment.get("nodes", []):
            type_name = str(rec.get("type"))
            nid = g.fresh_id(type_name, reserved)
            name = str(rec.get("name") or nid)
            name = nid if name == rec.get("id") else g.fresh_name(name, reserved | {nid})
            x, y = rec.get("pos") or (0.0, 0.0)
            pos = (float(x) + offset[0], float(y) + offset[1])
            op = AddNode(type_name, nid, name, pos, dict(rec.get("params") or {}))
            if g.check_op(op) is not None:
                continue
            reserved |= {nid, name}
            remap[rec["id"]] = nid
            ops.append(op)
        n = len(ops)
        ops += [
            Connect(
                remap[e["from"]],
                e["from_port"],
                remap[e["to"]],
                e["to_port"],
                replace=False,
                allow_cycle=True,
            )
            for e in fragment.get("edges", [])
            if e.get("from") in remap and e.get("to") in remap
        ]
        if n:
            self.do(Batch(tuple(ops)), f"Paste {n} node{'s' if n != 1 else ''}")
        return list(remap.values())

    def duplicate(self, node_ids: Iterable[str]) -> list[str]:
        return self.paste(self.fragment(node_ids), offset=(40.0, 60.0))

    # -- layout -----------------------------------------------------------------------------
    def auto_layout(self, node_ids: Iterable[str] | None = None, aspect: float = 1.6) -> None:
        """The engine's layered layout (``engine.build.layout``: lanes, columns by depth, wrapped
        bands), the same as the examples and import get; one undo step."""
        from engine.build.layout import layered_positions

        g = self.graph
        ids = set(node_ids) if node_ids is not None else set(g.nodes)
        if not ids:
            return
        new = layered_positions(g, ids, aspect=aspect)
        self.move_nodes(new, text="Auto-layout")

    def set_setting(self, key: str, value: Any) -> None:
        """Change ``graph.settings[key]`` (training settings), undoably."""
        if self.graph.settings.get(key, _MISSING) == value:
            return
        self.do(SetSettings(key, value))

    def set_name(self, name: str) -> None:
        if name and name != self.graph.name:
            self.do(RenameProject(name))

    # -- graph events not made by a command (scripts, recovery) ---------------------------
    def _after(self) -> None:
        self._after_command()

    def _on_graph_event(self, event: GraphEvent) -> None:
        # A command's own events are followed, synchronously, by _after_command, which
        # clears this flag; what is left pending was an edit made outside the undo stack.
        self._pending_change = True
        self._change_timer.start()

    def _flush_change(self) -> None:
        if not self._pending_change:
            return
        self._pending_change = False
        self._dirty_outside = True
        self._modified_maybe_changed()
        self.graphChanged.emit()
        self.schedule_check()

    # -- live check -------------------------------------------------------------------------
    def schedule_check(self) -> None:
        self._check_timer.start()

    def check_now(self) -> Report:
        """Check synchronously on this thread (tests, save, export); emits reportReady."""
        self._check_timer.stop()
        t = time.perf_counter()
        rep = check(self.graph)
        self.check_seconds = time.perf_counter() - t
        self._set_report(rep)
        return rep

    def _start_check(self) -> None:
        if self._running is not None and not self._running.done():
            self._rerun = True
            return
        snapshot = snapshot_graph(self.graph)
        rev = self.graph.revision
        gid = id(self.graph)
        self._running = self._executor.submit(self._run_check, snapshot, rev, gid, self.want_source)
        self._running.add_done_callback(self._checked.put)

    def _collect_check(self, done: list[Future[Any]]) -> None:
        for running in done:
            if running.cancelled():
                continue
            rev, gid, rep, source = running.result()
            self._on_checked(rev if gid == id(self.graph) else -1, rep, source)

    def _run_check(
        self, snapshot: Graph, rev: int, gid: int, want_source: bool
    ) -> tuple[int, int, Report, str | None]:
        t = time.perf_counter()
        try:
            rep = check(snapshot)
        except Exception as e:  # an engine bug must not kill the GUI; show it as a problem
            rep = Report()
            rep.error(None, f"the check failed: {type(e).__name__}: {e}")
        self.check_seconds = time.perf_counter() - t
        source = model_source(snapshot, rep) if want_source else None
        return rev, gid, rep, source

    def _on_checked(self, rev: int, rep: Report, source: str | None) -> None:
        if self._rerun or rev != self.graph.revision:
            self._rerun = False
            self.schedule_check()
            if rev == -1:
                return
        if rev == self.graph.revision:
            self._set_report(rep, rev)
            if source is not None:
                self.source = source
                self.sourceReady.emit(source)

    def request_source(self) -> None:
        """The code view became visible: generate the source with the next (cheap) check."""
        self.want_source = True
        self.schedule_check()

    def _set_report(self, rep: Report, rev: int | None = None) -> None:
        self.report = rep
        self._reported_rev = self.graph.revision if rev is None else rev
        self.reportReady.emit(rep)

    def wait_checked(self, timeout: float = 60.0) -> Report | None:
        """Block until the live check reflects the current graph (tests and bench only)."""
        from PySide6.QtCore import QCoreApplication

        deadline = time.monotonic() + timeout
        target = self.graph.revision
        self.schedule_check()
        while time.monotonic() < deadline:
            QCoreApplication.processEvents()
            if (
                self.report is not None
                and not self._check_timer.isActive()
                and (self._running is None or self._running.done())
                and not self._checked.pending
                and self.graph.revision == target
                and self._last_rev_ok(target)
            ):
                return self.report
            time.sleep(0.002)
        return None

    def _last_rev_ok(self, target: int) -> bool:
        return self._reported_rev == target

    def warm_up(self) -> None:
        """Run one small check on the worker now, so the first real edit does not pay for
        torch's one-time start-up (the MAC counter imports torch._dynamo: seconds)."""
        global _warmed
        if _warmed:
            return
        _warmed = True
        g = Graph(name="warm-up")
        x = g.add("Input", shape=[1, 8, 8])
        c = g.add("Conv2d", out_channels=2)
        g.connect(x, c)
        self._executor.submit(check, g)

    def close(self) -> None:
        self._check_timer.stop()
        self._checked.close()
        self._executor.shutdown(wait=False, cancel_futures=True)


_MISSING = object()
_warmed = False


def snapshot_graph(graph: Graph) -> Graph:
    """A copy for the check thread (``Graph.copy``), keeping the file's path, from which
    data paths resolve."""
    snap = graph.copy()
    if graph.source_path:
        snap.source_path = graph.source_path
    return snap


def model_source(graph: Graph, report: Report) -> str:
    """The generated module's source, or a comment saying why there is none yet."""
    from engine.build.compile import generate_source

    try:
        text, _info = generate_source(graph, report)
        return text
    except GraphError as e:
        return "# The model does not compile yet:\n" + "\n".join(
            f"#   {line}" for line in str(e).splitlines()
        )
    except Exception as e:  # an engine bug: say so in the view, never crash
        return f"# (code not available: {type(e).__name__}: {e})"
