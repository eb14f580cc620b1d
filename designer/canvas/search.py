"""The node search: the Tab node creator, a drop of a new wire on empty space, insert on a
wire, and the palette's double-click all pick a catalog type here and add it wired."""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QFrame,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from designer import i18n, style
from designer.i18n import translate
from engine import catalog
from engine.catalog.base import NodeSpec
from engine.graph import Edge, GraphError

# -- the popup -------------------------------------------------------------------------
TYPE_ROLE = Qt.ItemDataRole.UserRole
DOC_ROLE = Qt.ItemDataRole.UserRole + 1
CAT_ROLE = Qt.ItemDataRole.UserRole + 2


def first_line(doc: str) -> str:
    return doc.strip().split("\n", 1)[0]


class CatalogEntryDelegate(QStyledItemDelegate):
    """Type name on the first line, its doc line (elided, dim) under it, a colour chip."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        base = super().sizeHint(option, index)
        if index.data(TYPE_ROLE):
            return QSize(base.width(), int(option.fontMetrics.height() * 2.5))
        return QSize(base.width(), int(option.fontMetrics.height() * 1.6))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        type_name = index.data(TYPE_ROLE)
        if not type_name:
            super().paint(painter, option, index)
            return
        painter.save()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(option.rect, QColor(255, 255, 255, 14))
        r = option.rect.adjusted(4, 3, -4, -3)
        chip = style.qcolor(style.category_color(index.data(CAT_ROLE) or ""))
        painter.fillRect(r.x(), r.y() + 2, 4, r.height() - 4, chip)
        fm = option.fontMetrics
        bold = QFont(option.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(option.palette.text().color())
        painter.drawText(r.adjusted(10, 0, 0, 0), Qt.AlignmentFlag.AlignTop, type_name)
        small = QFont(option.font)
        small.setPointSizeF(max(6.0, option.font.pointSizeF() * 0.88))
        painter.setFont(small)
        painter.setPen(QPen(QColor(150, 156, 166)))
        doc = fm.elidedText(index.data(DOC_ROLE) or "", Qt.TextElideMode.ElideRight, r.width() - 10)
        painter.drawText(r.adjusted(10, 0, 0, 0), Qt.AlignmentFlag.AlignBottom, doc)
        painter.restore()


class NodeSearchPopup(QFrame):
    """Search-as-you-type over the catalog (type name, category, doc); Enter adds."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("node_search")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(translate("NodeSearchPopup", "Add node: type to search…"))
        self.list = QListWidget()
        self.list.setMinimumWidth(360)
        self.list.setMinimumHeight(320)
        self.list.setItemDelegate(CatalogEntryDelegate(self.list))
        lay.addWidget(self.edit)
        lay.addWidget(self.list)
        self.edit.textChanged.connect(self.refilter)
        self.edit.returnPressed.connect(self.accept_current)
        self.list.itemActivated.connect(lambda _it: self.accept_current())
        self.edit.installEventFilter(self)
        self._specs = list(catalog.all_specs())
        self.refilter("")

    def popup_at(self, anchor: QWidget) -> None:
        self._specs = list(catalog.all_specs())  # custom node types may have been loaded
        self.edit.clear()
        self.refilter("")
        from PySide6.QtGui import QCursor

        pos = QCursor.pos()
        if not anchor.rect().contains(anchor.mapFromGlobal(pos)):
            pos = anchor.mapToGlobal(anchor.rect().center())
        self.move(pos - QPoint(20, 16))
        self.show()
        self.edit.setFocus()

    def refilter(self, text: str) -> None:
        self.list.clear()
        for spec in rank_specs(self._specs, text):
            it = QListWidgetItem(spec.type)
            it.setData(TYPE_ROLE, spec.type)
            it.setData(
                DOC_ROLE, f"{i18n.category(spec.category)} · {first_line(i18n.doc(spec.doc))}"
            )
            it.setData(CAT_ROLE, spec.category)
            it.setToolTip(i18n.doc(spec.doc))
            self.list.addItem(it)
        if self.list.count():
            self.list.setCurrentRow(0)

    def accept_current(self) -> None:
        it = self.list.currentItem()
        if it is None:
            return
        self.hide()
        self.chosen.emit(it.data(Qt.ItemDataRole.UserRole))

    def eventFilter(self, obj: Any, event: QEvent) -> bool:
        if obj is self.edit and event.type() == QEvent.Type.KeyPress:
            key = event.key()  # type: ignore[attr-defined]
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                row = self.list.currentRow() + (1 if key == Qt.Key.Key_Down else -1)
                self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
                return True
            if key == Qt.Key.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(obj, event)


def rank_specs(specs: list[NodeSpec], text: str) -> list[NodeSpec]:
    """Catalog entries matching ``text``: exact/prefix names first, then fuzzy, then doc."""
    q = text.strip().lower()
    if not q:
        return list(specs)
    scored = []
    fuzzy = re.compile(".*?".join(map(re.escape, q)))
    for i, s in enumerate(specs):
        name = s.type.lower()
        if name == q:
            score = 0
        elif name.startswith(q):
            score = 1
        elif q in name:
            score = 2
        elif fuzzy.search(name):
            score = 3
        elif q in s.category.lower() or q in s.doc.lower():
            score = 4
        else:
            continue
        scored.append((score, len(name), i, s))
    return [s for *_, s in sorted(scored, key=lambda t: t[:3])]


# -- what the canvas does with the chosen type ---------------------------------------------
class CanvasSearch:
    """Mixed into :class:`designer.canvas.Canvas`: where the search was asked from decides
    where the new node goes and what it is wired to."""

    document: Any
    search: NodeSearchPopup
    viewer: Any
    _ids: dict[str, str]
    _search_pos: tuple[float, float] | None
    _search_prev: list[str]
    _search_from: tuple[str, str, bool] | None
    _search_edge: Edge | None

    def show_search(self) -> None:
        """The Tab node creator: type to filter the catalog, Enter to add at the cursor."""
        self._search_pos = self.cursor_scene_pos()
        self._search_prev = self.selected_ids()
        self._search_edge = None
        self._search_from = None
        self.search.popup_at(self.viewer)

    def _port_dropped(self, view_id: str, port: str, is_output: bool, pos: Any) -> None:
        """Dragged from a port to empty space: the node search, there, wired to that port."""
        nid = self._ids.get(view_id)
        if nid is None:
            return
        self._search_edge = None
        self._search_prev = []
        self._search_from = (nid, port, is_output)
        self._search_pos = (pos.x(), pos.y() - 20)
        self.search.popup_at(self.viewer)

    def _wire_new_node(self, new: str, end: tuple[str, str, bool]) -> None:
        """Connect ``new`` to the port a wire was dragged from: the first port that fits."""
        g = self.document.graph
        nid, port, is_output = end
        spec = g.nodes[new].spec
        if is_output:
            pairs = [(nid, port, new, i.name) for i in spec.inputs]
        else:
            pairs = [(new, o.name, nid, port) for o in spec.outputs]
        for a, ap, b, bp in pairs:
            # the document's rule: an occupied single input is replaced, as a drag does
            if self.document.connection_problem(Edge(a, ap, b, bp)) is None:
                self.document.connect(a, ap, b, bp)
                return
        self._refuse(f"{g.nodes[new].name} has no port that fits {g.nodes[nid].name}.{port}")

    def insert_on_wire(self, edge: Edge) -> None:
        """Search for a node to put on the wire ``edge`` (right-click a wire)."""
        self._search_edge = edge
        self._search_prev = []
        self._search_from = None
        self.search.popup_at(self.viewer)

    def _search_chosen(self, type_name: str) -> None:
        """Add the chosen type; with one node selected, wire it after that node (one step)."""
        edge, self._search_edge = self._search_edge, None
        doc = self.document
        if edge is not None and edge in doc.graph.edges:
            try:
                nid = doc.insert_node(type_name, edge.src, edge.src_port, edge.dst, edge.dst_port)
            except (GraphError, StopIteration, ValueError) as e:
                self._refuse(str(e) or f"{type_name} cannot go on this wire")
                return
            self.select([nid])
            return
        end, self._search_from = self._search_from, None
        if end is not None and end[0] in doc.graph.nodes:
            doc.undo_stack.beginMacro(f"Add {type_name}")
            try:
                nid = self.add_node_at(type_name, self._search_pos or self.view_center())
                if nid is not None:
                    self._wire_new_node(nid, end)
            finally:
                doc.undo_stack.endMacro()
            return
        prev = self._search_prev
        doc.undo_stack.beginMacro(f"Add {type_name}")
        try:
            from engine.build.layout import free_position

            # free space next to what it connects to, never on top of a node (item 5)
            if len(prev) == 1 and prev[0] in doc.graph.nodes:
                pos = free_position(doc.graph, after=prev[0])
            else:
                pos = free_position(doc.graph, near=self._search_pos or self.view_center())
            nid = self.add_node_at(type_name, pos)
            if nid is not None:
                QTimer.singleShot(0, lambda nid=nid: self.reveal(nid))
            if nid is not None and len(prev) == 1 and prev[0] in doc.graph.nodes:
                ends = self.auto_ports(prev[0], nid)
                if ends is not None:
                    doc.connect(*ends)
        finally:
            doc.undo_stack.endMacro()

    def auto_ports(self, src: str, dst: str) -> tuple[str, str, str, str] | None:
        """The first (output, free input) pair the engine accepts between two nodes."""
        g = self.document.graph
        a, b = g.nodes[src].spec, g.nodes[dst].spec
        for o in a.outputs:
            for i in b.inputs:
                if g.connection_problem(src, o.name, dst, i.name) is None:
                    return src, o.name, dst, i.name
        return None

    def add_after_selection(self, type_name: str) -> None:
        """Add ``type_name`` at the view's centre, wired after the single selected node when
        it fits (the palette's double-click): the same step as choosing it in the search."""
        self._search_prev = self.selected_ids()
        self._search_from = None
        self._search_edge = None
        self._search_pos = self.view_center()
        self._search_chosen(type_name)


__all__ = [
    "CAT_ROLE",
    "DOC_ROLE",
    "TYPE_ROLE",
    "CanvasSearch",
    "CatalogEntryDelegate",
    "NodeSearchPopup",
    "first_line",
    "rank_specs",
]
