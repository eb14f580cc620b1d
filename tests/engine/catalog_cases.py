"""Example inputs for every model node type, shared by the catalog-wide tests."""

from __future__ import annotations

from typing import Any

from engine import catalog
from engine.graph import Graph

# Per-sample input shapes (one per tensor input) where the rank alone does not decide.
SPECIAL: dict[str, dict[str, Any]] = {
    "Embedding": {"shapes": [(5,)], "dtype": "int64"},
    "Unflatten": {"shapes": [(784,)]},
    "Bilinear": {"shapes": [(6,), (7,)]},
    "Add": {"shapes": [(4, 8, 8), (4, 8, 8), (4, 8, 8)]},
    "Mul": {"shapes": [(4, 8, 8), (4, 8, 8)]},
    "Concat": {"shapes": [(4, 8, 8), (3, 8, 8)]},
    "Permute": {"shapes": [(5, 8)]},
    "Reshape": {"shapes": [(4, 8, 8)], "params": {"shape": [16, -1]}},
    "RNN": {"shapes": [(5, 8)], "params": {"output": "last", "bidirectional": True}},
    "GRU": {"shapes": [(5, 8)], "params": {"num_layers": 2, "dropout": 0.1}},
    "Upsample": {"shapes": [(4, 8, 8)]},
}
BY_RANK = {1: (8,), 2: (4, 8), 3: (4, 8, 8), 4: (2, 4, 8, 8)}


def model_specs() -> list[str]:
    return [s.type for s in catalog.all_specs() if s.kind == "model"]


def single_node_graph(type_name: str) -> tuple[Graph, str]:
    """Inputs → one node of ``type_name`` → Output; returns the graph and the node id."""
    spec = catalog.get(type_name)
    case = SPECIAL.get(type_name, {})
    shapes = case.get("shapes")
    if shapes is None:
        rank = spec.ranks[-1] if spec.ranks else 1
        shapes = [BY_RANK[rank]]
    g = Graph(name=f"case_{type_name}")
    node = g.add(type_name, **case.get("params", {}))
    ports = [p for p in spec.inputs if p.kind == "tensor"]
    for i, shape in enumerate(shapes):
        x = g.add("Input", shape=list(shape), dtype=case.get("dtype", "float32"), name=f"x{i}")
        port = ports[0].name if ports[0].multi else ports[min(i, len(ports) - 1)].name
        g.connect(x, node, dst_port=port)
    out = g.add("Output", name="y")
    g.connect(node, out)
    return g, node
