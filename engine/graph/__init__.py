"""The graph a user edits: nodes, edges, blocks and the typed edit ops, no canvas library.

Modules, lowest first: ``elements`` (nodes, edges, events), ``frames`` (canvas
annotations), ``ops`` (edits with exact inverses), ``blocks`` (block definitions),
``block_ops`` (edits of blocks), ``graph`` (the ``Graph`` class), ``zoo`` (reference
architectures). Each imports only those before it; this package re-exports the names
every other part uses.
"""

from engine.graph.blocks import SEP, BlockDef, BlockError, Exposed, define, is_block
from engine.graph.elements import (
    MAX_LR_SCALE,
    BlockAdded,
    BlockChanged,
    BlockRemoved,
    Edge,
    EdgeAdded,
    EdgeRemoved,
    GraphChanged,
    GraphError,
    GraphEvent,
    Listener,
    Moved,
    Node,
    NodeAdded,
    NodeRemoved,
    ParamsChanged,
    Renamed,
    SilencedChanged,
    TrainingChanged,
    check_lr_scale,
    plain,
    port_kinds_compatible,
    topological_order,
)
from engine.graph.graph import Graph, defs_from_list

__all__ = [
    "MAX_LR_SCALE",
    "SEP",
    "BlockAdded",
    "BlockChanged",
    "BlockDef",
    "BlockError",
    "BlockRemoved",
    "Edge",
    "EdgeAdded",
    "EdgeRemoved",
    "Exposed",
    "Graph",
    "GraphChanged",
    "GraphError",
    "GraphEvent",
    "Listener",
    "Moved",
    "Node",
    "NodeAdded",
    "NodeRemoved",
    "ParamsChanged",
    "Renamed",
    "SilencedChanged",
    "TrainingChanged",
    "check_lr_scale",
    "define",
    "defs_from_list",
    "is_block",
    "plain",
    "port_kinds_compatible",
    "topological_order",
]
