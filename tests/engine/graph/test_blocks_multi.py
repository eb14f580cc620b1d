"""Blocks with several outputs, and multi-output / optional-input nodes inside blocks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from engine.analysis.check import check
from engine.build.compile import compile_model, generate_source
from engine.graph import Graph
from engine.project import loads_project, to_json
from tests.support.block_models import chain


def encoder() -> tuple[Graph, dict[str, list[str]]]:
    """A U-Net encoder stage: features for the next stage (pooled) and the skip tensor."""
    b = Graph(name="Encoder")
    x = b.add("Input", name="x")
    act = chain(
        b,
        x,
        ("Conv2d", "conv", {"out_channels": 8, "kernel_size": 3, "padding": 1}),
        ("ReLU", "relu", {}),
    )
    chain(b, act, ("MaxPool2d", "pool", {"kernel_size": 2}), ("Output", "feats", {}))
    chain(b, act, ("Output", "skip", {}))
    return b, {"channels": ["conv.out_channels"]}


def unet_ish() -> Graph:
    """Two encoder stages; the first's skip is not read (``_``), the second's is."""
    g = Graph(name="unet_ish")
    g.add_block(*encoder())
    x = g.add("Input", name="x", shape=[3, 16, 16])
    enc1 = g.add("Encoder", name="enc1", channels=8)
    enc2 = g.add("Encoder", name="enc2", channels=16)
    g.connect(x, enc1)
    g.connect(enc1, enc2, src_port="feats")
    up = g.add("Upsample", name="up", scale_factor=2.0)
    g.connect(enc2, up, src_port="feats")
    add = g.add("Add", name="add")
    g.connect(up, add)
    g.connect(enc2, add, src_port="skip")
    chain(g, add, ("Output", "out", {}))
    return g


class RefEncoder(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        skip = torch.relu(self.conv(x))
        return nn.functional.max_pool2d(skip, 2), skip


class RefNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc1 = RefEncoder(3, 8)
        self.enc2 = RefEncoder(8, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f1, _ = self.enc1(x)
        f2, s2 = self.enc2(f1)
        return nn.functional.interpolate(f2, scale_factor=2.0) + s2


def test_a_block_with_two_outputs_has_a_port_for_each_and_their_shapes() -> None:
    g = unet_ish()
    d = g.blocks["Encoder"]
    assert [p.name for p in d.spec.outputs] == ["feats", "skip"]
    assert d.spec.multi_output
    rep = check(g)
    assert rep.ok, rep.errors
    enc1 = g.by_name("enc1").id
    enc2 = g.by_name("enc2").id
    assert rep.shape_of(enc1, "feats") == (8, 8, 8)
    assert rep.shape_of(enc1, "skip") == (8, 16, 16)
    assert rep.shape_of(enc2, "feats") == (16, 4, 4)
    assert rep.shape_of(enc2, "skip") == (16, 8, 8)
    assert rep.shapes[g.by_name("out").id] == (16, 8, 8)


def test_two_output_block_compiles_to_a_tuple_unpacked_by_the_caller() -> None:
    g = unet_ish()
    model = compile_model(g)
    code = model.code
    block_class = code.split("class UnetIsh")[0]
    assert re.search(r"return \(\w+, \w+\)", block_class)  # (feats, skip)
    assert re.search(r"\w+, _ = self\.enc1\(", code)  # the skip of enc1 is read by nothing
    assert re.search(r"\w+, \w+ = self\.enc2\(", code)
    ref = RefNet().eval()
    model.eval()
    assert set(model.state_dict()) == set(ref.state_dict())
    model.load_state_dict(ref.state_dict())
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(model(x), ref(x), atol=1e-6)


def test_two_output_block_survives_a_project_round_trip() -> None:
    g = unet_ish()
    g2 = loads_project(to_json(g))
    assert [p.name for p in g2.blocks["Encoder"].spec.outputs] == ["feats", "skip"]
    assert generate_source(g2)[0] == generate_source(g)[0]
    assert to_json(g2) == to_json(g)


@pytest.mark.slow
def test_exported_python_of_a_two_output_block_runs(tmp_path: Path) -> None:
    from engine.export.python import export_python

    path = tmp_path / "net.py"
    rep = export_python(unet_ish(), path, batch_sizes=(2,))  # runs it in a fresh Python
    assert rep.ok, str(rep)
    assert ", _ = self.enc1(" in path.read_text()


@pytest.mark.slow
def test_onnx_export_of_a_two_output_block_matches_onnxruntime(tmp_path: Path) -> None:
    import numpy as np
    import onnxruntime as ort

    from engine.export.onnx import export_onnx

    model = compile_model(unet_ish()).eval()
    out = tmp_path / "m.onnx"
    rep = export_onnx(model, out, batch_sizes=(2,))
    assert rep.ok, str(rep)
    x = torch.randn(3, 3, 16, 16)
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        want = model(x).numpy()
    assert np.abs(got - want).max() <= 1e-5


# -- multi-output and optional-input nodes inside a block ------------------------------------
def gated_cross() -> Graph:
    """A GLU (Linear → Chunk → Mul with Sigmoid) then cross-attention on a context, whose
    value input is left empty (optional); the block returns the output and the weights."""
    b = Graph(name="GatedCross")
    x = b.add("Input", name="x")
    ctx = b.add("Input", name="ctx")
    lin = chain(b, x, ("Linear", "proj", {"out_features": 16}))
    chunk = b.add("Chunk", name="halves", chunks=2, dim=-1)
    b.connect(lin, chunk)
    gate = b.add("Sigmoid", name="gate")
    b.connect(chunk, gate, src_port="output1")
    mul = b.add("Mul", name="glu")
    b.connect(chunk, mul, src_port="output0")
    b.connect(gate, mul)
    att = b.add("MultiheadAttention", name="att", num_heads=2)
    b.connect(mul, att)
    b.connect(ctx, att, dst_port="key")
    chain(b, att, ("Output", "out", {}))
    w = b.add("Output", name="attn")
    b.connect(att, w, src_port="weights")
    g = Graph(name="gated")
    g.add_block(b)
    xi = g.add("Input", name="x", shape=[5, 8])
    ci = g.add("Input", name="ctx", shape=[7, 8])
    g1 = g.add("GatedCross", name="g1")
    g2 = g.add("GatedCross", name="g2")
    g.connect(xi, g1, dst_port="x")
    g.connect(ci, g1, dst_port="ctx")
    g.connect(g1, g2, src_port="out", dst_port="x")
    g.connect(ci, g2, dst_port="ctx")
    chain(g, g2, ("Output", "y", {}))
    wo = g.add("Output", name="w")
    g.connect(g2, wo, src_port="attn")
    return g


class RefGatedCross(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(8, 16)
        self.att = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x: torch.Tensor, ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = torch.chunk(self.proj(x), 2, dim=-1)
        return self.att(a * torch.sigmoid(b), ctx, ctx)


class RefGated(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.g1 = RefGatedCross()
        self.g2 = RefGatedCross()

    def forward(self, x: torch.Tensor, ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, _ = self.g1(x, ctx)
        return self.g2(y, ctx)


def test_chunk_and_optional_inputs_inside_a_block_compile_like_hand_written() -> None:
    g = gated_cross()
    rep = check(g)
    assert rep.ok, rep.errors
    g2 = g.by_name("g2").id
    assert rep.shape_of(g2, "out") == (5, 8) and rep.shape_of(g2, "attn") == (5, 7)
    model = compile_model(g).eval()
    assert "torch.chunk(" in model.code and ", _ = self.g1(" in model.code
    ref = RefGated().eval()
    assert set(model.state_dict()) == set(ref.state_dict())
    model.load_state_dict(ref.state_dict())
    x, ctx = torch.randn(3, 5, 8), torch.randn(3, 7, 8)
    with torch.no_grad():
        got, want = model(x, ctx), ref(x, ctx)
    assert len(got) == 2
    for a, b in zip(got, want, strict=True):
        assert torch.allclose(a, b, atol=1e-6)


# -- lints inside blocks ------------------------------------------------------------------------
def low_rank(silence_inner: bool = False) -> Graph:
    """A block whose two Linear layers collapse into one (linear-collapse), used twice."""
    b = Graph(name="LowRank")
    x = b.add("Input", name="x")
    chain(
        b,
        x,
        ("Linear", "fc1", {"out_features": 4}),
        ("Linear", "fc2", {"out_features": 8}),
        ("Output", "out", {}),
    )
    if silence_inner:
        b.silence(b.by_name("fc2").id, "linear-collapse", "a deliberate factorization")
    g = Graph(name="m")
    g.add_block(b)
    chain(
        g,
        g.add("Input", name="x", shape=[8]),
        ("LowRank", "lr1", {}),
        ("ReLU", "act", {}),
        ("LowRank", "lr2", {}),
        ("Output", "y", {}),
    )
    return g


def test_a_lint_inside_a_block_is_reported_once_on_its_first_instance() -> None:
    g = low_rank()
    rep = check(g)
    found = [d for d in rep.warnings if d.lint == "linear-collapse"]
    assert len(found) == 1  # the definition's problem, not one per instance
    [d] = found
    assert d.node == g.by_name("lr1").id
    assert d.message.startswith("lr1 › fc2: fc1 and fc2 are linear layers")
    assert d.fix is None  # a fix would edit the definition, not this instance


def test_a_lint_inside_a_block_is_silenced_on_the_inner_node_or_the_instance() -> None:
    rep = check(low_rank(silence_inner=True))
    assert not [d for d in rep.warnings if d.lint == "linear-collapse"]
    assert [d.silenced for d in rep.silenced] == ["a deliberate factorization"]
    g = low_rank()
    g.silence(g.by_name("lr1").id, "linear-collapse", "on purpose")
    rep = check(g)
    assert not [d for d in rep.warnings if d.lint == "linear-collapse"]
    assert [d.silenced for d in rep.silenced] == ["on purpose"]
    assert rep.ok


def test_a_lint_inside_a_nested_block_names_the_whole_path() -> None:
    inner = low_rank().blocks["LowRank"].graph.copy()
    outer = Graph(name="Outer")
    outer.add_block(inner)
    chain(outer, outer.add("Input", name="x"), ("LowRank", "core", {}), ("Output", "out", {}))
    g = Graph(name="m")
    g.add_block(outer)
    chain(g, g.add("Input", name="x", shape=[8]), ("Outer", "o1", {}), ("Output", "y", {}))
    [d] = [d for d in check(g).warnings if d.lint == "linear-collapse"]
    assert d.node == g.by_name("o1").id
    assert d.message.startswith("o1 › core › fc2: ")


# -- errors at run time ---------------------------------------------------------------------------
def test_an_error_inside_a_block_names_the_instance_and_the_inner_node() -> None:
    from engine.build.compile import exception_path, node_for_exception

    g = low_rank()
    model = compile_model(g)
    with pytest.raises(RuntimeError) as err:
        model(torch.randn(2, 5))  # 5 features where the block's fc1 takes 8
    assert node_for_exception(model, err.value) == g.by_name("lr1").id
    assert exception_path(model, err.value) == ["lr1", "fc1"]

    outer = Graph(name="Outer")
    outer.add_block(g.blocks["LowRank"].graph.copy())
    chain(outer, outer.add("Input", name="x"), ("LowRank", "core", {}), ("Output", "out", {}))
    top = Graph(name="m")
    top.add_block(outer)
    chain(top, top.add("Input", name="x", shape=[8]), ("Outer", "o1", {}), ("Output", "y", {}))
    model = compile_model(top)
    with pytest.raises(RuntimeError) as err:
        model(torch.randn(2, 3))
    assert exception_path(model, err.value) == ["o1", "core", "fc1"]
