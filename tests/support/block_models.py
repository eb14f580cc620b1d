"""Architectures drawn with blocks, as a user would (shared by the block tests)."""

from __future__ import annotations

from engine.graph import Graph


def chain(g: Graph, src: str, *layers: tuple[str, str, dict]) -> str:
    """Add ``(type, name, params)`` layers one after another from ``src``; the last id."""
    for type_name, name, params in layers:
        nid = g.add(type_name, name=name, **params)
        g.connect(src, nid)
        src = nid
    return src


def conv(name: str, out: int, k: int, stride: int = 1, groups: int = 1) -> tuple[str, str, dict]:
    params = dict(out_channels=out, kernel_size=k, stride=stride, padding=k // 2, bias=False)
    if groups != 1:
        params["groups"] = groups
    return ("Conv2d", name, params)


def bn(name: str) -> tuple[str, str, dict]:
    return ("BatchNorm2d", name, {})


def basic_block(down: bool) -> tuple[Graph, dict[str, list[str]]]:
    """ResNet's BasicBlock; ``down``: the first block of a stage (stride 2 and a 1×1
    projection on the skip path), a block of its own: ``DownBlock``."""
    b = Graph(name="DownBlock" if down else "BasicBlock")
    x = b.add("Input", name="x")
    y = chain(
        b,
        x,
        conv("conv1", 64, 3, 2 if down else 1),
        bn("bn1"),
        ("ReLU", "relu1", {}),
        conv("conv2", 64, 3),
        bn("bn2"),
    )
    add = b.add("Add", name="add")
    b.connect(y, add)
    channels = ["conv1.out_channels", "conv2.out_channels"]
    if down:
        skip = chain(b, x, conv("down_conv", 64, 1, 2), bn("down_bn"))
        b.connect(skip, add)
        channels.append("down_conv.out_channels")
    else:
        b.connect(x, add)
    chain(b, add, ("ReLU", "relu2", {}), ("Output", "out", {}))
    return b, {"channels": channels}


def resnet18(size: int = 224) -> Graph:
    g = Graph(name="resnet18")
    for down in (False, True):
        g.add_block(*basic_block(down))
    x = g.add("Input", name="x", shape=[3, size, size])
    y = chain(
        g,
        x,
        ("Conv2d", "conv1", dict(out_channels=64, kernel_size=7, stride=2, padding=3, bias=False)),
        bn("bn1"),
        ("ReLU", "relu", {}),
        ("MaxPool2d", "maxpool", dict(kernel_size=3, stride=2, padding=1)),
    )
    for stage, ch in enumerate((64, 128, 256, 512), 1):
        for i in range(2):
            kind = "DownBlock" if i == 0 and stage > 1 else "BasicBlock"
            y = chain(g, y, (kind, f"layer{stage}_{i}", {"channels": ch}))
    chain(
        g,
        y,
        ("AdaptiveAvgPool2d", "avgpool", {"output_size": 1}),
        ("Flatten", "flatten", {}),
        ("Linear", "fc", {"out_features": 1000}),
    )
    return g


def inverted_residual(expand: bool, residual: bool) -> tuple[Graph, dict[str, list[str]]]:
    """MobileNetV2's inverted residual: (1×1 expand, ReLU6), 3×3 depthwise, ReLU6, 1×1
    project. Three variants, each a block: ``InvertedResidual`` (skip: stride 1, in == out),
    ``InvertedResidualNoSkip``, and ``InvertedResidualT1`` (expansion 1: no expand layer)."""
    name = "InvertedResidualT1" if not expand else "InvertedResidual"
    if expand and not residual:
        name += "NoSkip"
    b = Graph(name=name)
    x = b.add("Input", name="x")
    y = x
    hidden = ["dw.out_channels", "dw.groups"]
    if expand:
        y = chain(b, y, conv("expand", 96, 1), bn("expand_bn"), ("ReLU6", "expand_act", {}))
        hidden.insert(0, "expand.out_channels")
    y = chain(
        b,
        y,
        conv("dw", 96, 3, 1, groups=96),
        bn("dw_bn"),
        ("ReLU6", "dw_act", {}),
        conv("project", 24, 1),
        bn("project_bn"),
    )
    if residual:
        add = b.add("Add", name="add")
        b.connect(y, add)
        b.connect(x, add)
        y = add
    chain(b, y, ("Output", "out", {}))
    expose = {"hidden": hidden, "out": ["project.out_channels"], "stride": ["dw.stride"]}
    return b, expose


def mobilenet_v2(size: int = 224) -> Graph:
    g = Graph(name="mobilenet_v2")
    for expand, residual in ((False, False), (True, False), (True, True)):
        g.add_block(*inverted_residual(expand, residual))
    x = g.add("Input", name="x", shape=[3, size, size])
    y = chain(g, x, conv("stem", 32, 3, 2), bn("stem_bn"), ("ReLU6", "stem_act", {}))
    cin = 32
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1)]
    settings += [(6, 160, 3, 2), (6, 320, 1, 1)]
    for stage, (t, c, n, s) in enumerate(settings):
        for i in range(n):
            stride = s if i == 0 else 1
            if t == 1:
                kind = "InvertedResidualT1"
            elif stride == 1 and cin == c:
                kind = "InvertedResidual"
            else:
                kind = "InvertedResidualNoSkip"
            params = {"hidden": cin * t, "out": c, "stride": stride}
            y = chain(g, y, (kind, f"features{stage}_{i}", params))
            cin = c
    chain(
        g,
        y,
        conv("head", 1280, 1),
        bn("head_bn"),
        ("ReLU6", "head_act", {}),
        ("AdaptiveAvgPool2d", "pool", {"output_size": 1}),
        ("Flatten", "flatten", {}),
        ("Dropout", "dropout", {"p": 0.2}),
        ("Linear", "classifier", {"out_features": 1000}),
    )
    return g


def squeeze_excitation() -> tuple[Graph, dict[str, list[str]]]:
    """x * sigmoid(conv(relu(conv(avgpool(x))))): a broadcasting Mul of (C,H,W) by (C,1,1)."""
    b = Graph(name="SqueezeExcite")
    x = b.add("Input", name="x")
    s = chain(
        b,
        x,
        ("AdaptiveAvgPool2d", "pool", {"output_size": 1}),
        ("Conv2d", "reduce", {"out_channels": 4, "kernel_size": 1}),
        ("ReLU", "relu", {}),
        ("Conv2d", "expand", {"out_channels": 16, "kernel_size": 1}),
        ("Sigmoid", "gate", {}),
    )
    mul = b.add("Mul", name="scale")
    b.connect(x, mul)
    b.connect(s, mul)
    chain(b, mul, ("Output", "out", {}))
    return b, {"squeeze": ["reduce.out_channels"], "channels": ["expand.out_channels"]}


def nested_blocks(depth: int, fan: int = 1) -> Graph:
    """A model whose block nests ``depth`` levels: level ``i`` holds ``fan`` blocks, each
    using every block of level ``i - 1`` (``fan=2``: a diamond at every level, so a
    definition is reached along ``2**depth`` paths though there are only ``2 * depth``)."""
    level: list[Graph] = []
    for i in range(depth):
        made = []
        for j in range(fan):
            b = Graph(name=f"L{i}_{j}")
            for used in level:
                b.add_block(used)
            layers = [(u.name, f"n{k}", {}) for k, u in enumerate(level)] or [("ReLU", "n", {})]
            chain(b, chain(b, b.add("Input", name="x"), *layers), ("Output", "out", {}))
            made.append(b)
        level = made
    g = Graph(name="nested")
    g.add_block(level[0])
    chain(g, g.add("Input", name="x", shape=[3]), (level[0].name, "top", {}))
    return g
