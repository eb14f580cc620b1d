"""Shape check: per-node shapes, counts and problems in the user's terms."""

from __future__ import annotations

import importlib
import time

import pytest
import torch

from engine import Graph, GraphError, check, compile_model
from engine.analysis.check import Report, strongly_connected
from engine.graph.zoo import basic_block, resnet18
from engine.project import to_json


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
    assert "x1 = self.layer1_0_conv2_bn(x1)\n        x1 = x1 + x\n        del x\n" in model.code


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
        "Add: cannot broadcast [B,64,8,8] with [B,32,8,8]: dimension 1 is 64 vs 32"
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
    assert w.fix is not None and w.fix.label == "Insert Flatten between conv and fc"
    before = to_json(g)
    inverse = g.apply(w.fix.op)
    flat = next(n.id for n in g.nodes.values() if n.type == "Flatten")
    assert [(e.src, e.dst) for e in g.edges] == [(x, c), (c, flat), (flat, fc)]
    assert g.nodes[flat].pos[1] > max(g.nodes[c].pos[1], g.nodes[fc].pos[1])  # below the wire
    assert not [d for d in check(g).warnings if "Flatten" in d.message]  # the next lint may speak
    g.apply(inverse)
    assert to_json(g) == before
    assert w.to_dict()["fix"] == {"label": w.fix.label, "op": w.fix.op.to_dict()}


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
    assert "return (x1, x)" in model.code or "return (x, x1)" in model.code


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
        "param_bytes": 513_000 * 4,
    }
    # parameters and BatchNorm's running statistics, float32 (num_batches_tracked: int64)
    assert data["total_param_bytes"] > 11_689_512 * 4


# -- cycles: every node is in the model or named in an error -------------------------------
def _accounted(g: Graph, rep: Report) -> None:
    """The rule the cycle bug broke: nothing silently drops out of the model."""
    for nid, n in g.nodes.items():
        if n.spec.kind in ("model", "io"):
            errs = [d for d in rep.for_node(nid) if d.severity == "error"]
            assert nid in rep.shapes or errs, f"{n.name} is neither evaluated nor in an error"


def _lenet_tail() -> tuple[Graph, dict[str, str]]:
    g = Graph()
    ids = {"x": g.add("Input", shape=[16], name="x")}
    for name in ("fc1", "fc2"):
        ids[name] = g.add("Linear", name=name, out_features=16)
    ids["relu"] = g.add("ReLU", name="relu")
    ids["out"] = g.add("Output", name="out")
    g.connect(ids["x"], ids["fc1"])
    g.connect(ids["fc2"], ids["relu"])  # fc2's first way out leaves the cycle
    g.connect(ids["relu"], ids["out"])
    return g, ids


def test_cycle_through_a_merge_with_an_exit_is_an_error() -> None:
    """fc1 → fc2 → add → fc2: the walk that followed fc2's first out-edge missed it."""
    g, ids = _lenet_tail()
    add = g.add("Add", name="add")
    g.connect(ids["fc1"], add)
    g.connect(add, ids["fc2"])
    g.connect(ids["fc2"], add, allow_cycle=True)
    rep = check(g)
    assert not rep.ok
    msgs = {d.node: d.message for d in rep.errors}
    assert msgs[add] == "add: cycle through fc2 → add → fc2"
    assert msgs[ids["fc2"]] == "fc2: cycle through fc2 → add → fc2"
    for n in ("relu", "out"):
        assert msgs[ids[n]].startswith(f"{n}: downstream of the cycle through fc2 → add → fc2")
    assert ids["fc1"] in rep.shapes and ids["fc1"] not in msgs
    _accounted(g, rep)
    with pytest.raises(GraphError, match="cycle"):
        compile_model(g)


def test_two_node_cycle_and_two_separate_cycles() -> None:
    g = Graph()
    x = g.add("Input", shape=[4], name="x")
    loops = []
    for k in (1, 2):
        a = g.add("Add", name=f"a{k}")
        b = g.add("ReLU", name=f"b{k}")
        g.connect(x, a)
        g.connect(a, b)
        g.connect(b, a, allow_cycle=True)
        loops.append((a, b))
    rep = check(g)
    for k, (a, b) in enumerate(loops, 1):
        text = f"cycle through a{k} → b{k} → a{k}"
        assert [d.message for d in rep.for_node(a)] == [f"a{k}: {text}"]
        assert [d.message for d in rep.for_node(b)] == [f"b{k}: {text}"]
    assert not rep.ok
    _accounted(g, rep)


def test_cycle_inside_one_branch_leaves_the_other_branch_evaluated() -> None:
    g = Graph()
    x = g.add("Input", shape=[4], name="x")
    good = g.add("Linear", name="good", out_features=4)
    loop_in = g.add("Add", name="loop_in")
    loop_fc = g.add("Linear", name="loop_fc", out_features=4)
    cat = g.add("Concat", name="cat")
    out = g.add("Output", name="out")
    g.connect(x, good)
    g.connect(x, loop_in)
    g.connect(loop_in, loop_fc)
    g.connect(loop_fc, cat)
    g.connect(loop_fc, loop_in, allow_cycle=True)
    g.connect(good, cat)
    g.connect(cat, out)
    rep = check(g)
    assert good in rep.shapes and x in rep.shapes
    assert {d.node for d in rep.errors} == {loop_in, loop_fc, cat, out}
    assert (
        "downstream of the cycle through loop_in → loop_fc → loop_in"
        in rep.for_node(cat)[0].message
    )
    _accounted(g, rep)


def test_component_larger_than_one_cycle_names_every_node() -> None:
    """A figure eight: a → b → a and a → c → a; the shortest cycle names a and b only."""
    g = Graph()
    x = g.add("Input", shape=[4], name="x")
    a = g.add("Add", name="a")
    b = g.add("ReLU", name="b")
    c = g.add("Tanh", name="c")
    g.connect(x, a)
    g.connect(a, b)
    g.connect(a, c)
    g.connect(b, a, allow_cycle=True)
    g.connect(c, a, allow_cycle=True)
    rep = check(g)
    assert rep.for_node(a)[0].message == "a: cycle through a → b → a"
    assert rep.for_node(c)[0].message == "c: part of the cycle through a → b → a"
    _accounted(g, rep)


def test_cycle_in_a_project_file_is_reported_after_loading() -> None:
    g, ids = _lenet_tail()
    add = g.add("Add", name="add")
    g.connect(ids["fc1"], add)
    g.connect(add, ids["fc2"])
    d = g.to_dict()
    d["edges"].append({"from": ids["fc2"], "from_port": "output", "to": add, "to_port": "inputs"})
    loaded = Graph.from_dict(d)
    rep = check(loaded)
    assert "cycle through fc2 → add → fc2" in rep.for_node(add)[0].message
    _accounted(loaded, rep)


def test_strongly_connected_is_iterative() -> None:
    n = 20_000  # far deeper than the recursion limit
    nodes = [str(i) for i in range(n)]
    succ = {v: [nodes[(i + 1) % n]] for i, v in enumerate(nodes)}
    assert [len(c) for c in strongly_connected(nodes, succ)] == [n]
    succ[nodes[-1]] = []
    assert len(strongly_connected(nodes, succ)) == n


def test_for_node_sees_diagnostics_added_directly() -> None:
    g = Graph()
    x = g.add("Input", shape=[4])
    rep = check(g)
    assert rep.for_node(x)[0].message.endswith("not used")
    rep.diagnostics.clear()
    assert rep.for_node(x) == []
    rep.error(x, "late")
    assert [d.message for d in rep.for_node(x)] == ["late"]


# -- memory bombs: an error on the node, before anything is allocated ----------------------
def _bomb(build: object, **settings: object) -> tuple[Graph, Report, float]:
    g = Graph()
    if settings:
        g.settings["training"] = dict(settings)
    build(g)  # type: ignore[operator]
    t = time.perf_counter()
    rep = check(g)
    return g, rep, time.perf_counter() - t


def _one(
    g: Graph, src_shape: list[int], type_name: str, dtype: str = "float32", **p: object
) -> str:
    x = g.add("Input", shape=src_shape, dtype=dtype)
    n = g.add(type_name, name="bomb", **p)
    g.connect(x, n)
    return n


@pytest.mark.parametrize(
    ("shape", "type_name", "dtype", "params", "size"),
    [
        ([4096], "Linear", "float32", {"out_features": 10**9}, "TB"),
        ([512, 8, 8], "Conv2d", "float32", {"out_channels": 10**8, "kernel_size": 5}, "TB"),
        ([16], "Embedding", "int64", {"num_embeddings": 10**10, "embedding_dim": 1000}, "TB"),
    ],
)
def test_one_huge_layer_is_an_error_on_it(
    shape: list[int], type_name: str, dtype: str, params: dict[str, object], size: str
) -> None:
    g, rep, seconds = _bomb(lambda g: _one(g, shape, type_name, dtype, **params))
    bomb = g.by_name("bomb").id
    assert not rep.ok and seconds < 5
    (err,) = [d for d in rep.for_node(bomb) if "weights need" in d.message]
    assert (
        err.message.startswith("bomb: its weights need ") and f" {size}, more than" in err.message
    )
    assert rep.param_bytes[bomb] >= 10**12 and rep.total_param_bytes == rep.param_bytes[bomb]
    assert rep.to_dict()["nodes"][bomb]["param_bytes"] == rep.param_bytes[bomb]


def _big_linears(g: Graph) -> None:
    prev = g.add("Input", shape=[40_000])
    for i in range(5):  # 5 × 1.6e9 parameters = 8e9 = 29.8 GB
        nid = g.add("Linear", name=f"big{i}", out_features=40_000)
        g.connect(prev, nid)
        prev = nid


def test_a_model_too_big_in_total_names_its_biggest_nodes() -> None:
    _, rep, seconds = _bomb(_big_linears, max_model_memory_gb=16)
    assert not rep.ok and seconds < 5
    assert rep.total_param_bytes == 5 * (40_000 * 40_000 + 40_000) * 4
    blamed = [d for d in rep.errors if "weights need" in d.message]
    assert 1 <= len(blamed) <= 5
    assert blamed[0].message == (
        "big0: its weights need 6.0 GB of the model's 29.8 GB, more than the 16.0 GB allowed "
        "(max_model_memory_gb); make it smaller"
    )


def test_automatic_limit_is_the_machines_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    ec = importlib.import_module("engine.analysis.memory")

    monkeypatch.setattr(ec, "_machine_memory", lambda cuda: (16 * ec.GB, 0))
    _, rep, _ = _bomb(_big_linears)
    assert not rep.ok and "more than the 16.0 GB this machine has" in rep.errors[0].message
    monkeypatch.setattr(ec, "_machine_memory", lambda cuda: (64 * ec.GB, 8 * ec.GB if cuda else 0))
    _, rep, _ = _bomb(_big_linears)
    assert "more than the 8.0 GB the GPU has" in rep.errors[0].message
    _, rep, _ = _bomb(_big_linears, device="cpu")
    assert rep.ok  # 29.8 GB of weights fit in 64 GB; training them would not
    assert "training this model needs about 119.2 GB" in rep.warnings[0].message


def test_real_machine_limit_is_positive_and_small_models_pass() -> None:
    from engine.analysis.memory import memory_limit

    limit, where = memory_limit(Graph())
    assert limit > 2**28 and where
    g = Graph()
    _one(g, [8], "Linear", out_features=4)
    assert check(g).ok


def test_max_model_memory_setting_is_declared_and_checked() -> None:
    from engine.catalog.base import ParamError
    from engine.catalog.settings import resolve_settings

    assert resolve_settings({})["max_model_memory_gb"] == 0.0
    assert resolve_settings({"max_model_memory_gb": 2})["max_model_memory_gb"] == 2.0
    with pytest.raises(ParamError):
        resolve_settings({"max_model_memory_gb": -1})


def _mlp_with_stray(explicit_output: bool) -> tuple[Graph, str, str]:
    g = Graph()
    x = g.add("Input", shape=[4])
    fc = g.add("Linear", name="fc", out_features=3)
    g.connect(x, fc)
    if explicit_output:
        g.connect(fc, g.add("Output", name="out"))
    stray = g.add("ReLU", name="relu_2")
    return g, fc, stray


@pytest.mark.parametrize("explicit_output", [False, True])
def test_a_stray_unconnected_node_is_a_warning_and_left_out(explicit_output: bool) -> None:
    g, fc, stray = _mlp_with_stray(explicit_output)
    rep = check(g)
    assert rep.ok, [d.message for d in rep.errors]
    assert [d.message for d in rep.for_node(stray)] == [
        "relu_2: not connected to the model, so it is left out; wire it in or delete it"
    ]
    assert rep.for_node(stray)[0].severity == "warning"
    assert stray not in rep.order and rep.left_out == [stray]
    model = compile_model(g)
    assert "relu_2" not in model.code
    assert model(torch.randn(2, 4)).shape == (2, 3)
    if not explicit_output:
        assert rep.outputs == [fc]


def test_a_stray_output_node_is_still_an_error() -> None:
    g, _, _ = _mlp_with_stray(True)
    lone = g.add("Output", name="lone")
    rep = check(g)
    assert lone in rep.order and any(d.node == lone for d in rep.errors)


def test_two_wired_ends_without_output_nodes_still_fail() -> None:
    g, _, _ = _mlp_with_stray(False)
    other = g.add("Linear", name="other", out_features=2)
    g.connect(next(n for n in g.nodes if g.nodes[n].type == "Input"), other)
    rep = check(g)
    assert any("the model ends in several places" in d.message for d in rep.errors)
