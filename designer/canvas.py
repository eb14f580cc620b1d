"""The node canvas: a NodeGraphQt view of the document's ``engine.Graph``.

Node classes are generated from the catalog (:func:`node_class_for`), one per NodeSpec;
none is written by hand. NodeGraphQt is used as a view only: the user's gestures
(connect, move, drop, rename, delete) are routed to :class:`~designer.document.Document`,
which validates them with the engine and applies them through Graph methods; the canvas
then follows the Graph's events. NodeGraphQt's own undo stack is never used.

Each node shows its output shape and parameter count under its title, each wire is
labelled with the shape it carries, and nodes with problems get a red (or amber) frame
and their messages as a tooltip.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from NodeGraphQt import BaseNode, NodeGraph
from NodeGraphQt.qgraphics.node_abstract import AbstractNodeItem
from NodeGraphQt.qgraphics.pipe import PipeItem
from NodeGraphQt.qgraphics.port import PortItem
from NodeGraphQt.widgets.viewer import NodeViewer
from PySide6.QtCore import (
    QEvent,
    QMimeData,
    QModelIndex,
    QPoint,
    QPointF,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGraphicsItem,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from designer import i18n, style
from designer.document import Document
from designer.i18n import fmt, translate
from engine import catalog
from engine.catalog.base import NodeSpec
from engine.check import Report
from engine.fixes import Fix
from engine.graph import (
    BlockChanged,
    Edge,
    EdgeAdded,
    EdgeRemoved,
    GraphError,
    GraphEvent,
    Moved,
    NodeAdded,
    NodeRemoved,
    Renamed,
    TrainingChanged,
)
from engine.ops import AddNode, Batch

NODE_MIME = "application/x-torchwire-node"
FRAGMENT_MIME = "application/x-torchwire-fragment"
IDENT_PREFIX = "torchwire"
MIN_READABLE_SCALE = 0.7
# what ends "fit on open": the user zooming, panning or clicking in the canvas
_USER_VIEW_EVENTS = (
    QEvent.Type.Wheel,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.KeyPress,
)


# -- node classes generated from the catalog ---------------------------------------------
class CatalogNode(BaseNode):
    """Base of every generated node class; ``SPEC_TYPE`` names its catalog declaration."""

    __identifier__ = IDENT_PREFIX
    NODE_NAME = "node"
    SPEC_TYPE = ""
    SPEC: NodeSpec | None = None  # set for block types (designer.blocks_ui), not in the catalog

    def __init__(self) -> None:
        super().__init__()
        spec = type(self).SPEC or catalog.get(self.SPEC_TYPE)
        self.spec: NodeSpec = spec
        for p in spec.inputs:
            self.add_input(
                p.name,
                multi_input=p.multi,
                display_name=True,
                color=style.PORT_COLORS.get(p.kind, style.PORT_COLORS["any"]),
            )
        for p in spec.outputs:
            self.add_output(
                p.name,
                multi_output=True,
                display_name=True,
                color=style.PORT_COLORS.get(p.kind, style.PORT_COLORS["any"]),
            )
        self.set_color(*style.category_color(spec.category))


# Frozen nodes (transfer learning): a blue-grey body and a snowflake before the name.
FROZEN_COLOR = (72, 92, 112)
FROZEN_MARK = "❄ "


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "other"


_CLASSES: dict[str, type[CatalogNode]] = {}


def node_class_for(spec: NodeSpec) -> type[CatalogNode]:
    """The NodeGraphQt class for a catalog type (made once, cached)."""
    cls = _CLASSES.get(spec.type)
    if cls is None:
        cls = type(
            spec.type,
            (CatalogNode,),
            {
                "__identifier__": f"{IDENT_PREFIX}.{_slug(spec.category)}",
                "NODE_NAME": spec.type,
                "SPEC_TYPE": spec.type,
                "__doc__": spec.doc,
            },
        )
        _CLASSES[spec.type] = cls
    return cls


def view_type_of(type_name: str) -> str:
    """NodeGraphQt's type key for a catalog type."""
    return node_class_for(catalog.get(type_name)).type_


# -- scene items ---------------------------------------------------------------------------
class _Tag(QGraphicsItem):
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
        self.tag = _Tag(self, size=7.0)

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
        pos = self.mapToScene(event.pos())
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


class _ViewGraph(NodeGraph):
    """NodeGraph whose gesture handlers ask the document instead of editing its own model."""

    def __init__(self, canvas: Canvas) -> None:
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


# -- the canvas --------------------------------------------------------------------------
class Canvas(QWidget):
    """The canvas widget. Follows ``document.graph``; edits go through the document."""

    selectionChanged = Signal(list)  # engine node ids
    nodeActivated = Signal(str)  # double-clicked node id
    refused = Signal(str)  # an edit refused, with the engine's reason

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.ng = _ViewGraph(self)
        for spec in catalog.all_specs():
            self.ng.register_node(node_class_for(spec))
        self.ng.set_background_color(*style.BACKGROUND)
        self.ng.set_grid_color(*style.GRID)
        self.viewer: CanvasViewer = self.ng.viewer()  # type: ignore[assignment]
        self.viewer.setObjectName("canvas_viewer")
        self.viewer.setAcceptDrops(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.viewer)
        self._views: dict[str, BaseNode] = {}  # engine id -> view node
        self._ids: dict[str, str] = {}  # view id -> engine id
        self._tags: dict[str, _Tag] = {}
        self._marks: dict[str, str] = {}  # engine id -> last mark ("", "error", "warning")
        self._node_keys: dict[str, Any] = {}  # engine id -> what its labels were drawn from
        self._pipe_cache: dict[Edge, ShapePipe] | None = None
        self._unsubscribe = lambda: None
        self._syncing = False
        self.search = NodeSearchPopup(self)
        self.search.chosen.connect(self._search_chosen)
        self._search_pos: tuple[float, float] | None = None
        self._search_prev: list[str] = []
        self.ng.node_selection_changed.connect(lambda *_: self._emit_selection())
        self.ng.node_selected.connect(lambda *_: self._emit_selection())
        self.ng.node_double_clicked.connect(self._on_double_clicked)
        self.viewer.viewport().installEventFilter(self)
        self.viewer.context_requested.connect(self._context_menu)
        self.viewer.wire_context_requested.connect(self._wire_menu)
        self.viewer.port_dropped.connect(self._port_dropped)
        self._search_from: tuple[str, str, bool] | None = None
        self._search_edge: Edge | None = None
        document.graphReplaced.connect(self.rebuild)
        document.reportReady.connect(self.apply_report)
        self._selection_timer = QTimer(self, singleShot=True, interval=0)
        self._selection_timer.timeout.connect(self._emit_selection_now)
        self.rebuild()

    def set_document(self, document: Document) -> None:
        """Show another document (a block's inside, designer.blocks_ui, and back)."""
        if document is self.document:
            return
        self.document.graphReplaced.disconnect(self.rebuild)
        self.document.reportReady.disconnect(self.apply_report)
        self.document = document
        document.graphReplaced.connect(self.rebuild)
        document.reportReady.connect(self.apply_report)
        self.rebuild()

    # -- building from the graph ----------------------------------------------------------
    def rebuild(self) -> None:
        """Recreate every item from the current graph (new/open/recover)."""
        self._unsubscribe()
        self._syncing = True
        try:
            self.ng.clear_session()
            self.ng.clear_undo_stack()
            self._views.clear()
            self._ids.clear()
            self._tags.clear()
            self._marks.clear()
            self._node_keys.clear()
            self._pipe_cache = None
            g = self.document.graph
            for nid in list(g.nodes):
                self._create_view(nid)
            for e in g.edges:
                self._connect_view(e)
        finally:
            self._syncing = False
        self._unsubscribe = g.subscribe(self._on_graph_event)
        if self.document.report is not None:
            self.apply_report(self.document.report)
        # Fit once the window is shown and its docks are laid out: until the user touches
        # the view, every resize of the visible canvas fits again (#16 item 4).
        self._fit_pending = True
        QTimer.singleShot(0, self._fit_if_pending)

    def _fit_if_pending(self) -> None:
        if getattr(self, "_fit_pending", False):
            self.fit(readable=True)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if getattr(self, "_fit_pending", False):
            QTimer.singleShot(0, self._fit_if_pending)

    def eventFilter(self, obj: Any, event: QEvent) -> bool:
        if event.type() in _USER_VIEW_EVENTS:
            self._fit_pending = False  # the user moved the view: theirs from now on
        return super().eventFilter(obj, event)

    def _create_view(self, nid: str) -> None:
        node = self.document.graph.nodes[nid]
        if node.block_spec is not None:  # a block instance: its type lives in the graph
            from designer.blocks_ui import block_view_type

            vtype = block_view_type(self.ng, node.block_spec)
        else:
            vtype = view_type_of(node.type)
        vn = self.ng.create_node(
            vtype, name=node.name, selected=False, pos=node.pos, push_undo=False
        )
        self._views[nid] = vn
        self._ids[vn.id] = nid
        self._show_training(nid)
        tag = _Tag(vn.view)
        self._tags[nid] = tag
        self._place_tag(nid)
        vn.view.setToolTip(self._tooltip(nid, []))

    def _show_training(self, nid: str) -> None:
        """A frozen node: blue-grey, its title marked ❄ (``FROZEN_MARK``); others as made."""
        vn, node = self._views.get(nid), self.document.graph.nodes.get(nid)
        if vn is None or node is None:
            return
        self._set_title(vn, FROZEN_MARK + node.name if node.frozen else node.name)
        vn.set_color(*(FROZEN_COLOR if node.frozen else style.category_color(node.spec.category)))

    def _set_title(self, vn: BaseNode, name: str) -> None:
        vn.model.name = name
        vn.NODE_NAME = name
        vn.view.name = name

    def _place_tag(self, nid: str) -> None:
        vn = self._views.get(nid)
        tag = self._tags.get(nid)
        if vn is None or tag is None:
            return
        tag.setPos(0, vn.view.height + 3)

    def _port(self, nid: str, name: str, output: bool) -> Any:
        vn = self._views[nid]
        return (vn.outputs() if output else vn.inputs())[name]

    def _connect_view(self, e: Edge) -> None:
        if e.src not in self._views or e.dst not in self._views:
            return
        out = self._port(e.src, e.src_port, True)
        inp = self._port(e.dst, e.dst_port, False)
        if inp in out.connected_ports():
            return
        # NodeGraphQt would drop an existing wire on a single input; our graph decides.
        out.model.connected_ports[inp.node().id].append(inp.name())
        inp.model.connected_ports[out.node().id].append(out.name())
        out.view.connect_to(inp.view)

    def _disconnect_view(self, e: Edge) -> None:
        if e.src not in self._views or e.dst not in self._views:
            return
        out = self._port(e.src, e.src_port, True)
        inp = self._port(e.dst, e.dst_port, False)
        if inp in out.connected_ports():
            out.disconnect_from(inp, push_undo=False, emit_signal=False)

    def _on_graph_event(self, event: GraphEvent) -> None:
        g = self.document.graph
        if isinstance(event, (EdgeAdded, EdgeRemoved, NodeRemoved)):
            self._pipe_cache = None
        self._syncing = True
        try:
            if isinstance(event, NodeAdded):
                self._create_view(event.node)
            elif isinstance(event, NodeRemoved):
                nid = event.node
                vn = self._views.pop(nid, None)
                self._tags.pop(nid, None)
                self._marks.pop(nid, None)
                self._node_keys.pop(nid, None)
                if vn is not None:
                    self._ids.pop(vn.id, None)
                    self.ng.remove_node(vn, push_undo=False)
                self._selection_timer.start()
            elif isinstance(event, EdgeAdded):
                self._connect_view(event.edge)
            elif isinstance(event, EdgeRemoved):
                self._disconnect_view(event.edge)
            elif isinstance(event, Moved):
                nid = event.node
                vn = self._views.get(nid)
                if vn is not None:
                    pos = list(g.nodes[nid].pos)
                    vn.model.pos = pos
                    if vn.view.xy_pos != pos:
                        vn.view.xy_pos = pos
            elif isinstance(event, (Renamed, TrainingChanged)):
                nid = event.node
                if nid in self._views:
                    self._show_training(nid)
                    self._place_tag(nid)
            elif isinstance(event, BlockChanged):
                from designer.blocks_ui import refresh_instances

                refresh_instances(self, event.block)
        finally:
            self._syncing = False

    def resync_edges(self) -> None:
        """Make the wires equal the graph's edges (after a refused or partial gesture)."""
        self._pipe_cache = None
        want = set(self.document.graph.edges)
        have: set[Edge] = set()
        for pipe in list(self.viewer.all_pipes()):
            e = self.edge_of_pipe(pipe)
            if e is None or e not in want or e in have:
                pipe.delete()
                if e is not None and e in want:
                    continue
            else:
                have.add(e)
        for vn in self._views.values():
            for p in [*vn.input_ports(), *vn.output_ports()]:
                p.model.connected_ports.clear()
        for e in self.document.graph.edges:
            out = self._port(e.src, e.src_port, True)
            inp = self._port(e.dst, e.dst_port, False)
            out.model.connected_ports[inp.node().id].append(inp.name())
            inp.model.connected_ports[out.node().id].append(out.name())
            if e not in have:
                out.view.connect_to(inp.view)
        if self.document.report is not None:
            self._label_wires(self.document.report)

    def edge_of_pipe(self, pipe: Any) -> Edge | None:
        a, b = pipe.output_port, pipe.input_port
        if a is None or b is None:
            return None
        src, dst = self._ids.get(a.node.id), self._ids.get(b.node.id)
        if src is None or dst is None:
            return None
        return Edge(src, a.name, dst, b.name)

    # -- user gestures --------------------------------------------------------------------
    def _ends(self, p1: PortItem, p2: PortItem) -> tuple[str, str, str, str] | None:
        if p1.port_type == p2.port_type:
            return None
        out, inp = (p1, p2) if p1.port_type == "out" else (p2, p1)
        src, dst = self._ids.get(out.node.id), self._ids.get(inp.node.id)
        if src is None or dst is None:
            return None
        return src, out.name, dst, inp.name

    def _user_rewired(self, disconnected: list[Any], connected: list[Any]) -> None:
        """A wire drawn, dragged off, or moved to another port: all of it, or none of it."""
        doc = self.document
        drop = [Edge(*ends) for p1, p2 in disconnected if (ends := self._ends(p1, p2))]
        make = [Edge(*ends) for p1, p2 in connected if (ends := self._ends(p1, p2))]
        for e in make:
            problem = doc.connection_problem(e, drop) if e not in drop else None
            if problem is not None:
                self._refuse(problem)  # a refused re-plug keeps the old wire
                self.resync_edges()
                return
        try:
            doc.undo_stack.beginMacro("Rewire" if make and drop else "Connect")
            if drop:
                doc.disconnect(drop)
            for e in make:
                try:
                    doc.connect(e.src, e.src_port, e.dst, e.dst_port)
                except GraphError as err:
                    self._refuse(str(err))
        finally:
            doc.undo_stack.endMacro()
        self.resync_edges()

    def _user_moved(self, view_ids: list[str]) -> None:
        new = {}
        for vid in view_ids:
            nid = self._ids.get(vid)
            if nid is not None:
                new[nid] = tuple(self._views[nid].view.xy_pos)
        if new:
            self.document.move_nodes(new)

    def _user_renamed(self, view_id: str, name: str) -> None:
        nid = self._ids.get(view_id)
        if nid is None:
            return
        try:
            self.document.rename(nid, name.removeprefix(FROZEN_MARK))
        except GraphError as e:
            self._refuse(str(e))
        self._show_training(nid)

    def _refuse(self, message: str) -> None:
        self.refused.emit(message)
        if self.isVisible():
            from PySide6.QtGui import QCursor

            QToolTip.showText(QCursor.pos(), f"✖ {message}", self.viewer)

    # -- commands for the window's actions ------------------------------------------------
    def add_node_at(self, type_name: str, pos: tuple[float, float] | None = None) -> str | None:
        """Add a node where the user dropped/asked for it; it becomes the selection."""
        if pos is None:
            pos = self.view_center()
        try:
            nid = self.document.add_node(type_name, (float(pos[0]), float(pos[1])))
        except GraphError as e:
            self._refuse(str(e))
            return None
        self.select([nid])
        return nid

    def reveal(self, nid: str) -> None:
        """Scroll (not zoom) so node ``nid`` is on screen: the view follows a new node."""
        vn = self._views.get(nid)
        if vn is None:
            return
        v = self.viewer
        box = vn.view.sceneBoundingRect().adjusted(-30, -30, 30, 30)
        shown = v.mapToScene(v.viewport().rect()).boundingRect()
        if shown.contains(box):
            return
        dx = min(0.0, box.left() - shown.left()) + max(0.0, box.right() - shown.right())
        dy = min(0.0, box.top() - shown.top()) + max(0.0, box.bottom() - shown.bottom())
        self._fit_pending = False
        v._scene_range = v._scene_range.translated(dx, dy)
        v._update_scene()

    def view_center(self) -> tuple[float, float]:
        c = self.viewer.mapToScene(self.viewer.viewport().rect().center())
        return (c.x() - 80, c.y() - 30)

    def cursor_scene_pos(self) -> tuple[float, float]:
        from PySide6.QtGui import QCursor

        p = self.viewer.mapFromGlobal(QCursor.pos())
        if not self.viewer.viewport().rect().contains(p):
            return self.view_center()
        s = self.viewer.mapToScene(p)
        return (s.x(), s.y())

    def selected_ids(self) -> list[str]:
        out = []
        for vn in self.ng.selected_nodes():
            nid = self._ids.get(vn.id)
            if nid is not None:
                out.append(nid)
        order = {nid: i for i, nid in enumerate(self.document.graph.nodes)}
        return sorted(out, key=lambda n: order.get(n, 0))

    def select(self, node_ids: Iterable[str], center: bool = False) -> None:
        ids = set(node_ids)
        for nid, vn in self._views.items():
            vn.view.selected = nid in ids
        if center and ids:
            self.ng.center_on([self._views[n] for n in ids if n in self._views])
        self._emit_selection()

    def _emit_selection(self) -> None:
        self._selection_timer.start()

    def _emit_selection_now(self) -> None:
        self.selectionChanged.emit(self.selected_ids())

    def _on_double_clicked(self, vn: Any) -> None:
        nid = self._ids.get(vn.id) if vn is not None else None
        if nid is not None:
            self.nodeActivated.emit(nid)

    def delete_selected(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.document.remove_nodes(ids)
            return
        pipes = [self.edge_of_pipe(p) for p in self.viewer.selected_pipes()]
        edges = [e for e in pipes if e is not None]
        if edges:
            self.document.disconnect(edges)

    def copy_selected(self) -> bool:
        ids = self.selected_ids()
        if not ids:
            return False
        frag = self.document.fragment(ids)
        md = QMimeData()
        text = json.dumps(frag)
        md.setData(FRAGMENT_MIME, text.encode())
        md.setText(text)
        QApplication.clipboard().setMimeData(md)
        return True

    def cut_selected(self) -> None:
        if self.copy_selected():
            self.document.remove_nodes(self.selected_ids())

    def paste(self) -> list[str]:
        md = QApplication.clipboard().mimeData()
        raw = None
        if md is not None and md.hasFormat(FRAGMENT_MIME):
            raw = bytes(md.data(FRAGMENT_MIME).data()).decode()
        elif md is not None and md.hasText():
            raw = md.text()
        if not raw:
            return []
        try:
            frag = json.loads(raw)
        except ValueError:
            return []
        if not isinstance(frag, dict) or frag.get("format") != "torchwire-fragment":
            return []
        ids = self.document.paste(frag)
        self.select(ids)
        return ids

    def duplicate_selected(self) -> list[str]:
        ids = self.document.duplicate(self.selected_ids())
        self.select(ids)
        return ids

    def auto_layout(self) -> None:
        sel = self.selected_ids()
        vp = self.viewer.viewport()
        # wrap long chains to the visible canvas's shape (less the captions at the edge)
        aspect = max(0.6, min(3.0, 0.85 * vp.width() / max(1, vp.height())))
        self.document.auto_layout(sel if len(sel) > 1 else None, aspect=aspect)
        QTimer.singleShot(0, self.fit)

    def fit(self, readable: bool = False) -> None:
        """Show every node (F). ``readable``: when that would shrink labels past reading
        (a long chain), show the input end at a readable scale instead (used on open)."""
        nodes = [vn.view for vn in self._views.values()]
        v = self.viewer
        if not nodes:
            v.reset_zoom()
            return
        rect = v._combined_rect(nodes).adjusted(-40, -50, 40, 60)
        vw, vh = max(1, v.viewport().width()), max(1, v.viewport().height())
        scale = min(vw / rect.width(), vh / rect.height())
        if scale > 1.0:  # never magnify a small graph
            scale = 1.0
        if readable and scale < MIN_READABLE_SCALE:
            scale = MIN_READABLE_SCALE
            w, h = vw / scale, vh / scale
            # the start of the graph (its data chain, top left) rather than its middle
            top = rect.top() if rect.height() > h else rect.center().y() - h / 2
            show = QRectF(rect.left(), top, w, h)
        else:
            w, h = vw / scale, vh / scale
            show = QRectF(rect.center().x() - w / 2, rect.center().y() - h / 2, w, h)
        v._scene_range = show
        v._update_scene()

    def zoom(self, factor: float | None) -> None:
        """Zoom about the view's centre by ``factor``; None: actual size (1:1)."""
        self._fit_pending = False
        v = self.viewer
        scale = v.transform().m11()
        target = 1.0 if factor is None else min(2.0, max(0.05, scale * factor))
        rect = v._scene_range
        c = rect.center()
        w, h = rect.width() * scale / target, rect.height() * scale / target
        v._scene_range = QRectF(c.x() - w / 2, c.y() - h / 2, w, h)
        v._update_scene()

    def select_all(self) -> None:
        self.select(list(self._views))

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
            from engine.layout import free_position

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

    # -- live check rendering --------------------------------------------------------------
    def apply_report(self, report: Report) -> None:
        """Labels, marks and tooltips from a fresh report; only what changed is touched."""
        by_node: dict[str | None, list[Any]] = {}
        for d in report.diagnostics:
            by_node.setdefault(d.node, []).append(d)
        g = self.document.graph
        for nid, vn in self._views.items():
            diags = by_node.get(nid, [])
            node = g.nodes.get(nid)
            key = (
                node.name if node else None,
                report.shapes.get(nid),
                report.dtypes.get(nid),
                report.params.get(nid),
                report.macs.get(nid),
                _data_key(report.data.get(nid)),
                tuple((d.severity, d.message, bool(d.fix)) for d in diags),
            )
            if self._node_keys.get(nid) == key:
                continue  # unchanged since the last report: nothing to redraw
            self._node_keys[nid] = key
            err = any(d.severity == "error" for d in diags)
            warn = not err and bool(diags)
            text = self._info_text(nid, report, err)
            color = style.ERROR if err else style.WARNING if warn else style.OK_TEXT
            tag = self._tags.get(nid)
            if tag is not None and tag.set(text, color):
                self._place_tag(nid)
            mark = "error" if err else "warning" if warn else ""
            if self._marks.get(nid) != mark:
                self._marks[nid] = mark
                if mark:
                    rgb = style.ERROR if err else style.WARNING
                    vn.view.border_color = (*rgb, 255)
                else:
                    vn.view.border_color = (74, 84, 85, 255)
                vn.view.update()
            vn.view.setToolTip(self._tooltip(nid, diags, report))
        self._label_wires(report)

    def _info_text(self, nid: str, report: Report, err: bool) -> str:
        node = self.document.graph.nodes.get(nid)
        if node is None:
            return ""
        bits = [node.type]
        shape = report.shapes.get(nid)
        if shape is not None:
            bits.append(style.format_shape(shape))
            dt = report.dtypes.get(nid)
            if dt is not None and not dt.is_floating_point:
                bits[-1] += f" {str(dt).replace('torch.', '')}"
        n = report.params.get(nid, 0)
        if n:
            bits.append(f"{style.format_count(n)} params")
        info = report.data.get(nid)
        if shape is None and info is not None:
            d = data_summary(info)
            head = "  ·  ".join([node.type, *d[:1]])
            return head + ("\n" + "  ·  ".join(d[1:]) if d[1:] else "")
        if err:
            bits.insert(0, "⚠")
        return "  ·  ".join(bits) if not err else " ".join(bits[:2]) + "  " + "  ·  ".join(bits[2:])

    def _tooltip(self, nid: str, diags: list[Any], report: Report | None = None) -> str:
        node = self.document.graph.nodes.get(nid)
        if node is None:
            return ""
        lines = [f"<b>{_esc(node.name)}</b> — {node.type}", _esc(i18n.doc(node.spec.doc))]
        if report is not None and nid in report.shapes:
            lines.append(f"output: {style.format_shape(report.shapes[nid])}")
            if report.params.get(nid):
                lines.append(f"parameters: {report.params[nid]:,}")
            if report.macs.get(nid):
                lines.append(f"MACs per sample: {report.macs[nid]:,}")
        for d in diags:
            color = "#e0524a" if d.severity == "error" else "#e6b43c"
            lines.append(f"<span style='color:{color}'>{_esc(d.message)}</span>")
            if d.fix:
                lines.append("<i>right-click for the fix</i>")
        return "<br>".join(x for x in lines if x)

    def pipes(self) -> dict[Edge, ShapePipe]:
        """Wire items by edge (cached; scanning the scene is slow on big graphs)."""
        if self._pipe_cache is None:
            cache: dict[Edge, ShapePipe] = {}
            for pipe in self.viewer.all_pipes():
                e = self.edge_of_pipe(pipe)
                if e is not None and isinstance(pipe, ShapePipe):
                    cache[e] = pipe
            self._pipe_cache = cache
        return self._pipe_cache

    def _label_wires(self, report: Report) -> None:
        for e, pipe in self.pipes().items():
            text = ""
            shape = report.shape_of(e.src, e.src_port)
            node = self.document.graph.nodes.get(e.src)
            if shape is not None and node is not None and node.spec.kind in ("model", "io"):
                text = style.format_shape(shape)
            elif e.src in report.data:
                text = data_wire_label(report.data[e.src], e.src_port)
            if pipe.tag.set(text, style.WIRE_LABEL):
                pipe.place_tag()

    # -- context menu -----------------------------------------------------------------------
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


def _data_key(info: Any) -> Any:
    if info is None:
        return None
    return tuple(
        repr(getattr(info, k, None))
        for k in ("n_samples", "feature_shape", "n_classes", "task", "splits", "target_shape")
    )


def data_summary(info: Any) -> list[str]:
    """'1797 samples', '1×8×8', '10 classes' for a dataset/preprocessing node's tag."""
    bits = []
    n = getattr(info, "n_samples", None)
    if n:
        bits.append(f"{n:,} samples")
    fs = getattr(info, "feature_shape", None)
    if fs is not None:
        bits.append(style.format_shape(tuple(fs)))
    k = getattr(info, "n_classes", None)
    if k:
        bits.append(f"{k} classes")
    elif getattr(info, "task", None) == "regression":
        bits.append("regression")
    return bits


def data_wire_label(info: Any, port: str) -> str:
    """What a data wire carries: features' shape, or the targets."""
    if "target" in port or "label" in port:
        k = getattr(info, "n_classes", None)
        if k:
            return f"{k} classes"
        ts = getattr(info, "target_shape", None)
        return style.format_shape(tuple(ts)) if ts is not None else ""
    fs = getattr(info, "feature_shape", None)
    return style.format_shape(tuple(fs)) if fs is not None else ""


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- the Tab node creator ---------------------------------------------------------------
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


__all__ = [
    "FRAGMENT_MIME",
    "NODE_MIME",
    "Canvas",
    "CatalogNode",
    "NodeSearchPopup",
    "node_class_for",
    "rank_specs",
]
