"""The canvas's right-click menus: on a node (its fixes first, then the edit actions,
freeze, blocks), on the empty canvas, and on a wire (insert a node, delete)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from designer.i18n import fmt, translate
from engine.analysis.fixes import Fix
from engine.graph import Edge, GraphError
from engine.graph.ops import AddNode, Batch


class CanvasMenus:
    """Mixed into :class:`designer.canvas.Canvas` (uses its document, selection, views)."""

    document: Any
    _ids: dict[str, str]

    def _context_menu(self, view_id: str | None, global_pos: QPoint) -> None:
        menu = self.build_context_menu(self._ids.get(view_id) if view_id else None)
        menu.exec(global_pos)

    def _wire_menu(self, pipe: Any, global_pos: QPoint) -> None:
        menu = self.build_wire_menu(self.edge_of_pipe(pipe))
        if menu.actions():
            menu.exec(global_pos)

    def build_wire_menu(self, edge: Edge | None) -> QMenu:
        """Right-click on a wire: insert a node on it, or delete it."""
        menu = QMenu(self)
        if edge is None or edge not in self.document.graph.edges:
            return menu
        menu.addAction(
            translate("Canvas", "Insert Node on Wire…"), lambda: self.insert_on_wire(edge)
        )
        menu.addAction(
            translate("Canvas", "Delete Connection"), lambda: self.document.disconnect([edge])
        )
        return menu

    def build_context_menu(self, nid: str | None) -> QMenu:
        """The right-click menu for a node (fixes first) or for the empty canvas."""
        menu = QMenu(self)
        win = self.window()
        acts: dict[str, QAction] = getattr(win, "actions_by_name", {})
        if nid is not None:
            if nid not in self.selected_ids():
                self.select([nid])
            rep = self.document.report
            for d in rep.for_node(nid) if rep is not None else []:
                if d.fix:
                    a = menu.addAction(fmt(translate("Canvas", "Fix: %1"), d.fix.label))
                    a.triggered.connect(lambda _=False, f=d.fix: self.apply_fix(f))
            if menu.actions():
                menu.addSeparator()
            for key in ("rename", "duplicate", "copy", "cut", "delete"):
                if key in acts:
                    menu.addAction(acts[key])
            self._freeze_actions(menu)
            blocks = getattr(win, "blocks", None)  # designer.blocks_ui.BlocksController
            if blocks is not None:
                blocks.add_node_actions(menu, nid)
        else:
            for key in ("add_node", "paste", "select_all", "auto_layout", "fit"):
                if key in acts:
                    menu.addAction(acts[key])
        return menu

    def freeze_selected(self, frozen: bool = True) -> None:
        """Freeze (or unfreeze) the selected model layers; one undo step."""
        self.document.freeze(self.selected_ids(), frozen)

    def _freeze_actions(self, menu: QMenu) -> None:
        g = self.document.graph
        sel = [g.nodes[n] for n in self.selected_ids() if n in g.nodes]
        layers = [n for n in sel if n.spec.kind == "model"]
        if not layers:
            return
        menu.addSeparator()
        if any(not n.frozen for n in layers):
            a = menu.addAction(translate("Canvas", "Freeze"))
            a.triggered.connect(lambda _=False: self.freeze_selected(True))
        if any(n.frozen for n in layers):
            a = menu.addAction(translate("Canvas", "Unfreeze"))
            a.triggered.connect(lambda _=False: self.freeze_selected(False))

    def apply_fix(self, fix: Fix) -> None:
        """Do the engine's fix as one undo step; select the node it added, if any."""
        try:
            self.document.do(fix.op, fix.label)
        except GraphError as e:
            self._refuse(str(e))
            return
        ops = fix.op.ops if isinstance(fix.op, Batch) else (fix.op,)
        added = [o.id for o in ops if isinstance(o, AddNode) and o.id in self.document.graph.nodes]
        if added:
            self.select(added)


__all__ = ["CanvasMenus"]
