"""The palette: the catalog by category, searchable, each entry with its doc line; drag to add."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer import style
from designer.canvas import NODE_MIME, rank_specs
from engine import catalog
from engine.catalog import CATEGORIES

TYPE_ROLE = Qt.ItemDataRole.UserRole
DOC_ROLE = Qt.ItemDataRole.UserRole + 1
CAT_ROLE = Qt.ItemDataRole.UserRole + 2


class _Tree(QTreeWidget):
    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:  # type: ignore[override]
        md = QMimeData()
        types = [it.data(0, TYPE_ROLE) for it in items if it.data(0, TYPE_ROLE)]
        if types:
            md.setData(NODE_MIME, types[0].encode())
            md.setText(types[0])
        return md

    def mimeTypes(self) -> list[str]:
        return [NODE_MIME]


class _EntryDelegate(QStyledItemDelegate):
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


class PalettePanel(QWidget):
    """Emits ``addRequested(type)`` on double-click/Enter; drags carry ``NODE_MIME``."""

    addRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search nodes…")
        self.search.setClearButtonEnabled(True)
        self.search.setObjectName("palette_search")
        self.tree = _Tree()
        self.tree.setObjectName("palette_tree")
        self.tree.setHeaderHidden(True)
        self.tree.setIndentation(10)
        self.tree.setMouseTracking(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setItemDelegate(_EntryDelegate(self.tree))
        self.tree.setUniformRowHeights(False)
        lay.addWidget(self.search)
        lay.addWidget(self.tree)
        self._specs = list(catalog.all_specs())
        self._items: dict[str, QTreeWidgetItem] = {}
        self._build()
        self.search.textChanged.connect(self.filter)
        self.tree.itemActivated.connect(self._activated)
        self.search.returnPressed.connect(self._enter)

    def _build(self) -> None:
        cats: dict[str, QTreeWidgetItem] = {}
        order = {c: i for i, c in enumerate(CATEGORIES)}
        for spec in sorted(self._specs, key=lambda s: (order.get(s.category, 99), s.group)):
            top = cats.get(spec.category)
            if top is None:
                top = QTreeWidgetItem([spec.category])
                top.setFlags(Qt.ItemFlag.ItemIsEnabled)
                f = top.font(0)
                f.setBold(True)
                top.setFont(0, f)
                top.setForeground(0, style.qcolor(style.category_color(spec.category)).lighter(160))
                self.tree.addTopLevelItem(top)
                cats[spec.category] = top
            it = QTreeWidgetItem([spec.type])
            it.setData(0, TYPE_ROLE, spec.type)
            it.setData(0, DOC_ROLE, first_line(spec.doc))
            it.setData(0, CAT_ROLE, spec.category)
            it.setToolTip(0, f"<b>{spec.type}</b> ({spec.category})<br>{spec.doc}")
            it.setFlags(
                Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsDragEnabled
            )
            top.addChild(it)
            self._items[spec.type] = it
        self.tree.expandAll()

    def filter(self, text: str) -> None:
        """Show only entries matching ``text`` (name, category or doc)."""
        keep = {s.type for s in rank_specs(self._specs, text)}
        first = None
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            shown = 0
            for j in range(top.childCount()):
                it = top.child(j)
                vis = it.data(0, TYPE_ROLE) in keep
                it.setHidden(not vis)
                shown += vis
                if vis and first is None:
                    first = it
            top.setHidden(shown == 0)
        if text and first is not None:
            ranked = rank_specs(self._specs, text)
            self.tree.setCurrentItem(self._items[ranked[0].type])

    def visible_types(self) -> list[str]:
        return [
            t for t, it in self._items.items() if not it.isHidden() and not it.parent().isHidden()
        ]

    def _activated(self, it: QTreeWidgetItem, _col: int = 0) -> None:
        t = it.data(0, TYPE_ROLE)
        if t:
            self.addRequested.emit(t)

    def _enter(self) -> None:
        it = self.tree.currentItem()
        if it is not None and not it.isHidden():
            self._activated(it)


def first_line(doc: str) -> str:
    line = doc.strip().split("\n", 1)[0]
    return line
