"""Frames (titled, coloured regions) and collapsed nodes on the canvas.

Both live in the project (``graph.frames``, ``graph.collapsed``; see ``engine.graph.frames``),
and every change is one undo step made through the document's undo stack (the engine's
``SetFrames`` and ``SetCollapsed`` ops), so undo, save and reopen treat them like any other
edit. The canvas
items here only draw what the graph holds and turn gestures into those commands.

NodeGraphQt's ``BackdropNode`` was not used: it is a node of NodeGraphQt's own model that
drags the nodes it covers through NodeGraphQt's move path, behind the engine's Graph. A
frame here is a plain scene item below the nodes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QColorDialog,
    QGraphicsItem,
    QGraphicsSceneMouseEvent,
    QInputDialog,
    QMenu,
    QWidget,
)

from designer.i18n import translate
from engine.graph import GraphChanged, GraphEvent, NodeAdded, Renamed
from engine.graph.frames import Frame
from engine.graph.ops import SetCollapsed, SetFrames

TITLE_H = 26.0
HANDLE = 14.0
COLORS = ("#3b5f8a", "#5a7d3a", "#8a5a3b", "#7a3b8a", "#8a3b4c", "#3b8a80", "#6b6b6b")
COLLAPSED_H = 30.0  # a collapsed node: its title bar only


def _set(document: Any, field: str, value: Any, text: str) -> None:
    """One undo step setting ``graph.<field>`` (frames, collapsed)."""
    document.annotate(SetFrames(value) if field == "frames" else SetCollapsed(value), text)


# -- the document-side edits (also what tests and scripts call) ---------------------------
def add_frame(document: Any, frame: Frame) -> int:
    _set(document, "frames", (*document.graph.frames, frame), translate("Frames", "Add frame"))
    return len(document.graph.frames) - 1


def update_frame(document: Any, index: int, text: str | None = None, **changes: Any) -> None:
    frames = list(document.graph.frames)
    new = replace(frames[index], **changes)
    if new == frames[index]:
        return
    frames[index] = new
    _set(document, "frames", tuple(frames), text or translate("Frames", "Change frame"))


def remove_frame(document: Any, index: int) -> None:
    frames = list(document.graph.frames)
    del frames[index]
    _set(document, "frames", tuple(frames), translate("Frames", "Delete frame"))


def set_collapsed(document: Any, node_ids: list[str], on: bool) -> None:
    cur = document.graph.collapsed
    new = (cur | set(node_ids)) if on else (cur - set(node_ids))
    if new != cur:
        text = translate("Frames", "Collapse") if on else translate("Frames", "Expand")
        _set(document, "collapsed", frozenset(new), text)


def frame_around(canvas: Any, node_ids: list[str], title: str) -> Frame:
    """A frame enclosing the given nodes (or the visible centre when none)."""
    rects = [canvas._views[n].view.sceneBoundingRect() for n in node_ids if n in canvas._views]
    if rects:
        r = rects[0]
        for x in rects[1:]:
            r = r.united(x)
        r = r.adjusted(-30, -30 - TITLE_H, 30, 30)
    else:
        cx, cy = canvas.view_center()
        r = QRectF(cx - 200, cy - 150, 400, 300)
    return Frame(title, COLORS[0], (r.x(), r.y(), r.width(), r.height()))


# -- scene items --------------------------------------------------------------------------
class FrameItem(QGraphicsItem):
    """One frame: drag the title to move, the corner to resize, right-click for a menu."""

    def __init__(self, layer: FrameLayer, index: int, frame: Frame) -> None:
        super().__init__()
        self.layer, self.index, self.frame = layer, index, frame
        self.setZValue(-10)  # below wires and nodes
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton | Qt.MouseButton.RightButton)
        self._drag: tuple[str, QPointF, QRectF] | None = None
        self._rect = QRectF(*frame.rect)
        self.setToolTip(frame.title)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def shape(self) -> Any:
        # Only the title bar and the resize corner take the mouse: a click inside the
        # frame still reaches the canvas (rubber-band selection, panning).
        from PySide6.QtGui import QPainterPath

        p = QPainterPath()
        r = self._rect
        p.addRect(QRectF(r.left(), r.top(), r.width(), TITLE_H))
        p.addRect(QRectF(r.right() - HANDLE, r.bottom() - HANDLE, HANDLE, HANDLE))
        return p

    def paint(self, painter: QPainter, option: Any, widget: QWidget | None = None) -> None:
        c = QColor(self.frame.color)
        r = self._rect
        fill = QColor(c)
        fill.setAlpha(45)
        painter.setPen(QPen(c, 1.5))
        painter.setBrush(QBrush(fill))
        painter.drawRoundedRect(r, 6, 6)
        bar = QColor(c)
        bar.setAlpha(170)
        painter.setBrush(QBrush(bar))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRoundedRect(QRectF(r.left(), r.top(), r.width(), TITLE_H), 6, 6)
        painter.setPen(QColor(235, 238, 242))
        f = QFont()
        f.setPointSizeF(10)
        f.setBold(True)
        painter.setFont(f)
        painter.drawText(
            QRectF(r.left() + 10, r.top(), r.width() - 20, TITLE_H),
            int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
            self.frame.title,
        )
        painter.setPen(QPen(c.lighter(140), 1.5))
        for k in (4, 8):
            painter.drawLine(
                QPointF(r.right() - k, r.bottom() - 2), QPointF(r.right() - 2, r.bottom() - k)
            )

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.RightButton:
            self.layer.menu_for(self.index).popup(event.screenPos())
            event.accept()
            return
        p = event.scenePos()
        r = self._rect
        mode = "resize" if p.x() > r.right() - HANDLE and p.y() > r.bottom() - HANDLE else "move"
        self._drag = (mode, p, QRectF(r))
        event.accept()

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag is None:
            return
        mode, start, r0 = self._drag
        d = event.scenePos() - start
        self.prepareGeometryChange()
        if mode == "move":
            self._rect = r0.translated(d)
        else:
            w = max(120.0, r0.width() + d.x())
            h = max(TITLE_H + 20.0, r0.height() + d.y())
            self._rect = QRectF(r0.x(), r0.y(), w, h)
        self.update()

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag is None:
            return
        self._drag = None
        r = self._rect
        self.layer.commit_rect(self.index, (r.x(), r.y(), r.width(), r.height()))

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        self.layer.rename(self.index)


class FrameLayer:
    """Keeps the canvas's frame items and collapsed nodes equal to the graph's."""

    def __init__(self, canvas: Any) -> None:
        self.canvas = canvas
        self.document = canvas.document
        self.items: list[FrameItem] = []
        self._shown_collapsed: set[str] = set()
        self._unsubscribe = lambda: None
        # Dialogs are hooks, so tests need not click modal boxes.
        self.ask_title: Any = self._ask_title
        self.ask_color: Any = self._ask_color
        self.document.graphReplaced.connect(self._attach)  # after canvas.rebuild (connected first)
        self._attach()

    def _attach(self) -> None:
        self._unsubscribe()
        self._unsubscribe = self.document.graph.subscribe(self._on_event)
        self._shown_collapsed = set()
        self.sync()

    def _on_event(self, event: GraphEvent) -> None:
        if isinstance(event, GraphChanged) and event.field in ("frames", "collapsed"):
            self.sync()
        elif (
            isinstance(event, (NodeAdded, Renamed)) and event.node in self.document.graph.collapsed
        ):
            self._shown_collapsed.discard(event.node)  # NodeGraphQt redrew it full size
            self.sync()

    def sync(self) -> None:
        scene = self.canvas.viewer.scene()
        for it in self.items:
            try:
                if it.scene() is scene:
                    scene.removeItem(it)
            except RuntimeError:  # already deleted with the scene's items
                pass
        self.items = [FrameItem(self, i, f) for i, f in enumerate(self.document.graph.frames)]
        for it in self.items:
            scene.addItem(it)
        want = set(self.document.graph.collapsed) & set(self.canvas._views)
        for nid in want ^ self._shown_collapsed:
            collapse_view(self.canvas, nid, nid in want)
        self._shown_collapsed = want

    # gestures → commands
    def commit_rect(self, index: int, rect: tuple[float, float, float, float]) -> None:
        update_frame(self.document, index, translate("Frames", "Move frame"), rect=rect)
        self.sync()

    def rename(self, index: int) -> None:
        title = self.ask_title(self.document.graph.frames[index].title)
        if title is not None:
            update_frame(self.document, index, translate("Frames", "Rename frame"), title=title)

    def recolor(self, index: int) -> None:
        color = self.ask_color(self.document.graph.frames[index].color)
        if color is not None:
            update_frame(self.document, index, translate("Frames", "Recolour frame"), color=color)

    def menu_for(self, index: int) -> QMenu:
        m = QMenu(self.canvas)
        m.addAction(translate("Frames", "Rename Frame…"), lambda: self.rename(index))
        m.addAction(translate("Frames", "Colour…"), lambda: self.recolor(index))
        m.addSeparator()
        m.addAction(translate("Frames", "Delete Frame"), lambda: remove_frame(self.document, index))
        return m

    def add_around_selection(self) -> int:
        ids = self.canvas.selected_ids()
        return add_frame(
            self.document, frame_around(self.canvas, ids, translate("Frames", "Group"))
        )

    def toggle_collapse_selection(self) -> None:
        ids = [i for i in self.canvas.selected_ids() if i in self.document.graph.nodes]
        if ids:
            on = not all(i in self.document.graph.collapsed for i in ids)
            set_collapsed(self.document, ids, on)

    def _ask_title(self, current: str) -> str | None:
        text, ok = QInputDialog.getText(
            self.canvas, translate("Frames", "Rename frame"), translate("Frames", "Title:"),
            text=current,
        )  # fmt: skip
        return text if ok else None

    def _ask_color(self, current: str) -> str | None:
        c = QColorDialog.getColor(QColor(current), self.canvas, translate("Frames", "Frame colour"))
        return c.name() if c.isValid() else None


def collapse_view(canvas: Any, nid: str, on: bool) -> None:
    """Show a node as its title bar only (ports stacked at its edges), or in full."""
    vn = canvas._views.get(nid)
    if vn is None:
        return
    from designer.canvas import adapter

    adapter.set_collapsed(vn.view, on, COLLAPSED_H)
    canvas._place_tag(nid)


__all__ = [
    "FrameItem",
    "FrameLayer",
    "add_frame",
    "collapse_view",
    "frame_around",
    "remove_frame",
    "set_collapsed",
    "update_frame",
]
