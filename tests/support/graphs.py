"""Graphs the export tests share: branches, merges, recurrence, attention, several I/O."""

from __future__ import annotations

from engine.graph import Graph


def chain(g: Graph, x: str, *layers: tuple[str, dict]) -> str:
    for t, p in layers:
        n = g.add(t, **p)
        g.connect(x, n)
        x = n
    return x


def resnet_small(classes: int = 10) -> Graph:
    """A ResNet-style net: stem, two residual blocks (one projecting), pool, classifier."""
    g = Graph(name="resnet_small")
    x = g.add("Input", name="image", shape=[3, 16, 16])
    x = chain(
        g,
        x,
        ("Conv2d", {"name": "stem", "out_channels": 8, "kernel_size": 3, "padding": 1}),
        ("BatchNorm2d", {"name": "stem_bn"}),
        ("ReLU", {"name": "stem_relu"}),
    )
    for i, (out, stride) in enumerate([(8, 1), (16, 2)], 1):
        y = chain(
            g,
            x,
            ("Conv2d", {"name": f"b{i}_conv1", "out_channels": out, "kernel_size": 3,
                        "stride": stride, "padding": 1, "bias": False}),
            ("BatchNorm2d", {"name": f"b{i}_bn1"}),
            ("ReLU", {"name": f"b{i}_relu1"}),
            ("Conv2d", {"name": f"b{i}_conv2", "out_channels": out, "kernel_size": 3,
                        "padding": 1, "bias": False}),
            ("BatchNorm2d", {"name": f"b{i}_bn2"}),
        )  # fmt: skip
        skip = x
        if stride != 1:
            skip = chain(
                g,
                x,
                ("Conv2d", {"name": f"b{i}_down", "out_channels": out, "kernel_size": 1,
                            "stride": stride, "bias": False}),
                ("BatchNorm2d", {"name": f"b{i}_down_bn"}),
            )  # fmt: skip
        a = g.add("Add", name=f"b{i}_add")
        g.connect(y, a)
        g.connect(skip, a)
        x = chain(g, a, ("ReLU", {"name": f"b{i}_out"}))
    x = chain(
        g,
        x,
        ("AdaptiveAvgPool2d", {"name": "pool"}),
        ("Flatten", {"name": "flatten"}),
        ("Linear", {"name": "fc", "out_features": classes}),
        ("Output", {"name": "logits"}),
    )
    return g


def lstm_classifier(vocab: int = 50, classes: int = 4) -> Graph:
    """Token ids → embedding → 2-layer bidirectional LSTM (last step) → classifier."""
    g = Graph(name="lstm_classifier")
    x = g.add("Input", name="tokens", shape=[12], dtype="int64")
    chain(
        g,
        x,
        ("Embedding", {"name": "embed", "num_embeddings": vocab, "embedding_dim": 16}),
        ("LSTM", {"name": "lstm", "hidden_size": 24, "num_layers": 2, "bidirectional": True,
                  "output": "last", "dropout": 0.2}),
        ("Dropout", {"name": "drop", "p": 0.3}),
        ("Linear", {"name": "fc", "out_features": classes}),
        ("Output", {"name": "logits"}),
    )  # fmt: skip
    return g


def transformer_encoder(classes: int = 3) -> Graph:
    """Projection, two encoder layers (pre- and post-norm), attention branch merged back."""
    g = Graph(name="transformer_encoder")
    x = g.add("Input", name="sequence", shape=[10, 12])
    h = chain(
        g,
        x,
        ("Linear", {"name": "proj", "out_features": 32}),
        ("TransformerEncoderLayer", {"name": "enc1", "nhead": 4, "dim_feedforward": 64}),
        ("TransformerEncoderLayer", {"name": "enc2", "nhead": 4, "dim_feedforward": 64,
                                     "activation": "gelu", "norm_first": True}),
    )  # fmt: skip
    att = chain(g, h, ("MultiheadAttention", {"name": "attn", "num_heads": 2}))
    a = g.add("Add", name="residual")
    g.connect(h, a)
    g.connect(att, a)
    chain(
        g,
        a,
        ("LayerNorm", {"name": "norm"}),
        ("Flatten", {"name": "flatten"}),
        ("Linear", {"name": "head", "out_features": classes}),
        ("Output", {"name": "logits"}),
    )
    return g


def two_towers() -> Graph:
    """Two inputs, a GRU branch and a conv branch, concatenated, two outputs."""
    g = Graph(name="two_towers")
    seq = g.add("Input", name="seq", shape=[6, 5])
    img = g.add("Input", name="img", shape=[2, 8, 8])
    s = chain(g, seq, ("GRU", {"name": "gru", "hidden_size": 8, "output": "last"}))
    c = chain(
        g,
        img,
        ("Conv2d", {"name": "conv", "out_channels": 4, "kernel_size": 3}),
        ("Upsample", {"name": "up", "scale_factor": 2.0, "mode": "bilinear"}),
        ("MaxPool2d", {"name": "pool", "kernel_size": 4}),
        ("Flatten", {"name": "flat"}),
    )
    cat = g.add("Concat", name="join", dim=1)
    g.connect(s, cat)
    g.connect(c, cat)
    h = chain(g, cat, ("Linear", {"name": "hidden", "out_features": 16}), ("GELU", {"name": "act"}))
    chain(g, h, ("Linear", {"name": "cls", "out_features": 3}), ("Softmax", {"name": "probs"}),
          ("Output", {"name": "class_probs"}))  # fmt: skip
    chain(g, h, ("Linear", {"name": "reg", "out_features": 1}), ("Output", {"name": "value"}))
    return g


def whole_catalog(types: list[str]) -> Graph:
    """Every node type's single-node case side by side in one graph: one input and one
    output per case, so one export (and one parity row per output) covers them all."""
    from tests.support.catalog_cases import single_node_graph

    big = Graph(name="whole_catalog")
    for t in types:
        g, _ = single_node_graph(t)
        ids = {}
        for nid, n in g.nodes.items():
            ids[nid] = big.add(n.type, name=f"{t}_{n.name}", **n.params)
        for e in g.edges:
            big.connect(ids[e.src], ids[e.dst], src_port=e.src_port, dst_port=e.dst_port)
    return big
