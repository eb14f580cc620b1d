"""NodeGraphQt, adapted: every use of its private API is in this module.

NodeGraphQt is a view library we drive from our own model (the engine's Graph), which its
public API does not foresee: we set the viewer's visible scene rectangle, link port models
without its single-input rule, override its gesture hooks (``_on_connection_changed``…) so
they ask the document, and read the live wire's drag state. Each such reach is a small named
function or an override here, so a NodeGraphQt upgrade is checked in one file.
"""

from __future__ import annotations

from typing import Any

from NodeGraphQt import BaseNode, NodeGraph
from NodeGraphQt.qgraphics.node_abstract import AbstractNodeItem
from NodeGraphQt.qgraphics.pipe import PipeItem
from NodeGraphQt.qgraphics.port import PortItem
from NodeGraphQt.widgets.viewer import NodeViewer
from PySide6.QtCore import QMimeData, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem

from designer import style
from designer.canvas.nodes import NODE_MIME


# -- the viewer's visible rectangle -------------------------------------------------------
def scene_range(viewer: NodeViewer) -> QRectF:
    """The scene rectangle the viewer shows (NodeGraphQt keeps it, not Qt's scroll bars)."""
    return QRectF(viewer._scene_range)


def set_scene_range(viewer: NodeViewer, rect: QRectF) -> None:
    """Show ``rect`` of the scene (pan/zoom without NodeGraphQt's animated steps)."""
    viewer._scene_range = QRectF(rect)
    viewer._update_scene()


def combined_rect(viewer: NodeViewer, items: list[Any]) -> QRectF:
    """The bounding rectangle of node items, as NodeGraphQt computes it for "fit"."""
    return viewer._combined_rect(items)


# -- node and port models -------------------------------------------------------------------
def set_title(vn: BaseNode, name: str) -> None:
    """The title shown on a node, without NodeGraphQt's rename signal (our graph names it)."""
    vn.model.name = name
    vn.NODE_NAME = name
    vn.view.name = name


def move_view(vn: BaseNode, pos: list[float]) -> None:
    """Place a node's item where the graph says, without a "moved" gesture."""
    vn.model.pos = pos
    if vn.view.xy_pos != pos:
        vn.view.xy_pos = pos


def link_models(out: Any, inp: Any) -> None:
    """Record a wire in both ports' models; NodeGraphQt would drop an existing wire on a
    single input, but our graph decides what is connected."""
    out.model.connected_ports[inp.node().id].append(inp.name())
    inp.model.connected_ports[out.node().id].append(out.name())


def unlink_model(port: Any) -> None:
    """Forget every wire in a port's model (before re-linking from the graph)."""
    port.model.connected_ports.clear()


def draw_wire(out: Any, inp: Any) -> None:
    """Draw the wire item between two ports (the models are linked by :func:`link_models`)."""
    out.view.connect_to(inp.view)


def set_collapsed(view: Any, on: bool, height: float) -> None:
    """Show a node item as its title bar only (ports stacked at its edges), or in full."""
    for items in (view._input_items, view._output_items):
        for text in items.values():
            text.setVisible(not on)
    if on:
        view.prepareGeometryChange()
        view._height = height
        for ports, x in ((view._input_items, 0.0), (view._output_items, view._width)):
            for port in ports:
                br = port.boundingRect()
                port.setPos(x - br.width() / 2, height / 2 - br.height() / 2)
    else:
        view.draw_node()
    view.update()
    for ports in (view._input_items, view._output_items):
        for port in ports:
            port.redraw_connected_pipes()


# -- scene items ---------------------------------------------------------------------------
class Tag(QGraphicsItem):
    """A small rounded label: the node's shape line, or a wire's shape."""

    def __init__(self, parent: QGraphicsItem | None = None, size: float = 7.5) -> None:
        super().__init__(parent)
        self._text = ""
        self._color = style.qcolor(style.OK_TEXT)
        self._bg = QColor(20, 22, 26, 200)
        self._font = QFont()
        self._font.setPointSizeF(size)
        self._rect = QRectF()
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(5)

    def set(self, text: str, color: tuple[int, int, int]) -> bool:
        qc = style.qcolor(color)
        if text == self._text and qc == self._color:
            return False
        self.prepareGeometryChange()
        self._text, self._color = text, qc
        from PySide6.QtGui import QFontMetricsF

        fm = QFontMetricsF(self._font)
        lines = text.split("\n") if text else []
        w = max((fm.horizontalAdvance(x) for x in lines), default=0.0) + 8 if text else 0.0
        self._rect = QRectF(0, 0, w, fm.height() * len(lines) + 2 if text else 0.0)
        self.setVisible(bool(text))
        self.update()
        return True

    def text(self) -> str:
        return self._text

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: Any, widget: Any = None) -> None:
        if not self._text:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._bg)
        painter.drawRoundedRect(self._rect, 3, 3)
        painter.setFont(self._font)
        painter.setPen(QPen(self._color))
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self._text)


class ShapePipe(PipeItem):
    """A wire that carries a label with the shape flowing through it."""

    def __init__(self) -> None:
        super().__init__()
        self.tag = Tag(self, size=7.0)

    def draw_path(self, start_port: Any, end_port: Any = None, cursor_pos: Any = None) -> None:
        super().draw_path(start_port, end_port, cursor_pos)
        if end_port is not None and cursor_pos is None and self.isVisible():
            self._route_back(start_port, end_port)
        self.place_tag()

    def _route_back(self, start_port: Any, end_port: Any) -> None:
        """A wire into a node left of and below its source (the data chain's end into the
        model's Input, a wrapped chain's next band) runs under the source's caption in a
        channel between the rows, instead of curling across both nodes (#16 item 17)."""
        out, inp = (
            (start_port, end_port) if start_port.port_type == "out" else (end_port, start_port)
        )

        def centre(port: Any) -> QPointF:
            r = port.boundingRect()
            p = port.scenePos()
            return QPointF(p.x() + r.width() / 2, p.y() + r.height() / 2)

        po, pi = centre(out), centre(inp)
        src = out.node.sceneBoundingRect()
        dst = inp.node.sceneBoundingRect()
        caption = 30.0  # the shape/params line drawn under a node
        if pi.x() >= po.x() - 40 or dst.top() < src.bottom() + caption + 10:
            return  # forwards, or not below: the usual curve reads fine
        # the channel right under the source's caption: for the next row it is the gap
        # between the rows; for a far one (a loss's targets) it turns down between columns
        yc = src.bottom() + caption + min(22.0, (dst.top() - src.bottom() - caption) / 2)
        path = QPainterPath(po)
        path.cubicTo(QPointF(po.x() + 50, po.y()), QPointF(po.x() + 50, yc), QPointF(po.x(), yc))
        path.lineTo(QPointF(pi.x(), yc))
        path.cubicTo(QPointF(pi.x() - 50, yc), QPointF(pi.x() - 50, pi.y()), pi)
        self.setPath(path if start_port is out else path.toReversed())
        self._draw_direction_pointer()

    def place_tag(self) -> None:
        path = self.path()
        if path.isEmpty():
            return
        pt = path.pointAtPercent(0.5)
        r = self.tag.boundingRect()
        self.tag.setPos(pt.x() - r.width() / 2, pt.y() - r.height() - 2)


class CanvasViewer(NodeViewer):
    """NodeGraphQt's viewer with labelled wires, our context menu and our drops."""

    context_requested = Signal(object, object)  # (engine node id | None, QPoint global)
    wire_context_requested = Signal(object, object)  # (PipeItem, QPoint global)
    # a new wire from a port released over empty space: (view node id, port name,
    # from an output?, scene QPointF) — the canvas offers the node search there (item 18)
    port_dropped = Signal(str, str, bool, object)

    def apply_live_connection(self, event: Any) -> None:
        start = self._start_port
        fresh = self._LIVE_PIPE.isVisible() and start is not None and not self._detached_port
        on_port = fresh and any(
            isinstance(i, PortItem) for i in self.scene().items(event.scenePos())
        )
        super().apply_live_connection(event)
        if fresh and not on_port:
            self.port_dropped.emit(
                start.node.id, start.name, start.port_type == "out", event.scenePos()
            )

    def _on_port_or_node(self, pos: QPointF) -> bool:
        """Whether a scene point is on a node or a port itself (not merely near one)."""
        return any(
            isinstance(i, (PortItem, AbstractNodeItem))
            for i in self.scene().items(pos)
            if i is not self._LIVE_PIPE
        )

    def _on_canvas(self, pos: QPointF) -> bool:
        """Whether a scene point is empty canvas or a wire's body: nothing there takes a
        press but wires and their parts (labels and other decorations take no button)."""
        no_button = Qt.MouseButton.NoButton
        return all(
            isinstance(i.topLevelItem(), PipeItem) or i.acceptedMouseButtons() == no_button
            for i in self.scene().items(pos)
        )

    def mousePressEvent(self, event: Any) -> None:
        """A left press on empty canvas or on a wire's body starts a rubber band.

        NodeGraphQt declines the band when any item lies within 20 px (a wire nearby), and
        picks a wire up from anywhere within 5 px of it, so a selection started beside a
        wire detached it. A wire is picked up only from its port: a deliberate gesture.
        """
        super().mousePressEvent(event)
        band = self._rubber_band
        plain = not (self.ALT_state or self.SHIFT_state or self.CTRL_state)
        if (
            self.LMB_state
            and plain
            and not band.isActive
            and not self._LIVE_PIPE.isVisible()
            and self._on_canvas(self.mapToScene(event.position().toPoint()))
        ):
            self._prev_selection_nodes, self._prev_selection_pipes = [], []
            band.setGeometry(QRect(self._previous_pos, QSize()).normalized())
            band.isActive = True

    def sceneMousePressEvent(self, event: Any) -> None:
        """Presses that are not on a port or node never start a wire (see mousePressEvent)."""
        if self._LIVE_PIPE.isVisible() or self.ALT_state or self._on_port_or_node(event.scenePos()):
            super().sceneMousePressEvent(event)

    def establish_connection(self, start_port: Any, end_port: Any) -> None:
        pipe = ShapePipe()
        self.scene().addItem(pipe)
        pipe.set_connections(start_port, end_port)
        pipe.draw_path(pipe.input_port, pipe.output_port)
        if start_port.node.selected or end_port.node.selected:
            pipe.highlight()
        if not start_port.node.visible or not end_port.node.visible:
            pipe.hide()

    def contextMenuEvent(self, event: Any) -> None:
        self.RMB_state = False
        pos = self.mapToScene(event.position().toPoint())
        node_item = None
        for item in self.scene().items(pos):
            if isinstance(item, ShapePipe):
                self.wire_context_requested.emit(item, event.globalPos())
                return
            while item is not None and not isinstance(item, AbstractNodeItem):
                item = item.parentItem()
            if item is not None:
                node_item = item
                break
        self.context_requested.emit(node_item.id if node_item else None, event.globalPos())

    def dragEnterEvent(self, event: Any) -> None:
        if event.mimeData().hasFormat(NODE_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: Any) -> None:
        if event.mimeData().hasFormat(NODE_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)


class ViewGraph(NodeGraph):
    """NodeGraph whose gesture handlers ask the document instead of editing its own model."""

    def __init__(self, canvas: Any) -> None:
        self._canvas = canvas
        viewer = CanvasViewer()
        super().__init__(viewer=viewer)
        self.set_acyclic(False)  # the engine refuses cycles, with a reason
        self.set_pipe_collision(False)

    def _on_connection_changed(self, disconnected: list[Any], connected: list[Any]) -> None:
        self._canvas._user_rewired(disconnected, connected)

    def _on_connection_sliced(self, ports: list[Any]) -> None:
        self._canvas._user_rewired(ports, [])

    def _on_nodes_moved(self, node_data: dict[Any, Any]) -> None:
        self._canvas._user_moved([v.id for v in node_data])

    def _on_search_triggered(self, node_type: str, pos: Any) -> None:
        self._canvas.add_node_at(node_type.rsplit(".", 1)[-1], (pos[0], pos[1]))

    def _on_node_name_changed(self, node_id: str, name: str) -> None:
        self._canvas._user_renamed(node_id, name)

    def _on_insert_node(self, pipe: Any, node_id: str, prev_node_pos: Any) -> None:
        return

    def _on_node_data_dropped(self, mimedata: QMimeData, pos: Any) -> None:
        if mimedata.hasFormat(NODE_MIME):
            type_name = bytes(mimedata.data(NODE_MIME).data()).decode()
            self._canvas.add_node_at(type_name, (pos.x(), pos.y()))
            return
        self.data_dropped.emit(mimedata, pos)


__all__ = [
    "CanvasViewer",
    "ShapePipe",
    "Tag",
    "ViewGraph",
    "combined_rect",
    "draw_wire",
    "link_models",
    "move_view",
    "scene_range",
    "set_collapsed",
    "set_scene_range",
    "set_title",
    "unlink_model",
]
