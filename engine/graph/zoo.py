"""Reference architectures built through the public Graph API (tests, benchmarks, examples)."""

from __future__ import annotations

from engine.graph.graph import Graph


def _conv_bn(
    g: Graph, x: str, name: str, out: int, k: int, stride: int = 1, padding: int = 0
) -> str:
    c = g.add(
        "Conv2d",
        name=f"{name}",
        out_channels=out,
        kernel_size=k,
        stride=stride,
        padding=padding,
        bias=False,
    )
    g.connect(x, c)
    b = g.add("BatchNorm2d", name=f"{name}_bn")
    g.connect(c, b)
    return b


def basic_block(g: Graph, x: str, name: str, out: int, stride: int, in_ch: int) -> str:
    """torchvision's BasicBlock: two 3×3 convs, a 1×1 projection when the shape changes."""
    y = _conv_bn(g, x, f"{name}_conv1", out, 3, stride, 1)
    r = g.add("ReLU", name=f"{name}_relu1")
    g.connect(y, r)
    y = _conv_bn(g, r, f"{name}_conv2", out, 3, 1, 1)
    skip = x
    if stride != 1 or in_ch != out:
        skip = _conv_bn(g, x, f"{name}_down", out, 1, stride, 0)
    a = g.add("Add", name=f"{name}_add")
    g.connect(y, a)
    g.connect(skip, a)
    r2 = g.add("ReLU", name=f"{name}_relu2")
    g.connect(a, r2)
    return r2


def resnet18(num_classes: int = 1000, image_size: int = 224) -> Graph:
    """ResNet-18 with torchvision's layout (11,689,512 parameters for 1000 classes)."""
    g = Graph(name="resnet18")
    x = g.add("Input", name="image", shape=[3, image_size, image_size])
    y = _conv_bn(g, x, "conv1", 64, 7, 2, 3)
    r = g.add("ReLU", name="relu")
    g.connect(y, r)
    p = g.add("MaxPool2d", name="maxpool", kernel_size=3, stride=2, padding=1)
    g.connect(r, p)
    y, ch = p, 64
    for i, (out, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)], start=1):
        y = basic_block(g, y, f"layer{i}_0", out, stride, ch)
        y = basic_block(g, y, f"layer{i}_1", out, 1, out)
        ch = out
    a = g.add("AdaptiveAvgPool2d", name="avgpool", output_size=1)
    g.connect(y, a)
    f = g.add("Flatten", name="flatten")
    g.connect(a, f)
    fc = g.add("Linear", name="fc", out_features=num_classes)
    g.connect(f, fc)
    _layout(g)
    return g


def mlp(sizes: list[int], name: str = "mlp") -> Graph:
    """Input → (Linear → ReLU)* → Linear."""
    g = Graph(name=name)
    prev = g.add("Input", name="x", shape=[sizes[0]])
    for i, n in enumerate(sizes[1:], start=1):
        lin = g.add("Linear", name=f"fc{i}", out_features=n)
        g.connect(prev, lin)
        prev = lin
        if i < len(sizes) - 1:
            act = g.add("ReLU", name=f"relu{i}")
            g.connect(prev, act)
            prev = act
    _layout(g)
    return g


def _layout(g: Graph) -> None:
    """Left-to-right by longest path from an input; parallel branches stacked."""
    depth: dict[str, int] = {}
    for nid in g.nodes:
        preds = [e.src for e in g.in_edges(nid)]
        depth[nid] = 1 + max((depth.get(p, 0) for p in preds), default=-1)
    rows: dict[int, int] = {}
    for nid, d in depth.items():
        row = rows.get(d, 0)
        rows[d] = row + 1
        g.nodes[nid].pos = (d * 220.0, row * 140.0)
