"""Shape check: per-node shapes, counts and problems in the user's terms."""

from __future__ import annotations

import torch

from engine import Graph, check, compile_model
from engine.zoo import basic_block, resnet18


def test_resnet18_has_torchvisions_exact_parameter_count() -> None:
    g = resnet18()
    rep = check(g)
    assert rep.ok, [d.message for d in rep.errors]
    assert rep.total_params == 11_689_512
    fc = g.by_name("fc").id
    assert rep.shapes[fc] == (1000,)
    # torchvision reports 1.814 GMACs for ResNet-18 at 224×224.
    assert 1.80e9 < rep.total_macs < 1.83e9


def test_resnet18_compiles_to_n_by_1000() -> None:
    g = resnet18(image_size=64)
    model = compile_model(g).eval()
    with torch.no_grad():
        y = model(torch.randn(2, 3, 64, 64))
    assert y.shape == (2, 1000)
    assert "self.layer1_0_conv1 = nn.Conv2d(64, 64, 3, padding=1, bias=False)" in model.code
    assert "layer1_0_add = layer1_0_conv2_bn + maxpool" in model.code


def test_basic_block_with_projection_adds_matching_shapes() -> None:
    g = Graph()
    x = g.add("Input", shape=[16, 8, 8])
    y = basic_block(g, x, "block", 32, 2, 16)
    rep = check(g)
    assert rep.ok
    assert rep.shapes[y] == (32, 4, 4)


def test_add_with_different_inputs_names_the_dimension() -> None:
    g = Graph()
    a = g.add("Input", shape=[64, 8, 8], name="a")
    b = g.add("Input", shape=[32, 8, 8], name="b")
    add = g.add("Add", name="Add")
    g.connect(a, add)
    g.connect(b, add)
    rep = check(g)
    assert [d.message for d in rep.errors] == [
        "Add: inputs (64, 8, 8) and (32, 8, 8) differ in dimension 1"
    ]
    assert rep.errors[0].node == add


def test_unconnected_layer_says_so() -> None:
    g = Graph()
    g.add("Input", shape=[4])
    lin = g.add("Linear", name="Linear")
    rep = check(g)
    assert any(d.node == lin and d.message == "Linear: no input connected" for d in rep.errors)


def test_cycle_is_reported_on_its_nodes() -> None:
    g = Graph()
    x = g.add("Input", shape=[4, 8, 8])
    c1 = g.add("Conv2d", name="conv1", out_channels=4, padding=1)
    c2 = g.add("Conv2d", name="conv2", out_channels=4, padding=1)
    add = g.add("Add", name="add")
    g.connect(x, add)
    g.connect(add, c1)
    g.connect(c1, c2)
    g.connect(c2, add, allow_cycle=True)
    rep = check(g)
    msgs = {d.node: d.message for d in rep.errors}
    assert set(msgs) == {add, c1, c2}
    assert "cycle through conv1 → conv2 → add → conv1" in msgs[c1]


def test_errors_do_not_cascade_downstream() -> None:
    g = Graph()
    x = g.add("Input", shape=[3, 4, 4])
    c = g.add("Conv2d", name="conv", kernel_size=7)
    r = g.add("ReLU")
    g.connect(x, c)
    g.connect(c, r)
    rep = check(g)
    assert [d.node for d in rep.errors] == [c]
    assert "too small" in rep.errors[0].message
    assert r not in rep.shapes


def test_wrong_rank_and_dtype_explained() -> None:
    g = Graph()
    x = g.add("Input", shape=[784], name="x")
    c = g.add("Conv2d", name="conv")
    g.connect(x, c)
    rep = check(g)
    assert rep.errors[0].message == "conv: expects a 3-D sample, but x gives (784,) (1-D)"

    g = Graph()
    x = g.add("Input", shape=[10], name="tokens")
    e = g.add("Embedding", name="emb")
    g.connect(x, e)
    assert "set the Input's dtype to int64" in check(g).errors[0].message
    g.set(x, dtype="int64")
    rep = check(g)
    assert rep.ok and rep.shapes[e] == (10, 64)


def test_linear_after_conv_warns_and_offers_flatten() -> None:
    g = Graph()
    x = g.add("Input", shape=[1, 28, 28])
    c = g.add("Conv2d", name="conv")
    fc = g.add("Linear", name="fc")
    g.connect(x, c)
    g.connect(c, fc)
    rep = check(g)
    assert rep.ok
    (w,) = rep.warnings
    assert w.node == fc and "insert a Flatten" in w.message
    assert w.fix == {
        "action": "insert",
        "type": "Flatten",
        "src": c,
        "src_port": "output",
        "dst": fc,
        "dst_port": "input",
    }


def test_several_loose_ends_need_output_nodes() -> None:
    g = Graph()
    x = g.add("Input", shape=[4])
    a = g.add("Linear", name="a")
    b = g.add("Linear", name="b")
    g.connect(x, a)
    g.connect(x, b)
    rep = check(g)
    assert not rep.ok
    assert "mark each model output with an Output node" in rep.errors[0].message
    for n, name in ((a, "logits"), (b, "value")):
        o = g.add("Output", name=name)
        g.connect(n, o)
    rep = check(g)
    assert rep.ok and len(rep.outputs) == 2
    model = compile_model(g)
    y1, y2 = model(torch.randn(3, 4))
    assert y1.shape == y2.shape == (3, 64)
    assert "return (logits, value)" in model.code


def test_unused_branch_warns() -> None:
    g = Graph()
    x = g.add("Input", shape=[4])
    a = g.add("Linear", name="a")
    dead = g.add("Linear", name="dead")
    o = g.add("Output", name="out")
    g.connect(x, a)
    g.connect(a, o)
    g.connect(x, dead)
    rep = check(g)
    assert rep.ok
    assert [w.message for w in rep.warnings] == ["dead: output is not used"]
    assert "dead" not in compile_model(g).code


def test_macs_count_matmuls_and_convolutions() -> None:
    g = Graph()
    x = g.add("Input", shape=[1, 28, 28])
    c = g.add("Conv2d", out_channels=6, kernel_size=5, padding=2)
    g.connect(x, c)
    f = g.add("Flatten")
    g.connect(c, f)
    fc = g.add("Linear", out_features=10)
    g.connect(f, fc)
    rep = check(g)
    assert rep.macs[c] == 6 * 28 * 28 * 25
    assert rep.macs[fc] == 6 * 28 * 28 * 10
    assert rep.params[fc] == 6 * 28 * 28 * 10 + 10


def test_report_is_json_ready() -> None:
    import json

    g = resnet18(image_size=32)
    data = json.loads(json.dumps(check(g).to_dict()))
    assert data["ok"] and data["total_params"] == 11_689_512
    fc = g.by_name("fc").id
    assert data["nodes"][fc] == {
        "name": "fc",
        "type": "Linear",
        "shape": [1000],
        "dtype": "float32",
        "params": 513_000,
        "macs": 512_000,
    }
