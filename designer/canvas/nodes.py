"""Node classes generated from the catalog (:func:`node_class_for`), one per NodeSpec;
none is written by hand. Also the canvas's constants (drag-and-drop formats, frozen look)."""

from __future__ import annotations

import re
from typing import Any

from NodeGraphQt import BaseNode

from designer import style
from engine import catalog
from engine.catalog.base import NodeSpec

NODE_MIME = "application/x-torchwire-node"
FRAGMENT_MIME = "application/x-torchwire-fragment"
IDENT_PREFIX = "torchwire"
MIN_READABLE_SCALE = 0.7


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


def node_class_for(spec: NodeSpec, group: str | None = None) -> type[CatalogNode]:
    """The NodeGraphQt class for a node type (made once, cached); ``group`` is the last
    part of its identifier (default: its category's; blocks use "blocks")."""
    cls = _CLASSES.get(spec.type)
    if cls is None:
        cls = type(
            spec.type,
            (CatalogNode,),
            {
                "__identifier__": f"{IDENT_PREFIX}.{group or _slug(spec.category)}",
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


def block_view_type(ng: Any, spec: NodeSpec) -> str:
    """NodeGraphQt's type key for a block type, registering its class with ``ng`` when new.

    One class per block name; it carries the spec it was last asked for, which is the one
    the next view node is built from (two projects may define a block name differently)."""
    cls = node_class_for(spec, group="blocks")
    cls.SPEC = spec
    if cls.type_ not in ng.registered_nodes():
        ng.register_node(cls)
    return str(cls.type_)


__all__ = [
    "FRAGMENT_MIME",
    "FROZEN_COLOR",
    "FROZEN_MARK",
    "IDENT_PREFIX",
    "MIN_READABLE_SCALE",
    "NODE_MIME",
    "CatalogNode",
    "block_view_type",
    "node_class_for",
    "view_type_of",
]
