"""The Graph API scripts and the GUI share: ids, connect rules, edits, events."""

from __future__ import annotations

import pytest

from engine import Graph, GraphError


def chain() -> tuple[Graph, str, str, str]:
    g = Graph()
    x = g.add("Input", shape=[8])
    a = g.add("Linear", out_features=4)
    b = g.add("ReLU")
    g.connect(x, a)
    g.connect(a, b)
    return g, x, a, b


def test_add_returns_readable_unique_ids() -> None:
    g = Graph()
    assert g.add("Conv2d") == "conv2d"
    assert g.add("Conv2d") == "conv2d_2"
    assert g.add("MaxPool2d") == "max_pool2d"
    assert [n.type for n in g] == ["Conv2d", "Conv2d", "MaxPool2d"]


def test_add_refuses_unknown_types_and_bad_values() -> None:
    g = Graph()
    with pytest.raises(GraphError, match="unknown node type 'Conv4d'"):
        g.add("Conv4d")
    with pytest.raises(GraphError, match="out_features: must be at least 1"):
        g.add("Linear", out_features=0)
    assert len(g) == 0


def test_connect_picks_first_output_and_first_free_input() -> None:
    g = Graph()
    x1 = g.add("Input", shape=[3])
    x2 = g.add("Input", shape=[5])
    bl = g.add("Bilinear", out_features=2)
    e1 = g.connect(x1, bl)
    e2 = g.connect(x2, bl)
    assert (e1.dst_port, e2.dst_port) == ("input1", "input2")
    with pytest.raises(GraphError, match="no free input"):
        g.connect(x1, bl)


def test_named_ports_and_multi_inputs_keep_edge_order() -> None:
    g = Graph()
    a = g.add("Input", shape=[2, 4])
    b = g.add("Input", shape=[3, 4])
    cat = g.add("Concat", dim=1)
    g.connect(f"{b}:output", cat, dst_port="inputs")
    g.connect(a, cat)
    assert [e.src for e in g.in_edges(cat)] == [b, a]


def test_connection_problems_are_explained() -> None:
    g, x, a, b = chain()
    assert g.connection_problem(b, "output", a, "input") == "linear.input is already connected"
    assert g.connection_problem(a, "nope", b, "input") == "linear has no output 'nope'"
    c = g.add("Add")
    g.connect(b, c)
    assert g.connection_problem(c, "output", c, "inputs") == "add cannot feed itself"
    assert g.connection_problem(c, "output", a, "input") == "linear.input is already connected"
    g.disconnect(x, a)
    assert g.connection_problem(c, "output", a, "input") == (
        "connecting add → linear would make a cycle"
    )
    assert g.connection_problem(x, "output", c, "inputs") is None
    ds = g.add("Input", shape=[3])
    assert g.connection_problem(a, "output", ds, "data") == (
        "linear.output carries tensor, but input_2.data takes data"
    )
    with pytest.raises(GraphError, match="cycle"):
        g.connect(c, a)


def test_set_validates_and_keeps_old_values_on_error() -> None:
    g, _, a, _ = chain()
    g.set(a, out_features=16)
    assert g.node(a).params["out_features"] == 16
    with pytest.raises(GraphError, match="out_features"):
        g.set(a, out_features=-1)
    assert g.node(a).params["out_features"] == 16


def test_remove_drops_touching_edges_and_disconnect_counts() -> None:
    g, _x, a, b = chain()
    assert g.disconnect(a, b) == 1
    assert g.disconnect(a, b) == 0
    g.connect(a, b)
    g.remove(a)
    assert a not in g and g.edges == []


def test_rename_must_stay_unique() -> None:
    g, _x, a, b = chain()
    g.rename(a, "fc1")
    assert g.node(a).name == "fc1" and g.by_name("fc1").id == a
    with pytest.raises(GraphError, match="already exists"):
        g.rename(b, "fc1")


def test_listeners_hear_every_edit() -> None:
    g = Graph()
    seen: list[str] = []
    unsubscribe = g.subscribe(lambda event, data: seen.append(event))
    x = g.add("Input", shape=[4])
    y = g.add("ReLU")
    g.connect(x, y)
    g.set(y)
    g.move(y, (10, 20))
    g.remove(y)
    unsubscribe()
    g.add("ReLU")
    assert seen == [
        "node_added",
        "node_added",
        "edge_added",
        "params_changed",
        "moved",
        "edge_removed",
        "node_removed",
    ]


def test_copy_is_independent() -> None:
    g, _, a, _ = chain()
    h = g.copy()
    h.set(a, out_features=99)
    assert g.node(a).params["out_features"] == 4
    assert h.to_dict() != g.to_dict()
