"""The node types of issue 14: each compiled node computes exactly what the torch op does;
multi-output nodes, optional inputs, broadcasting errors in words; the lean forward."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from engine import Graph, check, compile_model
from engine.build.compile import generate_source
from tests.support.paths import ROOT


def build(type_name: str, shapes, params=None, ports=("output",), in_ports=None, dtypes=None):
    """Inputs (one per shape; a None shape skips an optional port) → node → one Output per
    port in ``ports``; returns the compiled model and its check report."""
    g = Graph(name="case")
    node = g.add(type_name, **(params or {}))
    spec = g.nodes[node].spec
    names = in_ports or [p.name for p in spec.inputs]
    if spec.inputs[0].multi:
        names = [spec.inputs[0].name] * len(shapes)
    for i, (shape, port) in enumerate(zip(shapes, names, strict=False)):
        if shape is None:
            continue
        dt = (dtypes or {}).get(port, "float32")
        x = g.add("Input", shape=list(shape), name=f"in{i}", dtype=dt)
        g.connect(x, node, dst_port=spec.inputs[0].name if spec.inputs[0].multi else port)
    for p in ports:
        o = g.add("Output", name=f"out_{p}")
        g.connect(node, o, src_port=p)
    rep = check(g)
    assert rep.ok, [d.message for d in rep.errors]
    model = compile_model(g, rep).eval()
    return model, rep, node


def run(model, *xs):
    with torch.no_grad():
        return model(*xs)


@pytest.mark.parametrize(
    ("op", "fn"),
    [
        ("mean", lambda x: x.mean(dim=(2, 3))),
        ("sum", lambda x: x.sum(dim=(2, 3))),
        ("amax", lambda x: x.amax(dim=(2, 3))),
        ("amin", lambda x: x.amin(dim=(2, 3))),
        ("prod", lambda x: x.prod(dim=3).prod(dim=2)),
        ("std", lambda x: x.std(dim=(2, 3))),
        ("var", lambda x: x.var(dim=(2, 3))),
        ("logsumexp", lambda x: torch.logsumexp(x, dim=(2, 3))),
    ],
)
def test_reduce_equals_torch(op, fn) -> None:
    model, rep, node = build("Reduce", [(3, 4, 5)], {"op": op, "dim": [2, 3]})
    x = torch.randn(2, 3, 4, 5)
    torch.testing.assert_close(run(model, x), fn(x))
    assert rep.shapes[node] == (3,)
    keep, _, _ = build("Reduce", [(3, 4, 5)], {"op": op, "dim": -1, "keepdim": True})
    assert run(keep, x).shape == (2, 3, 4, 1)


@pytest.mark.parametrize(
    ("op", "params", "fn"),
    [
        ("abs", {}, torch.abs),
        ("exp", {}, torch.exp),
        ("square", {}, torch.square),
        ("neg", {}, torch.neg),
        ("clamp", {"min": -0.5, "max": 0.25}, lambda x: torch.clamp(x, -0.5, 0.25)),
        ("clamp", {"max": 0.0}, lambda x: torch.clamp(x, max=0.0)),
        ("pow", {"value": 3.0}, lambda x: x**3),
        ("scale", {"value": 0.5}, lambda x: x * 0.5),
        ("shift", {"value": -1.0}, lambda x: x - 1.0),
    ],
)
def test_elementwise_equals_torch(op, params, fn) -> None:
    model, _, _ = build("Elementwise", [(6,)], {"op": op, **params})
    x = torch.randn(4, 6)
    torch.testing.assert_close(run(model, x), fn(x))


def test_elementwise_menu_is_fixed_and_clamp_needs_a_bound() -> None:
    g = Graph()
    with pytest.raises(Exception, match="is not one of"):
        g.add("Elementwise", op="__import__('os')")
    x = g.add("Input", shape=[3])
    e = g.add("Elementwise", op="clamp")
    g.connect(x, e)
    assert "clamp needs min, max or both" in check(g).errors[0].message


def test_broadcasting_arithmetic_equals_torch() -> None:
    a, b = torch.randn(2, 4, 3, 3), torch.randn(2, 4, 1, 1)
    for t, fn in (("Add", torch.add), ("Mul", torch.mul), ("Sub", torch.sub), ("Div", torch.div)):
        model, rep, node = build(t, [(4, 3, 3), (4, 1, 1)])
        torch.testing.assert_close(run(model, a, b), fn(a, b))
        assert rep.shapes[node] == (4, 3, 3)
    m, rep, node = build("MatMul", [(5, 8), (8, 3)])
    x, y = torch.randn(2, 5, 8), torch.randn(2, 8, 3)
    torch.testing.assert_close(run(m, x, y), x @ y)
    assert rep.shapes[node] == (5, 3)


def test_shape_errors_are_in_words() -> None:
    g = Graph()
    x = g.add("Input", shape=[64, 8, 8])
    y = g.add("Input", shape=[32, 1, 1])
    mul = g.add("Mul")
    g.connect(x, mul)
    g.connect(y, mul)
    msg = check(g).errors[0].message
    assert "cannot broadcast [B,64,8,8] with [B,32,1,1]: dimension 1 is 64 vs 32" in msg
    g2 = Graph()
    a, b = g2.add("Input", shape=[4, 8]), g2.add("Input", shape=[6, 5])
    mm = g2.add("MatMul")
    g2.connect(a, mm)
    g2.connect(b, mm, dst_port="other")
    assert "8 columns vs 6 rows" in check(g2).errors[0].message


def test_slice_and_select_equal_indexing() -> None:
    x = torch.randn(2, 4, 9)
    m, _, _ = build("Slice", [(4, 9)], {"dim": 2, "start": 1, "end": 8, "step": 3})
    torch.testing.assert_close(run(m, x), x[:, :, 1:8:3])
    m, _, _ = build("Slice", [(4, 9)], {"dim": -2, "start": -2})
    torch.testing.assert_close(run(m, x), x[:, -2:, :])
    m, rep, node = build("Select", [(4, 9)], {"dim": 1, "index": 0})
    torch.testing.assert_close(run(m, x), x[:, 0])
    assert rep.shapes[node] == (9,)


def test_split_and_chunk_have_several_outputs() -> None:
    x = torch.randn(2, 3, 10)
    m, rep, node = build(
        "SplitTensor", [(3, 10)], {"dim": 2, "sizes": [2, 3, 5]}, ("output0", "output2")
    )
    a, c = run(m, x)
    ref = torch.split(x, [2, 3, 5], dim=2)
    torch.testing.assert_close(a, ref[0])
    torch.testing.assert_close(c, ref[2])
    assert rep.port_shapes[(node, "output1")] == (3, 3)
    assert rep.shapes[node] == rep.port_shapes[(node, "output0")] == (3, 2)
    assert "= torch.split(" in m.code and ", _, " in m.code  # unused output1 is not kept
    m, rep, node = build("Chunk", [(3, 10)], {"chunks": 2, "dim": -1}, ("output0", "output1"))
    a, b = run(m, x)
    torch.testing.assert_close(b, x[..., 5:])
    assert "x, x1 = torch.chunk(in0, 2, dim=-1)" in m.code


def test_an_output_port_its_parameters_do_not_make_is_an_error() -> None:
    g = Graph()
    x = g.add("Input", shape=[6])
    c = g.add("Chunk", chunks=2, dim=1)
    g.connect(x, c)
    o = g.add("Output")
    g.connect(c, o, src_port="output3")
    msg = check(g).errors[0].message
    assert "chunk.output3 is not an output its parameters make (it has output0, output1)" in msg
    g.set(c, chunks=4)
    assert "makes 3 chunks, not 4" in check(g).errors[0].message  # torch.chunk's rule


def test_parameter_is_a_learned_tensor_over_the_batch() -> None:
    m, rep, node = build("Parameter", [(5, 8)], {"shape": [1, 8], "init": "trunc_normal"})
    y = run(m, torch.randn(3, 5, 8))
    assert y.shape == (3, 1, 8) and torch.equal(y[0], y[2])
    w = getattr(m, node).weight
    assert w.shape == (1, 8) and w.abs().max() <= 0.04 and rep.total_params == 8
    zeros, _, _ = build("Parameter", [(2,)], {"shape": [3]})
    assert torch.equal(run(zeros, torch.randn(2, 2)), torch.zeros(2, 3))


def test_sinusoidal_encoding_matches_the_paper() -> None:
    m, rep, _ = build("SinusoidalPositionalEncoding", [(6, 8)])
    x = torch.randn(2, 6, 8)
    pe = torch.zeros(6, 8)
    for t in range(6):
        for i in range(0, 8, 2):
            pe[t, i] = math.sin(t / 10000 ** (i / 8))
            pe[t, i + 1] = math.cos(t / 10000 ** (i / 8))
    torch.testing.assert_close(run(m, x), x + pe)
    assert rep.total_params == 0 and not m.state_dict()


def test_hardsigmoid_and_3d_layers_equal_torch() -> None:
    x = torch.randn(2, 3, 4, 6, 6)
    m, _, _ = build("Hardsigmoid", [(3, 4, 6, 6)])
    torch.testing.assert_close(run(m, x), nn.functional.hardsigmoid(x))
    m, _, _ = build("MaxPool3d", [(3, 4, 6, 6)])
    torch.testing.assert_close(run(m, x), nn.functional.max_pool3d(x, 2))
    m, _, _ = build("AvgPool3d", [(3, 4, 6, 6)])
    torch.testing.assert_close(run(m, x), nn.functional.avg_pool3d(x, 2))
    m, _, node = build("BatchNorm3d", [(3, 4, 6, 6)])
    ref = nn.BatchNorm3d(3).eval()
    ref.load_state_dict(getattr(m, node).state_dict())
    torch.testing.assert_close(run(m, x), ref(x))
    m, rep, node = build("ConvTranspose3d", [(3, 4, 6, 6)], {"out_channels": 2, "stride": 2})
    ref = nn.ConvTranspose3d(3, 2, 3, stride=2)
    ref.load_state_dict(getattr(m, node).state_dict())
    torch.testing.assert_close(run(m, x), ref(x))
    assert rep.shapes[node] == (2, 9, 13, 13)


def test_upsample_by_size_with_align_corners() -> None:
    x = torch.randn(2, 3, 4, 5)
    params = {"size": [7, 9], "scale_factor": None, "mode": "bilinear", "align_corners": True}
    m, rep, node = build("Upsample", [(3, 4, 5)], params)
    ref = nn.functional.interpolate(x, size=(7, 9), mode="bilinear", align_corners=True)
    torch.testing.assert_close(run(m, x), ref)
    assert rep.shapes[node] == (3, 7, 9)
    g = Graph()
    i = g.add("Input", shape=[3, 4, 5])
    u = g.add("Upsample", size=[8, 8])  # and the default scale_factor: two answers
    g.connect(i, u)
    assert "give exactly one of size and scale_factor" in check(g).errors[0].message


def test_cross_attention_masks_and_weights() -> None:
    q, kv = torch.randn(2, 4, 8), torch.randn(2, 6, 8)
    pad = torch.zeros(2, 6, dtype=torch.int64)
    pad[0, 4:] = 1
    m, rep, node = build(
        "MultiheadAttention",
        [(4, 8), (6, 8), None, (6,)],
        {"num_heads": 2},
        ("output", "weights"),
        dtypes={"key_padding_mask": "int64"},
    )
    y, w = run(m, q, kv, pad)
    ref = getattr(m, node)
    ry, rw = ref(q, kv, kv, key_padding_mask=pad.bool())
    torch.testing.assert_close(y, ry)
    torch.testing.assert_close(w, rw)
    assert rep.port_shapes[(node, "weights")] == (4, 6)
    assert float(w[0, :, 4:].abs().max()) == 0.0  # padding is never attended

    m, _, node = build("MultiheadAttention", [(5, 8)], {"num_heads": 2, "causal": True})
    x = torch.randn(2, 5, 8)
    mask = torch.ones(5, 5, dtype=torch.bool).triu(1)
    torch.testing.assert_close(run(m, x), getattr(m, node)(x, x, x, attn_mask=mask)[0])
    assert "need_weights=False" in m.code


def test_decoder_layer_equals_torch() -> None:
    m, rep, node = build("TransformerDecoderLayer", [(5, 8), (7, 8)], {"nhead": 2})
    tgt, mem = torch.randn(2, 5, 8), torch.randn(2, 7, 8)
    layer = getattr(m, node)
    mask = nn.Transformer.generate_square_subsequent_mask(5)
    torch.testing.assert_close(run(m, tgt, mem), layer(tgt, mem, tgt_mask=mask, tgt_is_causal=True))
    assert rep.shapes[node] == (5, 8)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_recurrent_final_states_and_initial_state(kind: str) -> None:
    lstm = kind == "LSTM"
    ports = ("output", "h_n", "c_n") if lstm else ("output", "h_n")
    shapes = [(7, 5), (4, 6), (4, 6)] if lstm else [(7, 5), (4, 6)]
    params = {"hidden_size": 6, "num_layers": 2, "bidirectional": True}
    m, rep, node = build(kind, shapes, params, ports)
    x = torch.randn(3, 7, 5)
    states = [torch.randn(3, 4, 6) for _ in shapes[1:]]
    got = run(m, x, *states)
    torch_states = [s.transpose(0, 1).contiguous() for s in states]
    layer = getattr(m, node)
    with torch.no_grad():
        y, h = layer(x, tuple(torch_states) if lstm else torch_states[0])
    hs = list(h) if lstm else [h]
    torch.testing.assert_close(got[0], y)
    for a, b in zip(got[1:], hs, strict=True):
        torch.testing.assert_close(a, b.transpose(0, 1))  # batch first, as every tensor
    assert rep.port_shapes[(node, "h_n")] == (4, 6)
    # without an initial state, only the final state read
    m, _, node = build(kind, [(7, 5)], {"hidden_size": 6}, ("h_n",))
    with torch.no_grad():
        ref = getattr(m, node)(x)[1]
    ref = ref[0] if lstm else ref
    torch.testing.assert_close(run(m, x), ref.transpose(0, 1))


def test_squeeze_excitation_with_broadcasting_mul() -> None:
    g = Graph(name="se")
    x = g.add("Input", shape=[16, 8, 8])
    pool = g.add("AdaptiveAvgPool2d")
    fc1 = g.add("Conv2d", out_channels=4, kernel_size=1)
    act = g.add("ReLU")
    fc2 = g.add("Conv2d", out_channels=16, kernel_size=1)
    gate = g.add("Hardsigmoid")
    mul = g.add("Mul")
    for a, b in (
        (x, pool),
        (pool, fc1),
        (fc1, act),
        (act, fc2),
        (fc2, gate),
        (x, mul),
        (gate, mul),
    ):
        g.connect(a, b)
    model = compile_model(g).eval()
    xs = torch.randn(2, 16, 8, 8)
    s = nn.functional.hardsigmoid(
        getattr(model, fc2)(torch.relu(getattr(model, fc1)(xs.mean((2, 3), keepdim=True))))
    )
    torch.testing.assert_close(run(model, xs), xs * s)


def test_transformer_classifier_with_cls_token_and_learned_positions() -> None:
    g = Graph(name="vit")
    x = g.add("Input", shape=[6, 16])
    pos = g.add("Parameter", shape=[6, 16], init="trunc_normal")
    add = g.add("Add")
    cls = g.add("Parameter", shape=[1, 16], init="zeros")
    cat = g.add("Concat", dim=1)
    enc = g.add("TransformerEncoderLayer", nhead=2, dim_feedforward=32, dropout=0.0)
    first = g.add("Select", dim=1, index=0)
    head = g.add("Linear", out_features=3)
    g.connect(x, pos)
    g.connect(x, add)
    g.connect(pos, add)
    g.connect(x, cls)
    g.connect(cls, cat)
    g.connect(add, cat)
    for a, b in ((cat, enc), (enc, first), (first, head)):
        g.connect(a, b)
    rep = check(g)
    assert rep.ok, rep.errors
    assert rep.shapes[cat] == (7, 16) and rep.shapes[head] == (3,)
    model = compile_model(g, rep).eval()
    xs = torch.randn(2, 6, 16)
    p, c = getattr(model, pos).weight, getattr(model, cls).weight
    seq = torch.cat([c.expand(2, 1, 16), xs + p], dim=1)
    ref = getattr(model, head)(getattr(model, enc)(seq)[:, 0])
    torch.testing.assert_close(run(model, xs), ref)


def test_lean_forward_releases_and_reuses_names() -> None:
    from engine.graph.zoo import resnet18

    g = resnet18(image_size=32)
    src, _ = generate_source(g)
    forward = src[src.index("def forward") :]
    assert "        x = self.conv1(image)\n        x = self.conv1_bn(x)\n" in forward
    assert "del x" in forward
    names = {ln.split(" = ")[0].strip() for ln in forward.splitlines() if " = " in ln}
    assert names <= {"x", "x1", "x2"}  # a small pool, not one name per node
    model = compile_model(g).eval()
    # the same numbers as running the graph node by node, every result kept
    attr = {nid: a for a, nid in model.torchwire.node_of_attr.items()}
    xs = torch.randn(2, 3, 32, 32)
    env: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for nid in check(g).order:
            node, ins = g.nodes[nid], [env[e.src] for e in g.in_edges(nid)]
            if node.type == "Input":
                env[nid] = xs
            elif node.type == "Add":
                env[nid] = ins[0] + ins[1]
            else:
                env[nid] = getattr(model, attr[nid])(ins[0])
        assert torch.equal(model(xs), env[check(g).outputs[0]])


def test_node_reference_page_is_up_to_date() -> None:

    from engine.catalog.reference import markdown

    page = ROOT / "docs" / "nodes.md"
    assert page.read_text(encoding="utf-8") == markdown(), (
        "regenerate: torchwire nodes --markdown > docs/nodes.md"
    )
    text = markdown()
    for t in ("SplitTensor", "Chunk", "Reduce", "Parameter", "TransformerDecoderLayer"):
        assert f"### {t}\n" in text
    assert "(https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html)" in text


@pytest.mark.slow
def test_multi_output_model_exports_to_onnx(tmp_path) -> None:
    from engine import export_onnx

    g = Graph(name="two outputs")
    x = g.add("Input", shape=[5, 8])
    att = g.add("MultiheadAttention", num_heads=2)
    rnn = g.add("GRU", hidden_size=4)
    g.connect(x, att)
    g.connect(att, rnn)
    for port, node, name in (("weights", att, "w"), ("h_n", rnn, "h")):
        o = g.add("Output", name=name)
        g.connect(node, o, src_port=port)
    rep = export_onnx(g, tmp_path / "m.onnx")
    assert rep.ok, str(rep)
