"""The undo stack keeps engine ops and their inverses: undo/redo give back the same project."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from designer.document import Document
from designer.undo import OpCommand
from engine.graph import Edge, GraphError
from engine.graph.ops import Batch, Connect, Move, SetParams
from engine.project import to_json


@pytest.fixture
def doc(qtbot: Any) -> Iterator[Document]:
    d = Document()
    yield d
    d.close()


def texts(doc: Document) -> list[str]:
    return [doc.undo_stack.text(i) for i in range(doc.undo_stack.count())]


def test_every_edit_undoes_and_redoes_to_the_same_project(doc: Document) -> None:
    states = [to_json(doc.graph)]

    def step() -> None:
        states.append(to_json(doc.graph))

    x = doc.add_node("Input", shape=[4])
    step()
    x2 = doc.add_node("Input", shape=[4], name="other")
    step()
    fc = doc.add_node("Linear", out_features=3)
    step()
    cat = doc.add_node("Concat", dim=1)
    step()
    doc.connect(x, "output", fc, "input")
    step()
    doc.connect(fc, "output", cat, "inputs")
    step()
    doc.connect(x2, "output", cat, "inputs")  # Concat's input order is edge order
    step()
    doc.connect(x2, "output", fc, "input")  # replaces x → fc
    step()
    doc.rename(fc, "fc1")
    step()
    doc.set_params(fc, out_features=5)
    step()
    doc.move_nodes({x: (10.0, 20.0), fc: (30.0, 40.0)})
    step()
    doc.silence(fc, "no-norm", "small model")
    step()
    relu = doc.insert_node("ReLU", fc, "output", cat, "inputs")
    step()
    pasted = doc.duplicate([fc, relu])
    step()
    doc.auto_layout()
    step()
    doc.disconnect([Edge(x2, "output", cat, "inputs")])
    step()
    doc.remove_bridging(relu)
    step()
    doc.remove_nodes([x2, pasted[0]])
    step()
    assert len(set(states)) == len(states)  # every step changed the project
    assert doc.undo_stack.count() == len(states) - 1
    for s in reversed(states[:-1]):
        doc.undo_stack.undo()
        assert to_json(doc.graph) == s
    for s in states[1:]:
        doc.undo_stack.redo()
        assert to_json(doc.graph) == s


def test_undo_texts_come_from_the_ops(doc: Document) -> None:
    x = doc.add_node("Input", shape=[4])
    r = doc.add_node("ReLU")
    t = doc.add_node("Tanh")
    doc.connect(x, "output", r, "input")
    doc.move_nodes({x: (1.0, 1.0), r: (2.0, 2.0), t: (3.0, 3.0)})
    doc.rename(r, "act")
    doc.auto_layout()
    doc.remove_nodes([t])
    assert texts(doc) == [
        "Add Input",
        "Add ReLU",
        "Add Tanh",
        "Connect input → relu",
        "Move 3 nodes",
        "Rename relu to act",
        "Auto-layout",
        "Delete tanh",
    ]
    cmd = doc.undo_stack.command(4)
    assert isinstance(cmd, OpCommand) and isinstance(cmd.op, Batch)
    assert all(isinstance(o, Move) for o in cmd.op.ops)
    assert isinstance(doc.undo_stack.command(3).op, Connect)


def test_parameter_steps_merge_and_undo_to_the_first_value(doc: Document) -> None:
    fc = doc.add_node("Linear", out_features=2)
    before = to_json(doc.graph)
    for n in range(3, 9):
        doc.set_params(fc, out_features=n)
    doc.set_params(fc, out_features=8)  # no change: no step
    assert doc.undo_stack.count() == 2
    assert isinstance(doc.undo_stack.command(1).op, SetParams)
    doc.undo_stack.undo()
    assert to_json(doc.graph) == before


def test_refused_edits_leave_no_step_and_say_why(doc: Document, qtbot: Any) -> None:
    x = doc.add_node("Input", shape=[4])
    fc = doc.add_node("Linear")
    doc.connect(x, "output", fc, "input")
    before = to_json(doc.graph)
    with qtbot.waitSignal(doc.refused) as sig, pytest.raises(GraphError):
        doc.connect(fc, "output", x, "output")
    assert sig.args[0] == "input has no input 'output'"
    with pytest.raises(GraphError, match="already exists"):
        doc.rename(fc, "input")
    with pytest.raises(GraphError, match="must be at least 1"):
        doc.set_params(fc, out_features=0)
    with pytest.raises(GraphError, match="unknown node type"):
        doc.add_node("Conv9d")
    assert to_json(doc.graph) == before and doc.undo_stack.count() == 3


def test_connection_problem_allows_replacing_and_sees_dropped_wires(doc: Document) -> None:
    x = doc.add_node("Input", shape=[4])
    a = doc.add_node("ReLU")
    b = doc.add_node("ReLU")
    doc.connect(x, "output", a, "input")
    doc.connect(a, "output", b, "input")
    # a taken single input is replaced, not refused; the same wire again is
    assert doc.connection_problem(Edge(x, "output", b, "input")) is None
    assert doc.connection_problem(Edge(x, "output", a, "input")) == (
        "these ports are already connected"
    )
    # b → a would close a cycle, unless the a → b wire is being dragged off
    assert "cycle" in (doc.connection_problem(Edge(b, "output", a, "input")) or "")
    assert (
        doc.connection_problem(Edge(b, "output", a, "input"), [Edge(a, "output", b, "input")])
        is None
    )
    assert len(doc.graph.edges) == 2  # the dry runs changed nothing
