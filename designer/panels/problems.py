"""The problems list: every diagnostic of the live check; double-click selects the node.

Right-click a lint ▸ "Silence…" asks why it does not apply and silences it on its node
(undoable; the reason is saved in the project). Silenced lints stay listed, greyed, with
their reason, and "Unsilence" lets them speak again.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QInputDialog,
    QMenu,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer import style
from designer.document import Document
from designer.i18n import fmt, translate
from engine.analysis.check import Report

NODE_ROLE = Qt.ItemDataRole.UserRole
FIX_ROLE = Qt.ItemDataRole.UserRole + 1
LINT_ROLE = Qt.ItemDataRole.UserRole + 2
SILENCED_ROLE = Qt.ItemDataRole.UserRole + 3


class ProblemsPanel(QWidget):
    nodeRequested = Signal(str)
    fixRequested = Signal(object)  # engine.analysis.fixes.Fix
    countChanged = Signal(int, int)  # errors, warnings

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.tree = QTreeWidget()
        self.tree.setObjectName("problems_tree")
        self.tree.setHeaderLabels(
            ["", translate("ProblemsPanel", "Node"), translate("ProblemsPanel", "Problem")]
        )
        self.tree.setRootIsDecorated(False)
        self.tree.setColumnWidth(0, 26)
        self.tree.setColumnWidth(1, 120)
        self.tree.setAlternatingRowColors(True)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        self.tree.itemDoubleClicked.connect(self._activated)
        lay.addWidget(self.tree)
        document.reportReady.connect(self.show_report)
        self._last: list[Any] = []

    def show_report(self, rep: Report) -> None:
        key = [(d.node, d.severity, d.message, d.silenced) for d in rep.diagnostics]
        key += [(d.node, d.severity, d.message, d.silenced) for d in rep.silenced]
        g = self.document.graph
        if key == self._last:
            return
        self._last = key
        self.tree.clear()
        err_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical)
        warn_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        order = sorted(rep.diagnostics, key=lambda d: d.severity != "error")
        for d in order:
            name = g.nodes[d.node].name if d.node in g.nodes else "—"
            it = QTreeWidgetItem(["", name, d.message + ("   (fix available)" if d.fix else "")])
            it.setIcon(0, err_icon if d.severity == "error" else warn_icon)
            it.setData(0, NODE_ROLE, d.node)
            it.setData(0, FIX_ROLE, d.fix)
            it.setToolTip(2, d.message)
            it.setData(0, LINT_ROLE, d.lint)
            color = style.ERROR if d.severity == "error" else style.WARNING
            it.setForeground(1, style.qcolor(color))
            self.tree.addTopLevelItem(it)
        for d in rep.silenced:
            name = g.nodes[d.node].name if d.node in g.nodes else "—"
            it = QTreeWidgetItem(["", name, f"{d.message}   (silenced: {d.silenced})"])
            it.setData(0, NODE_ROLE, d.node)
            it.setData(0, LINT_ROLE, d.lint)
            it.setData(0, SILENCED_ROLE, True)
            it.setToolTip(2, f"{d.lint} is silenced here: {d.silenced}")
            grey = self.palette().color(self.palette().ColorRole.PlaceholderText)
            for col in (1, 2):
                it.setForeground(col, grey)
            self.tree.addTopLevelItem(it)
        self.countChanged.emit(len(rep.errors), len(rep.warnings))

    def rows(self) -> list[tuple[str | None, str]]:
        out = []
        for i in range(self.tree.topLevelItemCount()):
            it = self.tree.topLevelItem(i)
            out.append((it.data(0, NODE_ROLE), it.text(2)))
        return out

    def _activated(self, it: QTreeWidgetItem, _col: int = 0) -> None:
        nid = it.data(0, NODE_ROLE)
        if nid:
            self.nodeRequested.emit(nid)

    def _menu(self, pos: Any) -> None:
        it = self.tree.itemAt(pos)
        if it is None:
            return
        menu = QMenu(self)
        nid = it.data(0, NODE_ROLE)
        if nid:
            menu.addAction(
                translate("ProblemsPanel", "Select node"), lambda: self.nodeRequested.emit(nid)
            )
        fix = it.data(0, FIX_ROLE)
        if fix:
            menu.addAction(
                fmt(translate("ProblemsPanel", "Fix: %1"), fix.label),
                lambda: self.fixRequested.emit(fix),
            )
        lint = it.data(0, LINT_ROLE)
        if lint and nid in self.document.graph.nodes:
            if it.data(0, SILENCED_ROLE):
                menu.addAction("Unsilence", lambda: self.document.silence(nid, lint, None))
            else:
                menu.addAction("Silence…", lambda: self.ask_silence(nid, lint))
        menu.exec(self.tree.viewport().mapToGlobal(pos))

    def ask_silence(self, node_id: str, lint_id: str) -> None:
        """Ask why the lint does not apply here, then silence it on the node (undoable)."""
        name = self.document.graph.node(node_id).name
        reason, ok = QInputDialog.getText(
            self,
            "Silence lint",
            f"Why does {lint_id} not apply to {name}? (saved in the project)",
        )
        if ok and reason.strip():
            self.document.silence(node_id, lint_id, reason)
