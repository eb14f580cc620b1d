"""The node canvas: a NodeGraphQt view of the document's ``engine.Graph``.

Node classes are generated from the catalog (:func:`node_class_for`), one per NodeSpec;
none is written by hand. NodeGraphQt is used as a view only: the user's gestures
(connect, move, drop, rename, delete) are routed to :class:`~designer.document.Document`,
which validates them with the engine and applies them through Graph methods; the canvas
then follows the Graph's events. NodeGraphQt's own undo stack is never used.

Each node shows its output shape and parameter count under its title, each wire is
labelled with the shape it carries, and nodes with problems get a red (or amber) frame
and their messages as a tooltip.

The parts: :mod:`.nodes` (generated node classes, constants), :mod:`.adapter` (every reach
into NodeGraphQt's private API, and its subclasses), :mod:`.view` (the :class:`Canvas`
widget, syncing graph events and views), :mod:`.menus` (right-click menus) and
:mod:`.search` (the node search popup and where its choice goes).
"""

from __future__ import annotations

from designer.canvas.adapter import CanvasViewer, ShapePipe
from designer.canvas.nodes import (
    FRAGMENT_MIME,
    FROZEN_COLOR,
    FROZEN_MARK,
    IDENT_PREFIX,
    MIN_READABLE_SCALE,
    NODE_MIME,
    CatalogNode,
    block_view_type,
    node_class_for,
    view_type_of,
)
from designer.canvas.search import (
    CAT_ROLE,
    DOC_ROLE,
    TYPE_ROLE,
    CatalogEntryDelegate,
    NodeSearchPopup,
    first_line,
    rank_specs,
)
from designer.canvas.view import Canvas, data_summary, data_wire_label

__all__ = [
    "CAT_ROLE",
    "DOC_ROLE",
    "FRAGMENT_MIME",
    "FROZEN_COLOR",
    "FROZEN_MARK",
    "IDENT_PREFIX",
    "MIN_READABLE_SCALE",
    "NODE_MIME",
    "TYPE_ROLE",
    "Canvas",
    "CanvasViewer",
    "CatalogEntryDelegate",
    "CatalogNode",
    "NodeSearchPopup",
    "ShapePipe",
    "block_view_type",
    "data_summary",
    "data_wire_label",
    "first_line",
    "node_class_for",
    "rank_specs",
    "view_type_of",
]
