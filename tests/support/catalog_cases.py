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
    "Sub": {"shapes": [(4, 8, 8), (4, 1, 1)]},
    "Div": {"shapes": [(4, 8, 8), (1, 1, 8)]},
    "MatMul": {"shapes": [(3, 4, 8), (3, 8, 5)]},
    "Parameter": {"shapes": [(4, 8)], "params": {"shape": [1, 8], "init": "normal"}},
    "SinusoidalPositionalEncoding": {"shapes": [(5, 8)]},
    "Reduce": {"shapes": [(4, 8, 8)], "params": {"op": "amax", "dim": [2, 3]}},
    "Elementwise": {"params": {"op": "clamp", "min": -0.5, "max": 0.5}},
    "Slice": {"shapes": [(4, 8)], "params": {"dim": 2, "start": 1, "end": 7, "step": 2}},
    "Select": {"shapes": [(4, 8)], "params": {"dim": 1, "index": -1}},
    "SplitTensor": {"shapes": [(4, 8)], "params": {"dim": -1, "sizes": [3, 5]}},
    "Chunk": {"shapes": [(6, 8)], "params": {"chunks": 3}},
    "MultiheadAttention": {"shapes": [(5, 8)], "params": {"causal": True}},
    "TransformerDecoderLayer": {"shapes": [(5, 8), (7, 8)]},
    "LSTM": {"shapes": [(5, 8)], "params": {"output": "last"}},
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
