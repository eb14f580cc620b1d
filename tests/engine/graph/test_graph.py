"""The Graph API scripts and the GUI share: ids, connect rules, edits, events."""

from __future__ import annotations

import pytest

from engine import Graph, GraphError
from engine.graph import (
    EdgeAdded,
    EdgeRemoved,
    GraphEvent,
    Moved,
    NodeAdded,
    NodeRemoved,
    ParamsChanged,
)


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
    seen: list[GraphEvent] = []
    unsubscribe = g.subscribe(seen.append)
    x = g.add("Input", shape=[4])
    y = g.add("ReLU")
    g.connect(x, y)
    g.set(y)
    g.move(y, (10, 20))
    g.remove(y)
    unsubscribe()
    g.add("ReLU")
    assert seen == [
        NodeAdded(x),
        NodeAdded(y),
        EdgeAdded(g_edge := seen[2].edge),
        ParamsChanged(y, ()),
        Moved(y),
        EdgeRemoved(g_edge),
        NodeRemoved(y),
    ]
    assert (g_edge.src, g_edge.dst) == (x, y)
    assert all(isinstance(e, GraphEvent) for e in seen)


def test_copy_is_independent() -> None:
    g, _, a, _ = chain()
    h = g.copy()
    h.set(a, out_features=99)
    assert g.node(a).params["out_features"] == 4
    assert h.to_dict() != g.to_dict()


# -- the indexes stay true whatever edits the graph (or its callers) make ------------------
def _scan(g: Graph) -> dict[str, object]:
    """What every indexed lookup must answer, computed the slow way from the plain data."""
    return {
        "in": {n: [e for e in g.edges if e.dst == n] for n in g.nodes},
        "out": {n: [e for e in g.edges if e.src == n] for n in g.nodes},
        "names": {n.name: n.id for n in reversed(list(g.nodes.values()))},
    }


def _assert_indexes_true(g: Graph) -> None:
    want = _scan(g)
    for n in g.nodes:
        assert sorted(g.in_edges(n), key=str) == sorted(want["in"][n], key=str)  # type: ignore[index]
        assert g.out_edges(n) == want["out"][n]  # type: ignore[index]
    for name, nid in want["names"].items():  # type: ignore[attr-defined]
        assert g.by_name(name).id == nid
    for e in g.edges:
        assert e in g.edges


def test_indexes_follow_graph_edits() -> None:
    g, _, a, b = chain()
    c = g.add("Linear", out_features=4)
    g.connect(b, c)
    _assert_indexes_true(g)
    g.rename(a, "first")
    g.disconnect(a, b)
    _assert_indexes_true(g)
    with pytest.raises(GraphError):
        g.by_name(a)  # the old name is free
    g.connect(a, b)
    g.remove(b)
    _assert_indexes_true(g)
    assert g.add("ReLU") == "relu"  # its id is free again
    assert g.out_edges(a) == [] and g.in_edges(c) == []


def test_indexes_survive_direct_changes_of_edges_and_nodes() -> None:
    """The designer changes ``edges`` in place (undo's sort, ``edges[:] = ...``)."""
    g, x, a, b = chain()
    e_xa, e_ab = list(g.edges)
    g.edges[:] = [e_ab]
    assert g.in_edges(a) == [] and e_xa not in g.edges and g.out_edges(a) == [e_ab]
    assert g.connection_problem(x, "output", a, "input") is None
    g.edges[:] = [e_ab, e_xa]
    g.edges.sort(key=str)
    _assert_indexes_true(g)
    g.edges.append(g.edges.pop())
    g.edges.insert(0, g.edges.pop())
    del g.edges[0]
    _assert_indexes_true(g)
    g.edges = [e_xa, e_ab]  # whole assignment
    _assert_indexes_true(g)
    assert g.connection_problem(x, "output", a, "input") == "these ports are already connected"

    g.nodes = dict(reversed(list(g.nodes.items())))  # undo restores node order like this
    _assert_indexes_true(g)
    g.nodes[a].name = "renamed_directly"
    assert g.by_name("renamed_directly").id == a
    with pytest.raises(GraphError):
        g.add("ReLU", name="renamed_directly")
    node = g.nodes.pop(b)
    with pytest.raises(GraphError):
        g.by_name(node.name)


def test_copies_and_pickles_rebuild_their_indexes() -> None:
    import copy
    import pickle

    g, x, a, _ = chain()
    for h in (
        g.copy(),
        copy.deepcopy(g),
        pickle.loads(pickle.dumps(Graph(nodes=g.nodes, edges=g.edges))),
    ):
        _assert_indexes_true(h)
        assert h == g
        h.disconnect(x, a)
        assert g.out_edges(x) and not h.out_edges(x)


def test_fresh_ids_take_the_smallest_free_number() -> None:
    g = Graph()
    ids = [g.add("ReLU") for _ in range(5)]
    assert ids == ["relu", "relu_2", "relu_3", "relu_4", "relu_5"]
    g.remove("relu_3")
    assert g.add("ReLU") == "relu_3"
    g.rename("relu_4", "act")  # the name relu_4 is free, but the id is not
    assert g.add("ReLU") == "relu_6"
    g.add("ReLU", name="relu_7")  # a name takes the number too
    assert g.add("ReLU") == "relu_8"


def test_remove_emits_edges_in_list_order_and_disconnect_by_edge() -> None:
    g = Graph()
    x = g.add("Input", shape=[4])
    cat = g.add("Concat")
    ys = [g.add("Linear", out_features=2) for _ in range(3)]
    for y in ys:
        g.connect(x, y)
        g.connect(y, cat)
    heard: list[object] = []
    g.subscribe(lambda ev: heard.append(ev.edge) if isinstance(ev, EdgeRemoved) else None)
    before = [e for e in g.edges if x in (e.src, e.dst)]
    g.remove(x)
    assert heard == before
    assert [e.src for e in g.in_edges(cat)] == ys  # connection order kept
    assert g.disconnect(g.in_edges(cat)[1]) == 1
    assert [e.src for e in g.in_edges(cat)] == [ys[0], ys[2]]
    assert g.disconnect(g.edges[0]) == 1 and g.disconnect(g.edges[0]) == 1 and g.edges == []


def test_from_dict_accepts_a_cycle_and_edges_in_any_order() -> None:
    g, _, a, b = chain()
    c = g.add("Linear", out_features=4)
    g.connect(b, c)
    d = g.to_dict()
    d["edges"].reverse()
    h = Graph.from_dict(d)
    assert set(h.edges) == set(g.edges)
    d["edges"].append({"from": c, "from_port": "output", "to": a, "to_port": "input"})
    with pytest.raises(GraphError, match="already connected"):
        Graph.from_dict(d)  # a's single input is taken: refused even with cycles allowed
    d["edges"] = [e for e in d["edges"] if e["to"] != a or e["from"] == c]
    cyc = Graph.from_dict(d)
    assert cyc.reaches(a, c) and cyc.reaches(c, a)


def test_to_dict_copies_params() -> None:
    g = Graph()
    x = g.add("Input", shape=[1, 2, 3])
    d = g.to_dict()
    d["nodes"][0]["params"]["shape"].append(9)
    assert g.nodes[x].params["shape"] == [1, 2, 3]
