"""Block edit ops (engine.graph.block_ops): each applies, undoes exactly, and refuses in words."""

from __future__ import annotations

import pytest
import torch

from engine.analysis.check import check
from engine.build.compile import compile_model
from engine.graph import Graph, GraphError
from engine.graph.block_ops import DefineBlock, EditBlock, MakeBlock, RemoveBlock, Ungroup
from engine.graph.ops import Op, RemoveNode, Rename, SetParams
from engine.project import to_json
from tests.support.block_models import basic_block, chain, resnet18

BODY = ["c1", "bn1", "relu1", "c2", "bn2", "add", "relu2", "flat"]


def residual() -> Graph:
    """stem → [conv, bn, relu, conv, bn] + skip → relu → head: the pattern a user groups."""
    g = Graph(name="net")
    x = g.add("Input", name="x", shape=[8, 8, 8], pos=(0, 0))
    stem = chain(g, x, ("Conv2d", "stem", dict(out_channels=16, kernel_size=3, padding=1)))
    y = chain(
        g,
        stem,
        ("Conv2d", "c1", dict(out_channels=16, kernel_size=3, padding=1, bias=False)),
        ("BatchNorm2d", "bn1", {}),
        ("ReLU", "relu1", {}),
        ("Conv2d", "c2", dict(out_channels=16, kernel_size=3, padding=1, bias=False)),
        ("BatchNorm2d", "bn2", {}),
    )
    add = g.add("Add", name="add")
    g.connect(y, add)
    g.connect(stem, add)
    out = chain(g, add, ("ReLU", "relu2", {}), ("Flatten", "flat", {}))
    head = chain(g, out, ("Linear", "fc", {"out_features": 3}))
    cat = g.add("Concat", name="cat", dim=1)  # wire order into a Concat must survive
    g.connect(head, cat)
    g.connect(out, cat)
    for i, nid in enumerate(g.nodes):
        g.move(nid, (i * 200.0, (i % 3) * 50.0))
    return g


def ids(g: Graph, names: list[str]) -> list[str]:
    return [g.by_name(n).id for n in names]


def roundtrip(g: Graph, op: Op) -> Op:
    before = to_json(g)
    inverse = g.apply(op)
    after = to_json(g)
    assert after != before
    again = g.apply(inverse)
    assert to_json(g) == before
    g.apply(again)
    assert to_json(g) == after
    return inverse


def outputs(g: Graph, state: dict[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, int]:
    torch.manual_seed(0)
    model = compile_model(g)
    if state is not None:
        model.load_state_dict(state)
    model.eval()
    x = torch.randn(2, 8, 8, 8)
    return model(x), sum(p.numel() for p in model.parameters())


def test_make_block_replaces_the_selection_and_undoes_exactly() -> None:
    g = residual()
    op = MakeBlock(ids(g, BODY), "ResBlock", {"channels": ["c1.out_channels", "c2.out_channels"]})
    assert g.check_op(op) is None
    roundtrip(g, op)
    inst = [n for n in g.nodes.values() if n.type == "ResBlock"]
    assert len(inst) == 1 and inst[0].params == {"channels": 16}
    assert not any(n.name in BODY for n in g.nodes.values())
    d = g.blocks["ResBlock"]
    assert [p.name for p in d.spec.inputs] == ["x"] and [p.name for p in d.spec.outputs] == ["out"]
    assert {n.name for n in d.graph.nodes.values()} == {*BODY, "x", "out"}
    # the instance feeds the Concat second, as relu2 did (edge order kept in place)
    into_cat = [e.src for e in g.edges if e.dst == g.by_name("cat").id]
    assert into_cat == [g.by_name("fc").id, inst[0].id]
    assert not check(g).errors


def test_make_block_compiles_to_the_same_model() -> None:
    g = residual()
    flat_state = compile_model(g).state_dict()
    ref, n_ref = outputs(g, flat_state)
    g.apply(MakeBlock(ids(g, BODY), "ResBlock"))
    model = compile_model(g)
    shapes = sorted(tuple(v.shape) for v in model.state_dict().values())
    assert shapes == sorted(tuple(v.shape) for v in flat_state.values())
    # the same weights, by the nested keys (res_block.c1.weight for c1.weight)
    inst = next(n.id for n in g.nodes.values() if n.type == "ResBlock")
    renamed = {}
    for k, v in flat_state.items():  # keys are node names; inside, the block's names
        renamed[f"{inst}.{k}" if k.split(".", 1)[0] in BODY else k] = v
    got, n_got = outputs(g, renamed)
    assert n_got == n_ref
    assert torch.allclose(got, ref, atol=1e-6)


def test_make_block_refuses_in_words() -> None:
    g = residual()
    cases = {
        (): "select the nodes",
        ("x", "stem"): "a block holds model layers only",
        ("c1", "c2"): "outputs used outside it",  # c1 → bn1 and c2 → bn2 both leave
    }
    for names, words in cases.items():
        op = MakeBlock(ids(g, list(names)), "B")
        problem = g.check_op(op)
        assert problem is not None and words in problem, problem
    assert "already exists" in g.check_op(MakeBlock(ids(g, BODY), "Conv2d"))
    assert "no node" in g.check_op(MakeBlock(("nope",), "B"))
    with pytest.raises(GraphError):
        g.apply(MakeBlock(ids(g, ["x"]), "B"))


def test_ungroup_applies_the_instance_parameters_and_undoes_exactly() -> None:
    g = Graph(name="net")
    g.add_block(*basic_block(False))
    x = g.add("Input", name="x", shape=[32, 8, 8])
    y = chain(g, x, ("BasicBlock", "layer1", {"channels": 32}), ("Flatten", "flat", {}))
    before_out = check(g).shapes[y]
    inverse = roundtrip(g, Ungroup(g.by_name("layer1").id))
    assert "layer1" not in {n.name for n in g.nodes.values()}
    assert g.by_name("layer1_conv1").params["out_channels"] == 32
    assert g.by_name("layer1_conv2").params["out_channels"] == 32
    assert "BasicBlock" in g.blocks  # the definition stays registered
    rep = check(g)
    assert not rep.errors and rep.shapes[y] == before_out
    assert inverse.describe(g) == "Group again"


def test_make_block_then_ungroup_gives_the_nodes_back_renamed() -> None:
    g = residual()
    n_ref = outputs(g)[1]
    g.apply(MakeBlock(ids(g, BODY), "ResBlock"))
    inst = next(n.id for n in g.nodes.values() if n.type == "ResBlock")
    g.apply(Ungroup(inst))
    assert {f"{inst}_{n}" for n in BODY} <= {n.name for n in g.nodes.values()}
    assert outputs(g)[1] == n_ref
    assert not check(g).errors


def test_define_and_remove_block_are_inverses_and_removal_waits_for_instances() -> None:
    g = resnet18(32)
    d = g.blocks["BasicBlock"]
    assert "still used by layer1_0" in g.check_op(RemoveBlock("BasicBlock"))
    h = Graph(name="other")
    roundtrip(h, DefineBlock.of(d))
    assert "already registered" in h.check_op(DefineBlock.of(d))
    h.add("BasicBlock", channels=8)
    with pytest.raises(GraphError, match="still used"):
        h.remove_block("BasicBlock")
    # the order of the registry (hence of the project's blocks) comes back too
    e = Graph(name="e")
    e.apply(DefineBlock.of(g.blocks["DownBlock"]))
    e.apply(DefineBlock.of(d))
    roundtrip(e, RemoveBlock("DownBlock"))


def test_edit_block_changes_every_instance_and_undoes_exactly() -> None:
    g = resnet18(32)
    conv = g.blocks["BasicBlock"].graph.by_name("conv2").id
    op = EditBlock("BasicBlock", SetParams(conv, {"bias": True}))
    inverse = roundtrip(g, op)
    assert isinstance(inverse, EditBlock)
    assert g.blocks["BasicBlock"].graph.nodes[conv].params["bias"] is True
    # a bias on conv2 of every BasicBlock: layer1_0, layer1_1, layer2_1, layer3_1, layer4_1
    added = 64 + 64 + 128 + 256 + 512
    assert check(g).total_params == check(resnet18(32)).total_params + added
    inst = g.by_name("layer1_0")
    assert inst.block_spec is g.blocks["BasicBlock"].spec
    assert Op.from_dict(op.to_dict()) == op
    assert op.describe(g).endswith("(in BasicBlock)")
    # an edit that breaks the block, or a port an instance is wired to, is refused
    x_in = g.blocks["BasicBlock"].inputs[0]
    assert "no Input" in g.check_op(EditBlock("BasicBlock", RemoveNode(x_in)))
    assert "wired to its port 'x'" in g.check_op(EditBlock("BasicBlock", Rename(x_in, "y")))
    assert "no block" in g.check_op(EditBlock("Nope", RemoveNode(x_in)))


def test_block_ops_round_trip_through_json() -> None:
    g = residual()
    for op in (
        MakeBlock(ids(g, BODY), "ResBlock", {"c": ["c1.out_channels"]}),
        Ungroup("n"),
        RemoveBlock("B"),
        EditBlock("B", SetParams("conv", {"bias": True})),
    ):
        assert Op.from_dict(op.to_dict()) == op


def test_one_input_per_distinct_source() -> None:
    g = residual()
    # add is fed by bn2 and stem; relu1 → c2 → bn2 also reads relu1's one output
    roundtrip(g, MakeBlock(ids(g, ["c2", "bn2", "add"]), "Tail"))
    d = g.blocks["Tail"]
    assert [p.name for p in d.spec.inputs] == ["x", "x_2"]
    inst = g.nodes[next(n for n in g.nodes if g.nodes[n].type == "Tail")]
    feeds = {e.dst_port: g.nodes[e.src].name for e in g.edges if e.dst == inst.id}
    assert feeds == {"x": "relu1", "x_2": "stem"}
    assert not check(g).errors
