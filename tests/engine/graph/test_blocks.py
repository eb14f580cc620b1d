"""Blocks: graphs used as node types (engine.graph.blocks), checked, compiled and saved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from engine.analysis.check import check
from engine.build.compile import compile_model, generate_source
from engine.cli import main as cli_main
from engine.graph import Graph, GraphError
from engine.graph.blocks import BlockError, define
from engine.project import ProjectError, loads_project, to_json
from engine.project.library import load_library, save_library
from tests.support.block_models import (
    basic_block,
    chain,
    mobilenet_v2,
    resnet18,
    squeeze_excitation,
)


# -- a hand-written torchvision-style ResNet-18, torch only ---------------------------------
class RefBlock(nn.Module):
    def __init__(self, cin: int, cout: int, down: bool) -> None:
        super().__init__()
        s = 2 if down else 1
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=s, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = down
        if down:
            self.down_conv = nn.Conv2d(cin, cout, 1, stride=2, bias=False)
            self.down_bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        skip = self.down_bn(self.down_conv(x)) if self.down else x
        return torch.relu(y + skip)


class RefResNet18(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin = 64
        for stage, ch in enumerate((64, 128, 256, 512), 1):
            for i in range(2):
                down = i == 0 and stage > 1
                setattr(self, f"layer{stage}_{i}", RefBlock(cin, ch, down))
                cin = ch
        self.fc = nn.Linear(512, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        for stage in range(1, 5):
            for i in range(2):
                x = getattr(self, f"layer{stage}_{i}")(x)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def _randomize_bn(model: nn.Module) -> None:
    gen = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)


@pytest.mark.slow
def test_resnet18_with_blocks_has_the_published_count_and_loads_hand_written_weights() -> None:
    g = resnet18(size=64)
    rep = check(g)
    assert rep.ok, rep.errors
    assert rep.total_params == 11_689_512
    # per instance: the sum of its inner layers
    assert rep.params[g.by_name("layer1_0").id] == 2 * 64 * 64 * 9 + 4 * 64
    assert len(g.nodes) == 16  # not 70 flat nodes
    model = compile_model(g, rep).eval()
    assert sum(p.numel() for p in model.parameters()) == 11_689_512
    assert model.code.count("class BasicBlock(nn.Module)") == 1
    assert model.code.count("class DownBlock(nn.Module)") == 1
    assert "DownBlock(in_channels=64, channels=128)" in model.code
    ref = RefResNet18().eval()
    _randomize_bn(ref)
    assert set(model.state_dict()) == set(ref.state_dict())
    assert "layer1_0.conv1.weight" in model.state_dict()
    assert "layer2_0.down_conv.weight" in model.state_dict()
    model.load_state_dict(ref.state_dict())  # strict: every key matches
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(x), atol=1e-5, rtol=0)
    # inner shapes: the report of every instance
    inner = rep.inner[g.by_name("layer2_0").id]
    assert inner.shapes[inner.graph.by_name("conv1").id] == (128, 8, 8)


def test_mobilenet_v2_with_inverted_residual_blocks_has_the_published_count() -> None:
    g = mobilenet_v2()
    rep = check(g)
    assert rep.ok, rep.errors
    assert rep.total_params == 3_504_872
    assert sum(rep.params.values()) == rep.total_params
    src, _ = generate_source(g, rep)
    for name in ("InvertedResidual", "InvertedResidualNoSkip", "InvertedResidualT1"):
        assert src.count(f"class {name}(nn.Module)") == 1
    # the depthwise layer takes the exposed width for its channels and its groups
    assert "nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden" in src


def test_squeeze_excitation_block_broadcasts_mul() -> None:
    g = Graph(name="se")
    blk, expose = squeeze_excitation()
    g.add_block(blk, expose)
    x = g.add("Input", name="x", shape=[16, 5, 5])
    se = chain(g, x, ("SqueezeExcite", "se", {"squeeze": 4, "channels": 16}))
    rep = check(g)
    assert rep.ok, rep.errors
    inner = rep.inner[se]
    assert inner.shapes[inner.graph.by_name("gate").id] == (16, 1, 1)
    assert rep.shapes[se] == (16, 5, 5)
    model = compile_model(g, rep).eval()
    m = model.se
    x = torch.randn(2, 16, 5, 5)
    gate = torch.sigmoid(m.expand(torch.relu(m.reduce(x.mean((2, 3), keepdim=True)))))
    torch.testing.assert_close(model(x), x * gate)


def test_mul_shapes_that_do_not_broadcast_are_said_in_words() -> None:
    g = Graph()
    a = g.add("Input", name="a", shape=[16, 5, 5])
    b = g.add("Input", name="b", shape=[8, 1, 1])
    mul = g.add("Mul", name="mul")
    g.connect(a, mul)
    g.connect(b, mul)
    rep = check(g)
    assert [d.message for d in rep.errors] == [
        "mul: cannot broadcast [B,16,5,5] with [B,8,1,1]: dimension 1 is 16 vs 8"
    ]


def test_exposed_params_take_inner_declarations_and_set_every_target() -> None:
    g = Graph()
    blk, expose = basic_block(down=False)
    d = g.add_block(blk, expose)
    p = d.spec.param("channels")
    assert (p.type, p.default, p.min) == ("int", 64, 1)
    nid = g.add("BasicBlock")  # defaults: the inner current values
    assert g.nodes[nid].params == {"channels": 64}
    with pytest.raises(GraphError, match="at least 1"):
        g.add("BasicBlock", channels=0)
    with pytest.raises(GraphError, match="no parameter 'width'"):
        g.add("BasicBlock", width=3)
    inner = d.instantiate({"channels": 32})
    assert inner.by_name("conv1").params["out_channels"] == 32
    assert inner.by_name("conv2").params["out_channels"] == 32
    # ports: one per Input, one per Output, named after them
    assert [port.name for port in d.spec.inputs] == ["x"]
    assert [port.name for port in d.spec.outputs] == ["out"]


def test_one_block_serves_any_width_and_editing_the_source_graph_changes_nothing() -> None:
    g = Graph()
    blk, expose = basic_block(down=False)
    g.add_block(blk, expose)
    blk.add("ReLU", name="extra")  # after registration: not part of the block
    x = g.add("Input", shape=[8, 6, 6])
    y = chain(g, x, ("BasicBlock", "a", {"channels": 8}))
    x2 = g.add("Input", name="x2", shape=[24, 3, 3])
    y2 = chain(g, x2, ("BasicBlock", "b", {"channels": 24}))
    g.connect(y, g.add("Output", name="o1"))
    g.connect(y2, g.add("Output", name="o2"))
    rep = check(g)
    assert rep.ok, rep.errors
    assert rep.shapes[y] == (8, 6, 6) and rep.shapes[y2] == (24, 3, 3)
    assert len(rep.inner[y].graph.nodes) == len(blk.nodes) - 1


def test_an_error_inside_an_instance_names_the_instance_and_the_inner_node() -> None:
    g = Graph()
    g.add_block(*basic_block(down=False))
    x = g.add("Input", shape=[32, 8, 8])
    chain(g, x, ("BasicBlock", "layer1_0", {"channels": 64}))
    rep = check(g)
    assert [d.message for d in rep.errors] == [
        "layer1_0 › add: cannot broadcast [B,64,8,8] with [B,32,8,8]: dimension 1 is 64 vs 32"
    ]
    assert rep.errors[0].node == g.by_name("layer1_0").id
    with pytest.raises(GraphError, match="layer1_0 › add"):
        compile_model(g)


def test_nested_blocks_nest_their_classes_and_keys() -> None:
    inner, expose = basic_block(down=False)
    stage = Graph(name="Stage")
    stage.add_block(inner, expose)
    x = stage.add("Input", name="x")
    chain(
        stage,
        x,
        ("BasicBlock", "b0", {"channels": 16}),
        ("BasicBlock", "b1", {"channels": 16}),
        ("Output", "out", {}),
    )
    g = Graph(name="net")
    g.add_block(stage, {"width": ["b0.channels", "b1.channels"]})
    assert set(g.blocks) == {"Stage", "BasicBlock"}
    x = g.add("Input", shape=[8, 4, 4])
    s1 = chain(g, x, ("Stage", "s1", {"width": 8}))
    s2 = chain(g, s1, ("Stage", "s2", {"width": 8}))
    rep = check(g)
    assert rep.ok, rep.errors
    b0 = rep.inner[s2].inner[rep.inner[s2].graph.by_name("b0").id]
    assert b0.shapes[b0.graph.by_name("conv2").id] == (8, 4, 4)
    assert rep.total_params == 2 * 2 * (2 * 8 * 8 * 9 + 4 * 8)
    model = compile_model(g, rep)
    assert "s1.b0.conv1.weight" in model.state_dict()
    assert "self.b0 = BasicBlock(channels=width)" in model.code
    assert sum(p.numel() for p in model.parameters()) == rep.total_params
    assert model(torch.randn(2, 8, 4, 4)).shape == (2, 8, 4, 4)


def test_a_block_that_contains_itself_is_an_error() -> None:
    a = Graph(name="A")
    x = a.add("Input")
    chain(a, x, ("ReLU", "r", {}), ("Output", "out", {}))
    with pytest.raises(GraphError, match="contains itself"):
        a.add_block(a)
    b = Graph(name="B")
    b.add_block(a)
    chain(b, b.add("Input"), ("A", "inner_a", {}), ("Output", "out", {}))
    a2 = Graph(name="A")  # a new A that uses B, which uses the old A
    a2.add_block(b)
    chain(a2, a2.add("Input"), ("B", "inner_b", {}), ("Output", "out", {}))
    with pytest.raises(GraphError, match="block A contains itself"):
        Graph().add_block(a2)
    # and in a file: A uses B, B uses A
    body = lambda t: {  # noqa: E731
        "nodes": [
            {"id": "x", "type": "Input"},
            {"id": "n", "type": t},
            {"id": "o", "type": "Output"},
        ],
        "edges": [
            {"from": "x", "from_port": "output", "to": "n", "to_port": "x"},
            {"from": "n", "from_port": "o", "to": "o", "to_port": "input"},
        ],
    }
    doc = {
        "format": "torchwire-project",
        "version": 4,
        "nodes": [],
        "edges": [],
        "blocks": [
            {"name": "A", "version": 1, "expose": {}, "graph": body("B")},
            {"name": "B", "version": 1, "expose": {}, "graph": body("A")},
        ],
    }
    with pytest.raises(ProjectError, match=r"block A contains itself \(A › B › A\)"):
        loads_project(json.dumps(doc))


def test_block_definition_errors() -> None:
    blk = Graph(name="Conv2d")
    chain(blk, blk.add("Input"), ("Output", "out", {}))
    with pytest.raises(BlockError, match="already a node type of the catalog"):
        define(blk)
    blk.name = "Mine"
    with pytest.raises(BlockError, match="no inner node named 'conv9'"):
        define(blk, {"c": ["conv9.out_channels"]})
    no_in = Graph(name="NoIn")
    no_in.add("Output")
    with pytest.raises(BlockError, match="no Input node"):
        define(no_in)
    g = Graph()
    g.add_block(*basic_block(False))
    other = Graph(name="BasicBlock")
    chain(other, other.add("Input"), ("Output", "out", {}))
    with pytest.raises(GraphError, match="a different block named 'BasicBlock'"):
        g.add_block(other)


def test_instances_whose_forward_differs_get_a_class_each() -> None:
    blk = Graph(name="Cat")
    x = blk.add("Input", name="x")
    cat = blk.add("Concat", name="cat")
    blk.connect(x, cat)
    blk.connect(chain(blk, x, ("ReLU", "relu", {})), cat)
    chain(blk, cat, ("Output", "out", {}))
    g = Graph()
    g.add_block(blk, {"dim": ["cat.dim"]})
    y = chain(g, g.add("Input", shape=[2, 3]), ("Cat", "c1", {"dim": 1}), ("Cat", "c2", {"dim": 2}))
    rep = check(g)
    assert rep.shapes[y] == (4, 6)
    model = compile_model(g, rep)
    assert "class Cat(nn.Module)" in model.code and "class Cat_2(nn.Module)" in model.code
    assert model(torch.ones(1, 2, 3)).shape == (1, 4, 6)


def test_project_round_trip_with_blocks(tmp_path: Path) -> None:
    g = resnet18(size=32)
    text = to_json(g)
    doc = json.loads(text)
    assert doc["version"] == 4
    assert [b["name"] for b in doc["blocks"]] == ["BasicBlock", "DownBlock"]
    assert doc["blocks"][0]["expose"] == {"channels": ["conv1.out_channels", "conv2.out_channels"]}
    g2 = loads_project(text)
    assert to_json(g2) == text
    rep = check(g2)
    assert rep.ok and rep.total_params == 11_689_512
    # an older file loads with no blocks; a "blocks" section needs version 4
    old = {"format": "torchwire-project", "version": 2, "nodes": [], "edges": []}
    assert loads_project(json.dumps(old)).blocks == {}
    with pytest.raises(ProjectError, match="'blocks' needs schema version 4"):
        loads_project(json.dumps({**old, "version": 3, "blocks": doc["blocks"]}))
    bad = json.loads(text)
    bad["blocks"][0]["expose"] = {"channels": "conv1.out_channels"}
    with pytest.raises(ProjectError, match=r"must be a list of 'node\.param'"):
        loads_project(json.dumps(bad))
    bad = json.loads(text)
    bad["blocks"][0]["expose"] = {"channels": ["nope.out_channels"]}
    with pytest.raises(ProjectError, match="no inner node named 'nope'"):
        loads_project(json.dumps(bad))
    bad = json.loads(text)
    bad["blocks"][1]["name"] = "BasicBlock"
    with pytest.raises(ProjectError, match="defined twice"):
        loads_project(json.dumps(bad))


def test_block_library_save_load_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    stage = Graph(name="Stage")
    stage.add_block(*basic_block(False))
    chain(stage, stage.add("Input", name="x"), ("BasicBlock", "b0", {}), ("Output", "out", {}))
    stage.exposed = {"width": ["b0.channels"]}
    se, se_expose = squeeze_excitation()
    se.exposed = se_expose
    path = tmp_path / "lib.twblocks.json"
    save_library(path, [stage, se])
    doc = json.loads(path.read_text())
    assert doc["format"] == "torchwire-blocks" and doc["version"] == 1
    assert [b["name"] for b in doc["blocks"]] == ["BasicBlock", "Stage", "SqueezeExcite"]
    blocks = {b.name: b for b in load_library(path)}
    assert set(blocks) == {"BasicBlock", "Stage", "SqueezeExcite"}
    g = Graph()
    g.add_block(blocks["Stage"])  # its exposed map and the BasicBlock it uses come along
    y = chain(g, g.add("Input", shape=[4, 6, 6]), ("Stage", "s", {"width": 4}))
    assert check(g).shapes[y] == (4, 6, 6)
    assert cli_main(["blocks", "list", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Stage (version 1): inputs x; width" in out
    path.write_text('{"format": "torchwire-blocks", "version": 1, "blocks": [{"name": 3}]}')
    with pytest.raises(ProjectError, match="'name' must be non-empty text"):
        load_library(path)
    assert cli_main(["blocks", "list", str(path)]) == 2


@pytest.mark.slow
def test_exported_python_of_a_block_model_runs_and_matches(tmp_path: Path) -> None:
    from engine.export.python import export_python

    g = Graph(name="small")
    g.add_block(*basic_block(False))
    se, se_expose = squeeze_excitation()
    g.add_block(se, se_expose)
    chain(
        g,
        g.add("Input", name="x", shape=[16, 6, 6]),
        ("BasicBlock", "b", {"channels": 16}),
        ("SqueezeExcite", "se", {"channels": 16}),
        ("Flatten", "flat", {}),
    )
    path = tmp_path / "small.py"
    rep = export_python(g, path, batch_sizes=(2,))
    assert rep.ok, str(rep)
    text = path.read_text()
    assert "class BasicBlock(nn.Module)" in text and "class SqueezeExcite(nn.Module)" in text


@pytest.mark.slow
def test_onnx_export_of_a_block_model_matches_onnxruntime(tmp_path: Path) -> None:
    import numpy as np
    import onnxruntime as ort

    from engine.export.onnx import export_onnx

    g = Graph(name="small")
    se, se_expose = squeeze_excitation()
    g.add_block(se, se_expose)
    chain(
        g,
        g.add("Input", name="x", shape=[8, 4, 4]),
        ("SqueezeExcite", "se", {"channels": 8, "squeeze": 2}),
        ("Flatten", "flat", {}),
    )
    model = compile_model(g).eval()
    out = tmp_path / "m.onnx"
    rep = export_onnx(model, out, batch_sizes=(2,))
    assert rep.ok, str(rep)
    x = torch.randn(3, 8, 4, 4)
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        want = model(x).numpy()
    assert np.abs(got - want).max() <= 1e-5


def test_onnx_refuses_a_block_by_its_inner_node_that_cannot_export() -> None:
    from engine.export.onnx import unexportable
    from engine.export.source import resolve

    blk = Graph(name="Pair")
    x = blk.add("Input", name="x")
    bil = blk.add("Bilinear", name="bil", out_features=3)
    blk.connect(x, bil)
    blk.connect(x, bil)
    chain(blk, bil, ("Output", "out", {}))
    g = Graph()
    g.add_block(blk)
    chain(g, g.add("Input", shape=[4]), ("Pair", "pair", {}))
    src = resolve(g, None, None)
    assert unexportable(src, "dynamo") == []
    [(nid, msg)] = unexportable(src, "torchscript")
    assert nid == g.by_name("pair").id
    assert msg.startswith("node 'pair' (Pair)") and "bil › the TorchScript exporter has no" in msg
