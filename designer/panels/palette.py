"""The palette: the catalog by category, searchable, each entry with its doc line; drag to add."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from designer import i18n, style
from designer.canvas import (
    CAT_ROLE,
    DOC_ROLE,
    NODE_MIME,
    TYPE_ROLE,
    CatalogEntryDelegate,
    first_line,
    rank_specs,
)
from designer.i18n import translate
from engine import catalog
from engine.catalog import CATEGORIES
from engine.catalog.base import NodeSpec


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


class PalettePanel(QWidget):
    """Emits ``addRequested(type)`` on double-click/Enter; drags carry ``NODE_MIME``."""

    addRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.search = QLineEdit()
        self.search.setPlaceholderText(translate("PalettePanel", "Search nodes…"))
        self.search.setClearButtonEnabled(True)
        self.search.setObjectName("palette_search")
        self.tree = _Tree()
        self.tree.setObjectName("palette_tree")
        self.tree.setHeaderHidden(True)
        self.tree.setIndentation(10)
        self.tree.setMouseTracking(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setItemDelegate(CatalogEntryDelegate(self.tree))
        self.tree.setUniformRowHeights(False)
        lay.addWidget(self.search)
        lay.addWidget(self.tree)
        self._blocks: list[NodeSpec] = []  # the project's and the library's (designer.blocks_ui)
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
                top = QTreeWidgetItem([i18n.category(spec.category)])
                top.setFlags(Qt.ItemFlag.ItemIsEnabled)
                f = top.font(0)
                f.setBold(True)
                top.setFont(0, f)
                top.setForeground(0, style.qcolor(style.category_color(spec.category)).lighter(160))
                self.tree.addTopLevelItem(top)
                cats[spec.category] = top
            it = QTreeWidgetItem([spec.type])
            it.setData(0, TYPE_ROLE, spec.type)
            it.setData(0, DOC_ROLE, first_line(i18n.doc(spec.doc)))
            it.setData(0, CAT_ROLE, spec.category)
            it.setToolTip(
                0,
                f"<b>{spec.type}</b> ({i18n.category(spec.category)})<br>{i18n.doc(spec.doc)}",
            )
            it.setFlags(
                Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsDragEnabled
            )
            top.addChild(it)
            self._items[spec.type] = it
        self.tree.expandAll()

    def reload(self) -> None:
        """Read the catalog again (custom node types were loaded), keeping the search."""
        self.tree.clear()
        self._items.clear()
        self._specs = [*catalog.all_specs(), *self._blocks]
        self._build()
        self.filter(self.search.text())

    def set_blocks(self, specs: list[NodeSpec]) -> None:
        """The block types to list under "Blocks" (the project's, then the library's)."""
        self._blocks = list(specs)
        self.reload()

    def filter(self, text: str) -> None:
        """Show only entries matching ``text`` (name, category or doc), best match first:
        while searching, the categories and their entries are in the search's rank order,
        the catalog's order otherwise."""
        ranked = rank_specs(self._specs, text)
        rank = {s.type: i for i, s in enumerate(ranked)} if text.strip() else None
        self._arrange(rank)
        keep = {s.type for s in ranked}
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            shown = 0
            for j in range(top.childCount()):
                it = top.child(j)
                vis = it.data(0, TYPE_ROLE) in keep
                it.setHidden(not vis)
                shown += vis
            top.setHidden(shown == 0)
        if text and ranked:
            self.tree.setCurrentItem(self._items[ranked[0].type])

    def _arrange(self, rank: dict[str, int] | None) -> None:
        """Order the entries by ``rank`` (type -> position; unranked last), or as built."""
        built = {t: i for i, t in enumerate(self._items)}
        last = len(built)

        def key(it: QTreeWidgetItem) -> tuple[int, int]:
            t = it.data(0, TYPE_ROLE)
            return ((rank.get(t, last) if rank is not None else 0), built.get(t, last))

        tops = [self.tree.takeTopLevelItem(0) for _ in range(self.tree.topLevelItemCount())]
        for top in tops:
            top.addChildren(sorted(top.takeChildren(), key=key))
        tops.sort(
            key=lambda top: min(
                (key(top.child(j)) for j in range(top.childCount())), default=(last, last)
            )
        )
        self.tree.addTopLevelItems(tops)
        self.tree.expandAll()

    def visible_types(self) -> list[str]:
        """The entries shown, in the order they are listed."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            if top.isHidden():
                continue
            for j in range(top.childCount()):
                it = top.child(j)
                if not it.isHidden():
                    out.append(it.data(0, TYPE_ROLE))
        return out

    def _activated(self, it: QTreeWidgetItem, _col: int = 0) -> None:
        t = it.data(0, TYPE_ROLE)
        if t:
            self.addRequested.emit(t)

    def _enter(self) -> None:
        it = self.tree.currentItem()
        if it is not None and not it.isHidden():
            self._activated(it)
