"""The Document: one graphChanged per edit, the live check off the GUI thread, never stale."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from designer.document import Document, snapshot_graph
from engine import Graph
from engine.graph import GraphError


@pytest.fixture
def doc(qtbot: Any) -> Iterator[Document]:
    d = Document()
    yield d
    d.close()


def test_one_graph_changed_per_edit_then_a_fresh_report(doc: Document, qtbot: Any) -> None:
    changes: list[int] = []
    doc.graphChanged.connect(lambda: changes.append(doc.graph.revision))
    x = doc.add_node("Input", shape=[3])
    lin = doc.add_node("Linear", out_features=5)
    doc.connect(x, "output", lin, "input")
    assert len(changes) == 3
    with qtbot.waitSignal(doc.reportReady, timeout=60_000) as sig:
        pass
    rep = sig.args[0]
    while rep.shapes.get(lin) != (5,):  # an earlier revision's report may come first
        with qtbot.waitSignal(doc.reportReady, timeout=60_000) as sig:
            pass
        rep = sig.args[0]
    assert doc.report is rep and rep.total_params == 3 * 5 + 5


def test_burst_of_edits_ends_with_the_latest_revision(doc: Document) -> None:
    x = doc.add_node("Input", shape=[4])
    lin = doc.add_node("Linear", out_features=1)
    doc.connect(x, "output", lin, "input")
    for n in range(2, 30):
        doc.set_params(lin, out_features=n)
    rep = doc.wait_checked()
    assert rep is not None and rep.shapes[lin] == (29,)


def test_refusals_raise_and_change_nothing(doc: Document, qtbot: Any) -> None:
    a = doc.add_node("ReLU")
    before = doc.to_json()
    with qtbot.waitSignal(doc.refused) as sig, pytest.raises(GraphError):
        doc.set_params(a, nonsense=1)
    assert "no parameter" in sig.args[0]
    with pytest.raises(GraphError):
        doc.add_node("NoSuchLayer")
    with pytest.raises(GraphError):
        doc.connect(a, "output", a, "input")
    assert doc.to_json() == before and doc.undo_stack.count() == 1


def test_edits_outside_the_undo_stack_still_mark_modified(doc: Document, qtbot: Any) -> None:
    doc.add_node("ReLU")
    doc.undo_stack.setClean()
    assert not doc.modified
    with qtbot.waitSignal(doc.graphChanged):
        doc.graph.add("Tanh")  # a script edits the graph directly
    assert doc.modified


def test_replace_graph_resets_undo_and_signals(doc: Document, qtbot: Any) -> None:
    doc.add_node("ReLU")
    g = Graph(name="other")
    g.add("Input", shape=[2])
    with qtbot.waitSignal(doc.graphReplaced):
        doc.replace_graph(g)
    assert doc.graph is g and doc.undo_stack.count() == 0 and not doc.modified
    rep = doc.wait_checked()
    assert rep is not None and rep.shapes[next(iter(g.nodes))] == (2,)


def test_snapshot_is_independent_and_keeps_the_path() -> None:
    g = Graph()
    x = g.add("Input", shape=[1, 2])
    g.source_path = "/tmp/p.json"
    s = snapshot_graph(g)
    s.nodes[x].params["shape"].append(3)
    assert g.nodes[x].params["shape"] == [1, 2]
    assert s.source_path == "/tmp/p.json"


def test_layout_puts_merges_after_both_branches() -> None:
    g = Graph()
    x = g.add("Input", shape=[4], pos=(0, 0))
    a = g.add("Linear", pos=(0, 0))
    b = g.add("ReLU", pos=(0, 0))
    c = g.add("Linear", pos=(0, 0))
    cat = g.add("Concat", pos=(0, 0))
    g.connect(x, a)
    g.connect(a, b)
    g.connect(x, c)
    g.connect(b, cat)
    g.connect(c, cat)
    doc = Document(g)
    doc.auto_layout()  # the engine's layered layout, one undo step
    pos = {n: g.nodes[n].pos for n in g.nodes}
    assert pos[x][0] < pos[a][0] < pos[b][0] < pos[cat][0]
    assert pos[c][0] == pos[a][0] and pos[c][1] != pos[a][1]
    doc.undo_stack.undo()
    assert all(g.nodes[n].pos == (0.0, 0.0) for n in g.nodes)
