"""engine.graph.ops: every edit applied then inverted gives back the same project, byte for byte."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine import Graph, GraphError
from engine.graph import Edge, GraphEvent, NodeAdded, NodeRemoved
from engine.graph.ops import (
    AddNode,
    Batch,
    Connect,
    Disconnect,
    Move,
    Op,
    RemoveNode,
    Rename,
    SetParams,
    SetSilenced,
)
from engine.project import to_json


def sample() -> Graph:
    """x → fc → relu ─┐
    x2 ─────────────── cat (Concat: edge order is input order) → out; y (Linear) free."""
    g = Graph(name="ops")
    x = g.add("Input", id="x", shape=[4], pos=(0, 0))
    fc = g.add("Linear", id="fc", name="fc1", out_features=3)
    relu = g.add("ReLU", id="relu")
    x2 = g.add("Input", id="x2", shape=[5])
    cat = g.add("Concat", id="cat", dim=1)
    out = g.add("Linear", id="out", out_features=2)
    g.add("Linear", id="y", out_features=7)
    g.connect(x, fc)
    g.connect(fc, relu)
    g.connect(relu, cat)
    g.connect(x2, cat)
    g.connect(cat, out)
    g.silence(fc, "wide-linear", "on purpose")
    g.silence(fc, "no-norm", "tiny model")
    g.silence(fc, "dead-relu", "checked")
    return g


# one op of each kind (and the variants that touch order): graph -> op
CASES: dict[str, Callable[[Graph], Op]] = {
    "add": lambda g: AddNode("Tanh"),
    "add_placed": lambda g: AddNode(
        "Linear", "fc9", "head", (3, 4), {"out_features": 9}, {"no-norm": "why"}, index=2
    ),
    "remove_with_wires": lambda g: RemoveNode("relu"),  # wires in and out, Concat's first
    "remove_first": lambda g: RemoveNode("x"),
    "remove_free": lambda g: RemoveNode("y"),
    "connect": lambda g: Connect("x", "output", "y", "input"),
    "connect_at": lambda g: Connect("x2", "output", "y", "input", index=1),
    "connect_replacing": lambda g: Connect("x2", "output", "fc", "input"),
    "disconnect": lambda g: Disconnect.of(g.edges[2]),
    "set_params": lambda g: SetParams("fc", {"out_features": 16, "bias": False}),
    "move": lambda g: Move("cat", (12.5, -3)),
    "rename": lambda g: Rename("relu", "  act  "),
    "silence_new": lambda g: SetSilenced("relu", "dead-relu", "fine"),
    "silence_change": lambda g: SetSilenced("fc", "no-norm", "changed"),
    "unsilence_middle": lambda g: SetSilenced("fc", "no-norm", None),
    "batch": lambda g: Batch(
        (
            Move("x", (1, 1)),
            RemoveNode("cat"),
            AddNode("Concat", "cat2", params={"dim": 1}),
            Connect("x2", "output", "cat2", "inputs"),
            Connect("relu", "output", "cat2", "inputs"),
            Connect("cat2", "output", "out", "input"),
        ),
        "Rebuild",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_apply_then_inverse_gives_the_same_project(case: str) -> None:
    g = sample()
    before = to_json(g)
    op = CASES[case](g)
    assert g.check_op(op) is None
    inverse = g.apply(op)
    after = to_json(g)
    assert after != before  # the op did something
    redo = g.apply(inverse)
    assert to_json(g) == before
    g.apply(redo)  # and the inverse of the inverse redoes it exactly
    assert to_json(g) == after


def test_graph_methods_are_the_ops() -> None:
    """The public methods keep their behaviour: same ids, errors and results."""
    g = sample()
    assert g.add("Tanh") == "tanh" and g.add("Tanh") == "tanh_2"
    with pytest.raises(GraphError, match=r"fc1\.input is already connected"):
        g.connect("x2", "fc", "output", "input")
    with pytest.raises(GraphError, match="a node named 'fc1' already exists"):
        g.rename("relu", "fc1")
    with pytest.raises(GraphError, match="fc1: out_features: must be at least 1"):
        g.set("fc", out_features=0)
    assert g.disconnect("x", "fc") == 1 and g.disconnect("x", "fc") == 0


def test_replacing_a_wire_into_a_single_input_and_back() -> None:
    g = sample()
    order = list(g.edges)
    inverse = g.apply(Connect("x2", "output", "fc", "input"))
    assert Edge("x", "output", "fc", "input") not in g.edges
    assert Edge("x2", "output", "fc", "input") in g.edges
    assert len(g.edges) == len(order)
    g.apply(inverse)
    assert list(g.edges) == order  # the old wire is back in its place
    # the same wire again is refused, and without replace a taken input is refused
    assert g.check_op(Connect("x", "output", "fc", "input")) == (
        "these ports are already connected"
    )
    assert g.check_op(Connect("x2", "output", "fc", "input", replace=False)) == (
        "fc1.input is already connected"
    )
    # a multi input (Concat) gains a wire instead
    g.apply(Connect("x", "output", "cat", "inputs"))
    assert [e.src for e in g.in_edges("cat")] == ["relu", "x2", "x"]


def test_a_refused_batch_changes_nothing() -> None:
    g = sample()
    before = to_json(g)
    heard: list[GraphEvent] = []
    g.subscribe(heard.append)
    bad = Batch(
        (
            Move("x", (50, 50)),
            RemoveNode("relu"),
            Rename("fc", "renamed"),
            Connect("out", "output", "x", "input"),  # an Input has no input port
        )
    )
    with pytest.raises(GraphError, match="has no input 'input'"):
        g.apply(bad)
    assert to_json(g) == before
    # undone, and heard
    assert NodeRemoved("relu") in heard and sum(isinstance(e, NodeAdded) for e in heard) == 1
    assert g.check_op(bad) == "x has no input 'input'"


@pytest.mark.parametrize(
    ("op", "problem"),
    [
        (AddNode("Conv4d"), "unknown node type 'Conv4d'"),
        (
            AddNode("Linear", params={"out_features": 0}),
            "Linear: out_features: must be at least 1, got 0",
        ),
        (AddNode("ReLU", id="fc"), "a node with id 'fc' already exists"),
        (AddNode("ReLU", name="fc1"), "a node named 'fc1' already exists"),
        (AddNode("ReLU", index=99), "relu_2: position 99 is outside 0..7"),
        (RemoveNode("nope"), "no node 'nope' in the graph"),
        (SetParams("fc", {"out_features": "many"}), None),  # checked below: any message
        (SetParams("fc", {"nonsense": 1}), None),
        (Rename("relu", " "), "a node's name cannot be empty"),
        (Rename("relu", "fc1"), "a node named 'fc1' already exists"),
        (Move("nope", (0, 0)), "no node 'nope' in the graph"),
        (Connect("out", "output", "fc", "input"), "connecting out → fc1 would make a cycle"),
        (Connect("x", "output", "x2", "nope"), "x2 has no input 'nope'"),
        (Disconnect("x", "output", "y", "input"), "there is no wire x.output → y.input"),
        (SetSilenced("nope", "no-norm", None), "no node 'nope' in the graph"),
        (Batch((Move("x", (1, 2)), RemoveNode("x"), Move("x", (3, 4)))), None),
    ],
)
def test_check_op_explains_and_changes_nothing(op: Op, problem: str | None) -> None:
    g = sample()
    before, rev = to_json(g), g.revision
    found = g.check_op(op)
    assert found is not None
    if problem is not None:
        assert found == problem
    assert to_json(g) == before and g.revision == rev
    with pytest.raises(GraphError) as err:
        g.apply(op)
    assert str(err.value) == found
    assert to_json(g) == before


def test_check_op_of_a_good_op_changes_nothing() -> None:
    g = sample()
    before, rev = to_json(g), g.revision
    for op in CASES.values():
        assert g.check_op(op(g)) is None
    assert to_json(g) == before and g.revision == rev


def test_ops_round_trip_through_json() -> None:
    g = sample()
    for make in CASES.values():
        op = make(g)
        for o in (op, g.copy().apply(op)):  # the op and its (often nested) inverse
            text = json.dumps(o.to_dict())
            assert Op.from_dict(json.loads(text)) == o
    with pytest.raises(GraphError, match="unknown edit operation 'Explode'"):
        Op.from_dict({"op": "Explode"})
    with pytest.raises(GraphError, match="unknown field"):
        Op.from_dict({"op": "Move", "node": "x", "pos": [0, 0], "speed": 3})
    with pytest.raises(GraphError, match="unknown edit operation 'Move'"):
        Connect.from_dict({"op": "Move", "node": "x", "pos": [0, 0]})


def test_ops_describe_themselves() -> None:
    g = sample()
    assert Connect("fc", "output", "y", "input").describe(g) == "Connect fc1 → y"
    assert Batch.of(Move(n, (0, 0)) for n in ("x", "fc", "y")).describe(g) == "Move 3 nodes"
    assert Batch((RemoveNode("x"), RemoveNode("y"))).describe(g) == "Delete 2 nodes"
    assert Batch((Move("x", (0, 0)),)).describe(g) == "Move x"
    assert Batch((Move("x", (0, 0)),), "Auto-layout").describe(g) == "Auto-layout"
    assert Rename("fc", "head").describe(g) == "Rename fc1 to head"
    assert SetParams("fc", {"out_features": 2}).describe(g) == "Set fc1.out_features"


def test_set_params_effective_keeps_only_real_changes() -> None:
    g = sample()
    eff = SetParams("fc", {"out_features": 3, "bias": False}).effective(g)
    assert eff == SetParams("fc", {"bias": False})
    with pytest.raises(GraphError, match="fc1"):
        SetParams("fc", {"out_features": -1}).effective(g)


# -- random edit sessions ------------------------------------------------------------------
TYPES = ["Linear", "ReLU", "Concat", "Add", "Tanh", "Input"]


@st.composite
def an_op(draw: Any, g: Graph) -> Op:
    ids = list(g.nodes) or ["none"]
    node = st.sampled_from(ids)
    kind = draw(st.sampled_from(["add", "remove", "connect", "disconnect", "set", "move", "rename", "silence", "batch"]))  # fmt: skip
    if kind == "add":
        t = draw(st.sampled_from(TYPES))
        params = {"shape": [3]} if t == "Input" else {}
        at = draw(st.none() | st.integers(0, len(g.nodes)))
        return AddNode(t, params=params, index=at)
    if kind == "remove":
        return RemoveNode(draw(node))
    if kind == "connect":
        a, b = draw(node), draw(node)
        dst_port = "inputs" if b in g.nodes and g.nodes[b].type in ("Concat", "Add") else "input"
        return Connect(a, "output", b, dst_port, replace=draw(st.booleans()))
    if kind == "disconnect":
        if not g.edges:
            return Disconnect("a", "output", "b", "input")
        return Disconnect.of(draw(st.sampled_from(list(g.edges))))
    if kind == "set":
        return SetParams(draw(node), {"out_features": draw(st.integers(0, 9))})
    if kind == "move":
        return Move(draw(node), (draw(st.integers(-50, 50)), draw(st.integers(-50, 50))))
    if kind == "rename":
        return Rename(draw(node), draw(st.sampled_from(["a", "b", "fc1", "relu", " c "])))
    if kind == "silence":
        lint = draw(st.sampled_from(["no-norm", "dead-relu", "wide-linear"]))
        return SetSilenced(draw(node), lint, draw(st.none() | st.just("because")))
    return Batch((draw(an_op(g)), draw(an_op(g))))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_edits_undone_in_reverse_give_the_original(data: Any) -> None:
    g = sample()
    original = to_json(g)
    inverses: list[Op] = []
    for _ in range(data.draw(st.integers(1, 10))):
        op = data.draw(an_op(g))
        before = to_json(g)
        problem = g.check_op(op)
        if problem is not None:
            with pytest.raises(GraphError):
                g.apply(op)
            assert to_json(g) == before
            continue
        inverses.append(g.apply(op))
        event(f"applied {type(op).__name__}")
    for inverse in reversed(inverses):
        g.apply(inverse)
    assert to_json(g) == original


def test_training_settings_and_block_instances_are_ops_with_exact_inverses() -> None:
    from engine.graph.ops import SetTraining

    g = sample()
    layer = next(n.id for n in g if n.spec.kind == "model")
    before = to_json(g)
    inv = g.apply(SetTraining(layer, frozen=True, lr_scale=0.1))
    assert g.nodes[layer].frozen and g.nodes[layer].lr_scale == 0.1
    frozen = to_json(g)
    # removing a frozen node and undoing brings back its training settings too
    undo_remove = g.apply(RemoveNode(layer))
    g.apply(undo_remove)
    assert to_json(g) == frozen
    g.apply(inv)
    assert to_json(g) == before
    io = next(n.id for n in g if n.spec.kind == "io")
    assert "only model layers" in (g.check_op(SetTraining(io, frozen=True)) or "")
    assert "lr_scale" in (g.check_op(SetTraining(layer, lr_scale=0.0)) or "")

    blk = Graph(name="Twice")
    x = blk.add("Input", name="x")
    lin = blk.add("Linear", name="fc", out_features=4)
    out = blk.add("Output", name="y")
    blk.connect(x, lin)
    blk.connect(lin, out)
    g.add_block(blk, expose={"width": ["fc.out_features"]})
    plain = to_json(g)
    inv = g.apply(AddNode("Twice", name="t1", params={"width": 6}))
    assert g.by_name("t1").params == {"width": 6}
    g.apply(inv)
    assert to_json(g) == plain


def test_project_fields_are_ops_with_exact_inverses() -> None:
    """Settings sections, the project's name, frames and collapsed nodes: applied, undone
    byte for byte, each announced as a GraphChanged of its field."""
    from engine.graph import GraphChanged
    from engine.graph.frames import Frame
    from engine.graph.ops import RenameProject, SetCollapsed, SetFrames, SetSettings

    g = sample()
    g.settings.update({"training": {"epochs": 3}, "tuning": {"trials": 4}})
    heard: list[GraphEvent] = []
    g.subscribe(heard.append)
    held = g.settings
    cases: list[tuple[Op, GraphChanged]] = [
        (SetSettings("training", {"epochs": 9, "lr": 0.1}), GraphChanged("settings", "training")),
        (SetSettings("export", {"opset": 17}), GraphChanged("settings", "export")),
        (SetSettings("training", None), GraphChanged("settings", "training")),
        (RenameProject("renamed"), GraphChanged("name")),
        (SetFrames((Frame("head", rect=(1.0, 2.0, 3.0, 4.0)),)), GraphChanged("frames")),
        (SetCollapsed(frozenset({"fc", "relu"})), GraphChanged("collapsed")),
    ]
    for op, said in cases:
        before = to_json(g)
        heard.clear()
        inverse = g.apply(op)
        after = to_json(g)
        assert after != before and heard == [said]
        assert Op.from_dict(json.loads(json.dumps(op.to_dict()))) == op
        redo = g.apply(inverse)
        assert to_json(g) == before  # a removed section is back in its place
        g.apply(redo)
        assert to_json(g) == after
        g.apply(inverse)
    assert g.settings is held  # edited in place: whoever holds it sees the change
    assert SetSettings("training", {}).describe(g) == "Set training"
    assert "cannot be empty" in (g.check_op(RenameProject("")) or "")
    values = {"epochs": 1}
    op = SetSettings("training", values)
    values["epochs"] = 2  # the op keeps its own copy
    g.apply(op)
    assert g.settings["training"] == {"epochs": 1}
