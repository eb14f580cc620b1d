"""The minimap: the whole canvas in a corner of the view; click or drag it to go there.

It covers as little as it can: its size is a share of the view (at most ``SIZE``), it
sits in the corner where it hides the fewest nodes (bottom-right when that hides none),
and it is not shown in a view too small to spare a corner (View ▸ Minimap turns it off).

It is cheap by construction: the node rectangles are gathered again only after the scene
changed (coalesced by a short timer, never per paint), and the frame of the visible
region is repainted only when that region really moved (checked on the view's paints,
one rectangle compared).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, QPointF, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from designer import style
from designer.i18n import translate

SIZE = (220, 150)  # the largest it gets
SHARE = (0.2, 0.22)  # of the view's width and height
MIN_SIZE = (90, 60)  # smaller than this it says nothing: hidden
MARGIN = 10
SETTING = "canvas/minimap"


class Minimap(QWidget):
    """An overlay on ``canvas.viewer``'s bottom-right corner."""

    def __init__(self, canvas: Any) -> None:
        super().__init__(canvas.viewer)
        self.canvas = canvas
        self.setObjectName("minimap")
        self.setFixedSize(*SIZE)
        self.wanted = True  # View ▸ Minimap; a view too small hides it anyway
        self._dragging = False
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(translate("Minimap", "Minimap: click or drag to move the view"))
        self.rects: list[tuple[QRectF, QColor]] = []
        self.frames: list[tuple[QRectF, QColor]] = []
        self.world = QRectF(0, 0, 1, 1)
        self.visible_rect = QRectF()
        self.rebuilds = 0  # how often the node rectangles were gathered (tests: coalescing)
        self._timer = QTimer(self, singleShot=True, interval=120)
        self._timer.timeout.connect(self.rebuild)
        canvas.viewer.scene().changed.connect(self._scene_changed)
        canvas.viewer.installEventFilter(self)
        canvas.viewer.viewport().installEventFilter(self)
        self._place()
        self.rebuild()

    # -- following the canvas -------------------------------------------------------------
    def _scene_changed(self, *_: Any) -> None:
        if self.isVisible() and not self._timer.isActive():
            self._timer.start()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        t = event.type()
        if obj is self.canvas.viewer and t == QEvent.Type.Resize:
            self._place()
        elif t == QEvent.Type.Paint and self.isVisible():
            vis = self._visible()
            if vis != self.visible_rect:
                self.visible_rect = vis
                if not self._dragging:  # never jump away from under the mouse
                    self._place()
                self.update()
        return False

    def _place(self) -> None:
        """Size it to the view and put it in the corner hiding the fewest nodes."""
        v = self.canvas.viewer
        w = min(SIZE[0], int(v.width() * SHARE[0]))
        h = min(SIZE[1], int(v.height() * SHARE[1]))
        fits = w >= MIN_SIZE[0] and h >= MIN_SIZE[1]
        if self.size().width() != w or self.size().height() != h:
            self.setFixedSize(max(w, 1), max(h, 1))
        right, bottom = v.width() - w - MARGIN, v.height() - h - MARGIN
        corners = [(right, bottom), (right, MARGIN), (MARGIN, bottom), (MARGIN, MARGIN)]
        nodes = [r for r, _ in self.rects]
        view = [v.mapFromScene(r).boundingRect() for r in nodes]

        def hidden(corner: tuple[int, int]) -> int:
            box = QRect(corner[0] - MARGIN, corner[1] - MARGIN, w + 2 * MARGIN, h + 2 * MARGIN)
            return sum(1 for r in view if box.intersects(r))

        self.move(*min(corners, key=hidden))  # ties keep the earlier corner
        want = self.wanted and fits
        if self.isVisibleTo(v) != want:
            self.setVisible(want)
        self.raise_()

    def _visible(self) -> QRectF:
        v = self.canvas.viewer
        return v.mapToScene(v.viewport().rect()).boundingRect()

    def rebuild(self) -> None:
        """Gather the node and frame rectangles (after scene changes, coalesced)."""
        self.rebuilds += 1
        rects = []
        for nid, vn in self.canvas._views.items():
            node = self.canvas.document.graph.nodes.get(nid)
            if node is None:
                continue
            rgb = style.category_color(node.spec.category)
            rects.append((vn.view.sceneBoundingRect(), QColor(*rgb[:3]).lighter(130)))
        self.rects = rects
        self.frames = [
            (QRectF(*f.rect), QColor(f.color)) for f in self.canvas.document.graph.frames
        ]
        self.visible_rect = self._visible()
        self._place()
        self.update()

    def _world(self) -> QRectF:
        r = QRectF()
        for rect, _ in [*self.rects, *self.frames]:
            r = rect if r.isNull() else r.united(rect)
        r = r.adjusted(-80, -80, 80, 80)
        # the visible region is always inside the map, so its frame can be grabbed
        return r.united(self.visible_rect) if not r.isNull() else QRectF(self.visible_rect)

    def _scale(self) -> tuple[float, float, float]:
        w = self.world
        mw, mh = self.width(), self.height()
        s = min((mw - 8) / max(w.width(), 1), (mh - 8) / max(w.height(), 1))
        ox = (mw - w.width() * s) / 2 - w.left() * s
        oy = (mh - w.height() * s) / 2 - w.top() * s
        return s, ox, oy

    def to_map(self, r: QRectF) -> QRectF:
        s, ox, oy = self._scale()
        return QRectF(r.left() * s + ox, r.top() * s + oy, r.width() * s, r.height() * s)

    def to_scene(self, p: QPointF) -> QPointF:
        s, ox, oy = self._scale()
        return QPointF((p.x() - ox) / s, (p.y() - oy) / s)

    # -- drawing ------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        self.world = self._world()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(QColor(90, 96, 106), 1))
        p.setBrush(QColor(18, 20, 24, 215))
        p.drawRoundedRect(QRectF(0.5, 0.5, self.width() - 1, self.height() - 1), 5, 5)
        for rect, c in self.frames:
            fill = QColor(c)
            fill.setAlpha(110)
            p.setPen(QPen(c.lighter(150), 1))
            p.setBrush(fill)
            p.drawRect(self.to_map(rect))
        p.setPen(Qt.PenStyle.NoPen)
        for rect, c in self.rects:
            m = self.to_map(rect)
            p.setBrush(c)
            p.drawRect(QRectF(m.x(), m.y(), max(m.width(), 2), max(m.height(), 2)))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(QColor(235, 238, 242, 220), 1.2))
        p.drawRect(
            self.to_map(self.visible_rect).intersected(
                QRectF(1, 1, self.width() - 2, self.height() - 2)
            )
        )
        p.end()

    # -- navigating ---------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._dragging = True
        self.center_on(self.to_scene(event.position()))
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._dragging = False
        self._place()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.center_on(self.to_scene(event.position()))
        event.accept()

    def center_on(self, point: QPointF) -> None:
        """Move the main view so ``point`` (scene coordinates) is at its centre."""
        v = self.canvas.viewer
        from designer.canvas import adapter

        r = adapter.scene_range(v)
        r.moveCenter(point)
        adapter.set_scene_range(v, r)
        self.visible_rect = self._visible()
        self.update()


def install(window: Any) -> Minimap:
    """The minimap on ``window.canvas`` and its View ▸ Minimap toggle (kept in QSettings)."""
    from PySide6.QtGui import QAction

    from designer.files import settings
    from designer.i18n import translate

    mm = Minimap(window.canvas)
    on = str(settings().value(SETTING, "true")).lower() != "false"
    mm.wanted = on
    mm.setVisible(on)
    mm._place()
    a = QAction(translate("MainWindow", "&Minimap"), window)
    a.setObjectName("action_minimap")
    a.setCheckable(True)
    a.setChecked(on)

    def toggled(checked: bool) -> None:
        mm.wanted = checked
        mm.setVisible(checked)
        if checked:
            mm.rebuild()
        s = settings()
        s.setValue(SETTING, "true" if checked else "false")
        s.sync()

    a.toggled.connect(toggled)
    window.actions_by_name["minimap"] = a
    window.addAction(a)
    window.view_menu.insertAction(window.view_menu.actions()[0], a)
    window.minimap = mm
    return mm


__all__ = ["Minimap", "install"]
