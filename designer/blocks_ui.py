"""Blocks in the designer: instances on the canvas, the palette's "Blocks", Make Block…,
Ungroup, editing inside a block (breadcrumb back out) and the block library.

A thin view of ``engine.graph.blocks`` and ``engine.graph.block_ops``: every edit is an engine op
pushed with ``Document.do`` (one undo step, exact inverse). Choices made here:

- **Node classes.** Block types live in ``graph.blocks``, not in the catalog, so their
  view classes are made on demand by the canvas, one per block name, carrying the spec of
  the definition in use (``designer.canvas.block_view_type``); an edited definition whose
  ports changed redraws its instances (``Canvas.refresh_block_instances``).
- **Inside a block.** Double-clicking an instance shows its block's graph in the same
  canvas (a ``BlockDocument``: a copy of the definition whose every edit is sent to the
  project as ``EditBlock(block, op)``, so it changes every instance and undoes with
  Ctrl+Z like any edit). Shapes shown are those of the instance entered (the check's
  ``report.inner``). One level at a time: blocks inside a block are not opened, and
  Make Block/Ungroup work at the top level only.
- **Library.** File ▸ Open Block Library… remembers its path (QSettings ``blocks/library``);
  its blocks join the palette, and adding one defines it in the project in the same undo
  step (``Batch(DefineBlock…, AddNode)``). Save Selection as Block to Library… adds the
  selection, made into a block on a copy of the graph, to the library file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QToolButton,
    QWidget,
)

from designer.document import Document
from designer.i18n import translate
from engine import catalog
from engine.analysis.check import Report
from engine.catalog.base import NodeSpec
from engine.errors import TorchwireError
from engine.graph import BlockChanged, BlockRemoved, Graph, GraphError, GraphEvent, NodeRemoved
from engine.graph.block_ops import DefineBlock, EditBlock, MakeBlock, Ungroup
from engine.graph.blocks import BlockDef, define, dependency_order
from engine.graph.ops import Op
from engine.project.library import load_library, save_library

if TYPE_CHECKING:
    from designer.canvas import Canvas

LIBRARY_KEY = "blocks/library"
LIBRARY_FILTER = "Torchwire block library (*.json);;All files (*)"


def project_block_specs(graph: Graph) -> list[NodeSpec]:
    return [d.spec for d in dependency_order(graph.blocks.values())]


# -- inside a block ------------------------------------------------------------------------
class BlockDocument(Document):
    """The inside of block ``block``, entered from instance ``instance`` of ``root``.

    Its graph is a copy of the definition; ``do`` applies an edit to the project as
    ``EditBlock`` (the undo step lives on the project's stack) and then to the copy, which
    the canvas shows. When the definition changes otherwise (undo, redo), the copy is
    replaced by the new definition. Its report is the project's for that instance."""

    def __init__(self, root: Document, block: str, instance: str) -> None:
        super().__init__(root.graph.blocks[block].graph.copy(), parent=root)
        self.root, self.block, self.instance = root, block, instance
        self._doing = False
        self._unsub_root = root.graph.subscribe(self._root_event)
        root.reportReady.connect(self._take_report)
        self.graph.name = block

    @property
    def definition(self) -> BlockDef:
        return self.root.graph.blocks[self.block]

    def do(self, op: Op, text: str | None = None) -> Op:
        label = text or f"{op.describe(self.graph)} (in {self.block})"
        self._doing = True
        try:
            self.root.do(EditBlock(self.block, op), label)
        except GraphError as e:
            self.refused.emit(str(e))
            raise
        finally:
            self._doing = False
        inverse = self.graph.apply(op)
        self._after_command()
        self._sync()
        return inverse

    def set_name(self, name: str) -> None:  # the block's name is its type's: fixed
        if name and name != self.block:
            self.refused.emit(f"a block's name is its node type's ({self.block}); it stays")

    def set_setting(self, key: str, value: Any) -> None:  # training settings are the project's
        self.refused.emit("training settings belong to the project, not to a block")

    def _sync(self) -> None:
        if self.block not in self.root.graph.blocks:
            return
        new = self.definition.graph
        if new.to_dict() != {**self.graph.to_dict(), "name": new.name}:
            self.replace_graph(new.copy())
            self.graph.name = self.block

    def _root_event(self, event: GraphEvent) -> None:
        if isinstance(event, BlockChanged) and event.block == self.block and not self._doing:
            QTimer.singleShot(0, self._sync)

    def _start_check(self) -> None:  # the project's check covers the inside
        self._take_report(self.root.report)

    def _take_report(self, rep: Report | None) -> None:
        inner = rep.inner.get(self.instance) if rep is not None else None
        self._set_report(inner if inner is not None else Report())

    def close(self) -> None:
        self._unsub_root()
        try:
            self.root.reportReady.disconnect(self._take_report)
        except (RuntimeError, TypeError):
            pass
        super().close()


class Breadcrumb(QWidget):
    """ "model › layer1_0 (BasicBlock)": the first part goes back out."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("block_breadcrumb")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 3, 8, 3)
        self.root_button = QToolButton()
        self.root_button.setObjectName("breadcrumb_root")
        self.root_button.setAutoRaise(True)
        self.here = QLabel()
        self.hint = QLabel(
            translate("Blocks", "edits here change every instance of the block · Esc: back out")
        )
        self.hint.setStyleSheet("color: #9aa0a6;")
        lay.addWidget(self.root_button)
        lay.addWidget(self.here)
        lay.addStretch(1)
        lay.addWidget(self.hint)
        self.setStyleSheet("#block_breadcrumb { background: #2b3440; }")
        self.hide()

    def text(self) -> str:
        return f"{self.root_button.text()}{self.here.text()}"


# -- the controller --------------------------------------------------------------------------
class BlocksController(QObject):
    """Adds the blocks' actions to the main window and keeps palette and canvas in step."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.root: Document = window.document
        self.canvas: Canvas = window.canvas
        self.inside: BlockDocument | None = None
        self.library_path: Path | None = None
        self.library: dict[str, Graph] = {}  # the library's blocks by name
        self.library_defs: dict[str, BlockDef] = {}
        self._unsub = lambda: None
        self.breadcrumb = Breadcrumb(self.canvas)
        self.breadcrumb.root_button.clicked.connect(self.leave)
        self.canvas.layout().insertWidget(0, self.breadcrumb)
        self.root.block_source = self._block_source  # type: ignore[method-assign]
        self.root.graphReplaced.connect(self._graph_replaced)
        self.root.graphChanged.connect(self._maybe_refresh_palette)
        self._listed: tuple[Any, ...] = ()
        self.canvas.nodeActivated.connect(self._activated)
        self._build_actions()
        self._graph_replaced()
        from designer.files import settings

        saved = settings().value(LIBRARY_KEY, "")
        if saved and Path(str(saved)).is_file():
            try:
                self.open_library(str(saved))
            except TorchwireError as e:
                window.statusBar().showMessage(f"✖ {e}", 6000)

    # -- menus -----------------------------------------------------------------------------
    def _build_actions(self) -> None:
        w = self.window
        self.act_make = w._act(
            "make_block", translate("Blocks", "&Make Block…"), self.make_block_dialog, "Ctrl+B"
        )
        self.act_ungroup = w._act(
            "ungroup", translate("Blocks", "&Ungroup"), self.ungroup, "Ctrl+Shift+B"
        )
        self.act_enter = w._act(
            "enter_block", translate("Blocks", "&Edit Inside Block"), self.enter_selected
        )
        self.act_leave = w._act(
            "leave_block",
            translate("Blocks", "&Back Out of Block"),
            self.leave,
            "Esc",
            canvas_only=True,
        )
        self.act_leave.setEnabled(False)
        self.act_open_lib = w._act(
            "open_block_library",
            translate("Blocks", "Open &Block Library…"),
            self.open_library_dialog,
        )
        self.act_save_lib = w._act(
            "save_block_to_library",
            translate("Blocks", "Save Selection as Block to &Library…"),
            self.save_selection_dialog,
        )
        A = w.actions_by_name
        for menu in self._menus():
            acts = menu.actions()
            if A.get("freeze") in acts:  # Edit
                before = A["add_node"] if A.get("add_node") in acts else None
                for a in (self.act_make, self.act_ungroup, self.act_enter, self.act_leave):
                    menu.insertAction(before, a)
                menu.insertSeparator(before)
            if A.get("quit") in acts:  # File
                before = A.get("quit")
                menu.insertAction(before, self.act_open_lib)
                menu.insertAction(before, self.act_save_lib)
                menu.insertSeparator(before)

    def _menus(self) -> list[QMenu]:
        return [a.menu() for a in self.window.menuBar().actions() if a.menu() is not None]

    def add_node_actions(self, menu: QMenu, nid: str) -> None:
        """The right-click menu of a node: Make Block…, and Ungroup/Edit Inside on an instance."""
        g = self.canvas.document.graph
        node = g.nodes.get(nid)
        if node is None:
            return
        menu.addSeparator()
        if self.inside is None:
            menu.addAction(self.act_make)
            if node.type in g.blocks:
                menu.addAction(self.act_enter)
                menu.addAction(self.act_ungroup)
        menu.addAction(self.act_save_lib)

    # -- following the project ---------------------------------------------------------------
    def _graph_replaced(self) -> None:
        self.leave()
        self._unsub()
        self._unsub = self.root.graph.subscribe(self._root_event)
        self.refresh_palette()

    def _root_event(self, event: GraphEvent) -> None:
        if self.inside is not None and (
            (isinstance(event, NodeRemoved) and event.node == self.inside.instance)
            or (isinstance(event, BlockRemoved) and event.block == self.inside.block)
        ):
            QTimer.singleShot(0, self._left_behind)

    def _left_behind(self) -> None:
        ins = self.inside
        if ins is not None and (
            ins.instance not in self.root.graph.nodes or ins.block not in self.root.graph.blocks
        ):
            self.leave()

    def _maybe_refresh_palette(self) -> None:
        if self._signature() != self._listed:
            self.refresh_palette()

    def _signature(self) -> tuple[Any, ...]:
        return (
            tuple(map(id, self.root.graph.blocks.values())),
            tuple(map(id, self.library_defs.values())),
        )

    def refresh_palette(self) -> None:
        self._listed = self._signature()
        specs = project_block_specs(self.root.graph)
        have = {s.type for s in specs}
        specs += [d.spec for n, d in self.library_defs.items() if n not in have]
        palette = getattr(self.window, "palette", None)
        if palette is not None:
            palette.set_blocks(specs)

    def _block_source(self, type_name: str) -> list[Op]:
        """Document.add_node's hook: define a library block (and what it uses) first."""
        blk = self.library.get(type_name)
        if blk is None or catalog.has(type_name):
            return []
        g = self.root.graph
        ops: list[Op] = [
            DefineBlock.of(d)
            for d in dependency_order(blk.blocks.values())
            if d.name not in g.blocks
        ]
        return [*ops, DefineBlock.of(self.library_defs[type_name])]

    # -- make, ungroup ------------------------------------------------------------------------
    def _at_top(self) -> bool:
        if self.inside is not None:
            self.window.statusBar().showMessage(
                "✖ " + translate("Blocks", "Back out of the block first (Esc)"), 6000
            )
            return False
        return True

    def fresh_block_name(self, base: str = "Block") -> str:
        g, i, name = self.root.graph, 2, base
        while name in g.blocks or catalog.has(name) or name in self.library:
            name, i = f"{base}{i}", i + 1
        return name

    def make_block(self, node_ids: list[str], name: str, expose: dict[str, list[str]]) -> str:
        """Make the nodes block ``name`` (one undo step); returns the instance's id."""
        before = set(self.root.graph.nodes)
        self.root.do(MakeBlock(tuple(node_ids), name, expose))
        inst = next(n for n in self.root.graph.nodes if n not in before)
        self.canvas.select([inst])
        return inst

    def _dialog(self, title: str | None = None) -> Any:
        from designer.widgets.make_block_dialog import MakeBlockDialog

        ids = self.canvas.selected_ids()
        g = self.canvas.document.graph

        def problem(name: str, expose: dict[str, list[str]]) -> str | None:
            return g.check_op(MakeBlock(tuple(ids), name, expose))

        return MakeBlockDialog(g, ids, self.fresh_block_name(), problem, self.window, title), ids

    def make_block_dialog(self) -> Any:
        """Edit ▸ Make Block…: ask the name and the exposed parameters, then make it.
        Returns the dialog (offscreen: not shown; tests fill it and call ``accept``)."""
        if not self._at_top():
            return None
        ids = self.canvas.selected_ids()
        problem = self.root.graph.check_op(MakeBlock(tuple(ids), self.fresh_block_name()))
        if problem is not None:
            self.window.statusBar().showMessage(f"✖ {problem}", 6000)
            return None
        dlg, ids = self._dialog()
        dlg.accepted.connect(lambda: self.make_block(ids, *dlg.values()))
        self._show(dlg)
        return dlg

    def _show(self, dlg: Any) -> None:
        from PySide6.QtWidgets import QApplication

        self.dialog = dlg
        if QApplication.platformName() != "offscreen":
            dlg.open()

    def _instance(self, nid: str | None = None) -> str | None:
        ids = [nid] if nid is not None else self.canvas.selected_ids()
        g = self.canvas.document.graph
        inst = [n for n in ids if n in g.nodes and g.nodes[n].type in g.blocks]
        return inst[0] if len(inst) == 1 else None

    def ungroup(self, nid: str | None = None) -> list[str]:
        """Edit ▸ Ungroup: the selected instance becomes its inner nodes (one undo step)."""
        if not self._at_top():
            return []
        inst = self._instance(nid)
        if inst is None:
            self.window.statusBar().showMessage(
                "✖ " + translate("Blocks", "Select one block instance to ungroup"), 6000
            )
            return []
        before = set(self.root.graph.nodes)
        try:
            self.root.do(Ungroup(inst))
        except GraphError:
            return []
        new = [n for n in self.root.graph.nodes if n not in before]
        self.canvas.select(new)
        return new

    # -- inside a block ----------------------------------------------------------------------
    def _activated(self, nid: str) -> None:
        if self.inside is None and self._instance(nid) is not None:
            QTimer.singleShot(0, lambda: self.enter(nid))

    def enter_selected(self) -> None:
        inst = self._instance()
        if inst is not None and self._at_top():
            self.enter(inst)

    def enter(self, instance: str) -> BlockDocument | None:
        """Show the inside of the instance's block; edits there change the definition."""
        g = self.root.graph
        node = g.nodes.get(instance)
        if node is None or node.type not in g.blocks or self.inside is not None:
            return None
        self.inside = inside = BlockDocument(self.root, node.type, instance)
        inside.refused.connect(lambda m: self.window.statusBar().showMessage(f"✖ {m}", 6000))
        self.canvas.set_document(inside)
        props = getattr(self.window, "properties", None)
        if props is not None and hasattr(props, "set_document"):
            props.set_document(inside)
        self.breadcrumb.root_button.setText(g.name or "model")
        self.breadcrumb.here.setText(f" › {node.name} ({node.type})")
        self.breadcrumb.show()
        self.act_leave.setEnabled(True)
        for a in (self.act_make, self.act_ungroup, self.act_enter):
            a.setEnabled(False)
        inside._take_report(self.root.report)
        return inside

    def leave(self) -> None:
        """Back to the project's own graph (the breadcrumb's first part, Esc)."""
        inside, self.inside = self.inside, None
        if inside is None:
            return
        self.canvas.set_document(self.root)
        props = getattr(self.window, "properties", None)
        if props is not None and hasattr(props, "set_document"):
            props.set_document(self.root)
        inside.close()
        inside.deleteLater()
        self.breadcrumb.hide()
        self.act_leave.setEnabled(False)
        for a in (self.act_make, self.act_ungroup, self.act_enter):
            a.setEnabled(True)
        if inside.instance in self.root.graph.nodes:
            self.canvas.select([inside.instance], center=True)

    # -- the library ---------------------------------------------------------------------------
    def open_library(self, path: str | Path) -> list[str]:
        """Read a block library (ProjectError naming the file if it is not one); its blocks
        join the palette; the path is remembered. Returns the block names."""
        from designer.files import settings

        blocks = load_library(path)
        self.library = {b.name: b for b in blocks}
        self.library_defs = {b.name: define(b, b.exposed, b.block_version) for b in blocks}
        self.library_path = Path(path).resolve()
        settings().setValue(LIBRARY_KEY, str(self.library_path))
        self.refresh_palette()
        return list(self.library)

    def open_library_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.window,
            translate("Blocks", "Open Block Library"),
            str(self.library_path or ""),
            LIBRARY_FILTER,
        )
        if path:
            try:
                self.open_library(path)
            except TorchwireError as e:
                self.window.show_error(translate("Blocks", "Open Block Library"), str(e))

    def save_selection(self, path: str | Path, name: str, expose: dict[str, list[str]]) -> None:
        """Add the selection, as block ``name``, to the library file ``path`` (made if new;
        a block of that name there is replaced); the project does not change."""
        ids = self.canvas.selected_ids()
        trial = self.canvas.document.graph.copy()
        trial.apply(MakeBlock(tuple(ids), name, expose))  # GraphError says why not
        d = trial.blocks[name]
        keep: list[Graph | BlockDef] = []
        if Path(path).is_file():
            keep = [b for b in load_library(path) if b.name != name]
        save_library(path, [*keep, d])
        self.open_library(path)

    def save_selection_dialog(self) -> Any:
        ids = self.canvas.selected_ids()
        problem = self.canvas.document.graph.check_op(
            MakeBlock(tuple(ids), self.fresh_block_name())
        )
        if problem is not None:
            self.window.statusBar().showMessage(f"✖ {problem}", 6000)
            return None
        dlg, _ids = self._dialog(translate("Blocks", "Save Selection as Block to Library"))

        def chosen() -> None:
            path = str(self.library_path or "")
            if not path:
                path, _ = QFileDialog.getSaveFileName(
                    self.window, translate("Blocks", "Block Library"), "blocks.json", LIBRARY_FILTER
                )
            if path:
                try:
                    self.save_selection(path, *dlg.values())
                except TorchwireError as e:
                    self.window.show_error(translate("Blocks", "Save Block"), str(e))

        dlg.accepted.connect(chosen)
        self._show(dlg)
        return dlg


__all__ = [
    "BlockDocument",
    "BlocksController",
    "Breadcrumb",
]
