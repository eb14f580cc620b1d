"""Pruning: structured pruning gives an ordinary smaller project; unstructured keeps shapes."""

from __future__ import annotations

import copy

import pytest
import torch

from engine import Graph
from engine.analysis.check import check
from engine.build.compile import compile_model
from engine.compress import CompressError, compress, prunable_layers, prune_structured
from engine.compress.prune import prune_unstructured, sparsity
from engine.project import load_project
from engine.train import evaluate, load_checkpoint, train
from tests.engine.compress.conftest import CNN, MLP


def trained(path, run):
    g = load_project(path)
    m = compile_model(g)
    m.load_state_dict(load_checkpoint(run).state_dict)
    return g, m.eval()


def test_half_the_digits_cnn_channels(cnn_run, tmp_path):
    g, m = trained(CNN, cnn_run)
    res = prune_structured(g, m, 0.5)
    # conv 16→8, conv 32→16, linear 64→32; the last Linear is the model's output: left alone
    assert res.kept == {"conv2d": (8, 16), "conv2d_2": (16, 32), "linear": (32, 64)}
    assert "linear_2" in res.left_alone and "output" in res.left_alone["linear_2"]
    p = res.graph.nodes
    assert p["conv2d"].params["out_channels"] == 8 and p["linear"].params["out_features"] == 32
    rep = check(res.graph)
    assert rep.ok
    expected = (
        (1 * 8 * 9 + 8) + 2 * 8  # conv2d + its BatchNorm
        + (8 * 16 * 9 + 16) + 2 * 16  # conv2d_2 + BatchNorm
        + (16 * 4 * 4 * 32 + 32)  # linear: 16 channels × 4×4 after the pool, flattened
        + (32 * 10 + 10)  # linear_2
    )  # fmt: skip
    assert rep.total_params == expected == 9850
    small = compile_model(res.graph)
    small.load_state_dict(res.state_dict)  # the sliced weights fit the smaller project
    assert sum(t.numel() for t in small.parameters()) == expected
    assert small.eval()(torch.randn(3, 1, 8, 8)).shape == (3, 10)
    # the original is untouched
    assert g.nodes["conv2d"].params["out_channels"] == 16


@pytest.mark.slow
def test_the_pruned_project_trains_and_exports(cnn_run, tmp_path):
    r = compress(CNN, cnn_run, tmp_path / "c", prune=0.5, structured=True, finetune_epochs=1,
                 max_drop=None, repeats=2)  # fmt: skip
    v = r.variant("pruned-50")
    assert v.params == 9850 == v.nonzero_params
    pg = load_project(tmp_path / "c" / v.project)
    assert check(pg).ok and check(pg).total_params == 9850
    assert (tmp_path / "c" / "pruned-50" / "finetune-1" / "best.pt").exists()
    # an ordinary project and checkpoint: evaluation gives the report's accuracy
    acc = evaluate(pg, tmp_path / "c" / v.checkpoint)["accuracy"]
    assert acc == pytest.approx(v.value, abs=1e-6)
    assert acc > 0.8
    assert (tmp_path / "c" / "pruned-50.onnx").stat().st_size < (
        tmp_path / "c" / "original.onnx"
    ).stat().st_size / 3


def test_removing_dead_neurons_changes_nothing(mlp_run):
    """Neurons whose weights are zero are the ones L1 removes, and the outputs stay equal."""
    g, m = trained(MLP, mlp_run)
    with torch.no_grad():
        m.linear.weight[::2] = 0.0  # every other hidden neuron is dead (ReLU(0) = 0)
        m.linear.bias[::2] = 0.0
        m.linear.weight[1::2] += 0.01 * torch.sign(m.linear.weight[1::2])
    res = prune_structured(g, m, 0.5, norm=2)
    assert res.kept["linear"] == (64, 128)
    small = compile_model(res.graph)
    small.load_state_dict(res.state_dict)
    x = torch.randn(20, 1, 8, 8)
    torch.testing.assert_close(small.eval()(x), m(x), rtol=1e-5, atol=1e-5)
    assert torch.equal(res.state_dict["linear.weight"], m.linear.weight[1::2])


def skip_graph() -> Graph:
    """A residual block: conv_a → relu → conv_b, added to conv_a's output, then a head."""
    g = Graph(name="residual")
    ds = g.add("Digits", id="ds")
    sp = g.add("Split", id="split")
    bt = g.add("Batch", id="batch")
    g.connect(ds, sp)
    g.connect(sp, bt)
    x = g.add("Input", id="input")
    g.connect(bt, x)
    a = g.add("Conv2d", id="conv_a", out_channels=8, kernel_size=3, padding=1)
    r = g.add("ReLU", id="relu")
    b = g.add("Conv2d", id="conv_b", out_channels=8, kernel_size=3, padding=1)
    c = g.add("Conv2d", id="conv_c", out_channels=6, kernel_size=3, padding=1)
    add = g.add("Add", id="add")
    fl = g.add("Flatten", id="flatten")
    lin = g.add("Linear", id="head", out_features=10)
    g.connect(x, a)
    g.connect(a, r)
    g.connect(r, b)
    g.connect(b, add, "output", "inputs")
    g.connect(a, add, "output", "inputs")
    g.connect(add, c)
    g.connect(c, fl)
    g.connect(fl, lin)
    ls = g.add("CrossEntropyLoss", id="loss")
    g.connect(lin, ls, "output", "input")
    g.connect(bt, ls, "targets", "target")
    g.connect(ls, g.add("Adam", id="opt"))
    return g


def test_channels_feeding_an_add_are_left_alone():
    g = skip_graph()
    rep = check(g)
    assert rep.ok, rep.errors
    plans, alone = prunable_layers(g, rep)
    assert set(plans) == {"conv_c"}  # only the layer after the Add
    assert "Add" in alone["conv_a"] and "Add" in alone["conv_b"]
    m = compile_model(g, rep).eval()
    res = prune_structured(g, m, 0.5)
    assert res.kept == {"conv_c": (3, 6)}
    assert check(res.graph).ok
    small = compile_model(res.graph)
    small.load_state_dict(res.state_dict)
    assert small.eval()(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def test_unstructured_per_layer_and_global(mlp_run):
    _, m = trained(MLP, mlp_run)
    a = copy.deepcopy(m)
    masks = prune_unstructured(a, 0.6)
    for k in masks:
        assert sparsity(a.state_dict(), [k]) == pytest.approx(0.6, abs=0.01)
    b = copy.deepcopy(m)
    prune_unstructured(b, 0.6, "global")
    sd = b.state_dict()
    assert sparsity(sd, list(masks)) == pytest.approx(0.6, abs=0.01)
    assert sparsity(sd, ["linear_2.weight"]) != pytest.approx(0.6, abs=0.02)  # not per layer
    assert "linear.weight_orig" not in sd  # made permanent: plain state-dict keys
    with pytest.raises(CompressError):
        prune_unstructured(copy.deepcopy(m), 1.0)


@pytest.mark.slow
def test_iterative_unstructured_schedule_keeps_the_zeros_through_fine_tuning(mlp_run, tmp_path):
    r = compress(MLP, mlp_run, tmp_path / "c", prune=0.75, steps=2, finetune_epochs=1,
                 scope="global", repeats=2)  # fmt: skip
    v = r.variant("pruned-75")
    sd = load_checkpoint(tmp_path / "c" / v.checkpoint).state_dict
    assert sparsity(sd, ["linear.weight", "linear_2.weight"]) >= 0.749
    assert (tmp_path / "c" / "pruned-75" / "finetune-1").is_dir()
    assert (tmp_path / "c" / "pruned-75" / "finetune-2").is_dir()
    assert v.nonzero_params < v.params * 0.3
    assert v.value > 0.85


def test_a_project_with_nothing_to_prune_structurally():
    g = Graph(name="tiny")
    g.add("Input", id="input", shape=[4])
    g.connect("input", g.add("Linear", id="out", out_features=2))
    m = compile_model(g)
    with pytest.raises(CompressError, match="no layer can be pruned"):
        prune_structured(g, m, 0.5)


def test_fine_tuning_starts_from_the_given_weights(mlp_run, tmp_path):
    g, m = trained(MLP, mlp_run)
    res = train(g, out_dir=str(tmp_path / "ft"), epochs=1, device="cpu",
                init_weights=m.state_dict(), settings={"checkpoint": "last"})  # fmt: skip
    fresh = train(g, out_dir=str(tmp_path / "fresh"), epochs=1, device="cpu")
    assert res.test_metrics["accuracy"] > fresh.test_metrics["accuracy"]
