"""The canvas widget: a NodeGraphQt view that follows the document's ``engine.Graph``.

The user's gestures (connect, move, drop, rename, delete) are routed to
:class:`~designer.document.Document`, which validates them with the engine and applies them
through Graph methods; the canvas then follows the Graph's events (:meth:`Canvas._on_graph_event`).
NodeGraphQt's own undo stack is never used; every reach into its internals is in
:mod:`designer.canvas.adapter`. Menus and the node search are mixed in from
:mod:`designer.canvas.menus` and :mod:`designer.canvas.search`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from NodeGraphQt import BaseNode
from NodeGraphQt.qgraphics.port import PortItem
from PySide6.QtCore import QEvent, QMimeData, QRectF, QTimer, Signal
from PySide6.QtWidgets import QApplication, QToolTip, QVBoxLayout, QWidget

from designer import i18n, style
from designer.canvas import adapter
from designer.canvas.adapter import CanvasViewer, ShapePipe, Tag, ViewGraph
from designer.canvas.menus import CanvasMenus
from designer.canvas.nodes import (
    FRAGMENT_MIME,
    FROZEN_COLOR,
    FROZEN_MARK,
    MIN_READABLE_SCALE,
    block_view_type,
    node_class_for,
    view_type_of,
)
from designer.canvas.search import CanvasSearch, NodeSearchPopup
from designer.document import Document
from designer.i18n import fmt, translate
from engine import catalog
from engine.analysis.check import Report
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

# what ends "fit on open": the user zooming, panning or clicking in the canvas
_USER_VIEW_EVENTS = (
    QEvent.Type.Wheel,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.KeyPress,
)


# -- the canvas --------------------------------------------------------------------------
class Canvas(CanvasSearch, CanvasMenus, QWidget):
    """The canvas widget. Follows ``document.graph``; edits go through the document."""

    selectionChanged = Signal(list)  # engine node ids
    nodeActivated = Signal(str)  # double-clicked node id
    refused = Signal(str)  # an edit refused, with the engine's reason

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.ng = ViewGraph(self)
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
        self._tags: dict[str, Tag] = {}
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
            vtype = block_view_type(self.ng, node.block_spec)
        else:
            vtype = view_type_of(node.type)
        vn = self.ng.create_node(
            vtype, name=node.name, selected=False, pos=node.pos, push_undo=False
        )
        self._views[nid] = vn
        self._ids[vn.id] = nid
        self._show_training(nid)
        tag = Tag(vn.view)
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
        adapter.set_title(vn, name)

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
        adapter.link_models(out, inp)
        adapter.draw_wire(out, inp)

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
                    adapter.move_view(vn, pos)
            elif isinstance(event, (Renamed, TrainingChanged)):
                nid = event.node
                if nid in self._views:
                    self._show_training(nid)
                    self._place_tag(nid)
            elif isinstance(event, BlockChanged):
                self.refresh_block_instances(event.block)
        finally:
            self._syncing = False

    def refresh_block_instances(self, block: str) -> None:
        """Redraw the instances of ``block`` whose ports no longer match its definition."""
        g = self.document.graph
        for nid, node in list(g.nodes.items()):
            vn = self._views.get(nid)
            if node.type != block or vn is None:
                continue
            have = ([p.name() for p in vn.input_ports()], [p.name() for p in vn.output_ports()])
            want = ([p.name for p in node.spec.inputs], [p.name for p in node.spec.outputs])
            if have == want:
                continue
            self._views.pop(nid)
            self._tags.pop(nid, None)
            self._ids.pop(vn.id, None)
            self._node_keys.pop(nid, None)
            self.ng.remove_node(vn, push_undo=False)
            self._create_view(nid)
            for e in g.edges:
                if nid in (e.src, e.dst):
                    self._connect_view(e)
            self._pipe_cache = None

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
                adapter.unlink_model(p)
        for e in self.document.graph.edges:
            out = self._port(e.src, e.src_port, True)
            inp = self._port(e.dst, e.dst_port, False)
            adapter.link_models(out, inp)
            if e not in have:
                adapter.draw_wire(out, inp)
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
        adapter.set_scene_range(v, adapter.scene_range(v).translated(dx, dy))

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
        rect = adapter.combined_rect(v, nodes).adjusted(-40, -50, 40, 60)
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
        adapter.set_scene_range(v, show)

    def zoom(self, factor: float | None) -> None:
        """Zoom about the view's centre by ``factor``; None: actual size (1:1)."""
        self._fit_pending = False
        v = self.viewer
        scale = v.transform().m11()
        target = 1.0 if factor is None else min(2.0, max(0.05, scale * factor))
        rect = adapter.scene_range(v)
        c = rect.center()
        w, h = rect.width() * scale / target, rect.height() * scale / target
        adapter.set_scene_range(v, QRectF(c.x() - w / 2, c.y() - h / 2, w, h))

    def select_all(self) -> None:
        self.select(list(self._views))

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
            bits.append(fmt(translate("Canvas", "%1 params"), style.format_count(n)))
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
            lines.append(
                fmt(translate("Canvas", "output: %1"), style.format_shape(report.shapes[nid]))
            )
            if report.params.get(nid):
                lines.append(fmt(translate("Canvas", "parameters: %1"), f"{report.params[nid]:,}"))
            if report.macs.get(nid):
                lines.append(
                    fmt(translate("Canvas", "MACs per sample: %1"), f"{report.macs[nid]:,}")
                )
        for d in diags:
            color = "#e0524a" if d.severity == "error" else "#e6b43c"
            lines.append(f"<span style='color:{color}'>{_esc(d.message)}</span>")
            if d.fix:
                lines.append(f"<i>{translate('Canvas', 'right-click for the fix')}</i>")
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
        bits.append(fmt(translate("Canvas", "%1 samples"), f"{n:,}"))
    fs = getattr(info, "feature_shape", None)
    texts = getattr(info, "text_columns", ())
    names = getattr(info, "feature_names", None)
    if fs is not None and texts and names:  # text columns are no features yet (OneHot)
        bits.append(fmt(translate("Canvas", "%1 columns (%2 text)"), len(names), len(texts)))
    elif fs is not None:
        bits.append(style.format_shape(tuple(fs)))
    k = getattr(info, "n_classes", None)
    if k:
        bits.append(fmt(translate("Canvas", "%1 classes"), k))
    elif getattr(info, "task", None) == "regression":
        bits.append(translate("Canvas", "regression"))
    return bits


def data_wire_label(info: Any, port: str) -> str:
    """What a data wire carries: features' shape, or the targets."""
    if "target" in port or "label" in port:
        k = getattr(info, "n_classes", None)
        if k:
            return fmt(translate("Canvas", "%1 classes"), k)
        ts = getattr(info, "target_shape", None)
        return style.format_shape(tuple(ts)) if ts is not None else ""
    fs = getattr(info, "feature_shape", None)
    return style.format_shape(tuple(fs)) if fs is not None else ""


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
