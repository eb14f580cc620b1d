"""The designer's side of lints: silence one with a reason (undoable), the "remove" fix."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from designer.document import Document
from designer.panels.problems import LINT_ROLE, SILENCED_ROLE, ProblemsPanel
from engine.analysis.fixes import remove_fix
from engine.graph import GraphError


@pytest.fixture
def doc(qtbot: Any) -> Iterator[Document]:
    d = Document()
    yield d
    d.close()


def _two_linears(doc: Document) -> tuple[str, str]:
    x = doc.add_node("Input", shape=[4])
    a = doc.add_node("Linear", out_features=8)
    b = doc.add_node("Linear", out_features=2)
    doc.connect(x, "output", a, "input")
    doc.connect(a, "output", b, "input")
    return a, b


def _items(panel: ProblemsPanel) -> list[Any]:
    return [panel.tree.topLevelItem(i) for i in range(panel.tree.topLevelItemCount())]


def test_silence_from_the_problems_list_is_undoable(
    doc: Document, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, b = _two_linears(doc)
    panel = ProblemsPanel(doc)
    qtbot.addWidget(panel)
    rep = doc.wait_checked()
    panel.show_report(rep)
    (item,) = [it for it in _items(panel) if it.data(0, LINT_ROLE) == "linear-collapse"]
    assert "(fix available)" in item.text(2)
    from PySide6.QtWidgets import QInputDialog

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("low-rank on purpose", True))
    panel.ask_silence(b, "linear-collapse")
    assert doc.graph.nodes[b].silenced == {"linear-collapse": "low-rank on purpose"}
    rep = doc.wait_checked()
    panel.show_report(rep)
    assert not [d for d in rep.diagnostics if d.lint == "linear-collapse"]
    (row,) = [it for it in _items(panel) if it.data(0, SILENCED_ROLE)]
    assert "silenced: low-rank on purpose" in row.text(2)
    doc.undo_stack.undo()
    assert doc.graph.nodes[b].silenced == {}
    rep = doc.wait_checked()
    assert [d.node for d in rep.diagnostics if d.lint == "linear-collapse"] == [b]
    doc.undo_stack.redo()
    assert doc.graph.nodes[b].silenced
    doc.silence(b, "linear-collapse", None)  # "Unsilence"
    assert doc.graph.nodes[b].silenced == {}
    with pytest.raises(GraphError, match="say why"):
        doc.silence(b, "linear-collapse", "   ")


def test_silenced_survives_delete_and_undo(doc: Document) -> None:
    _, b = _two_linears(doc)
    doc.silence(b, "linear-collapse", "why not")
    doc.remove_nodes([b])
    doc.undo_stack.undo()
    assert doc.graph.nodes[b].silenced == {"linear-collapse": "why not"}


def test_remove_fix_bridges_the_wire_and_undoes(doc: Document) -> None:
    x = doc.add_node("Input", shape=[4])
    a = doc.add_node("Linear", out_features=3)
    drop = doc.add_node("Dropout")
    out = doc.add_node("Output")
    doc.connect(x, "output", a, "input")
    doc.connect(a, "output", drop, "input")
    doc.connect(drop, "output", out, "input")
    before = list(doc.graph.edges)
    fix = remove_fix(doc.graph, drop)
    assert fix.label == "Remove dropout (its input goes straight on)"
    doc.do(fix.op, fix.label)
    assert doc.undo_stack.undoText() == fix.label
    assert drop not in doc.graph.nodes
    assert [(e.src, e.dst) for e in doc.graph.edges] == [(x, a), (a, out)]
    doc.undo_stack.undo()
    assert drop in doc.graph.nodes and list(doc.graph.edges) == before
    with pytest.raises(GraphError, match="one input"):
        doc.remove_bridging(x)
