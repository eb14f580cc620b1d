"""The canvas: generated node classes, gestures routed to the document, live shapes and marks."""

from __future__ import annotations

from typing import Any

import pytest

from designer.canvas import Canvas, ShapePipe, node_class_for, rank_specs
from designer.document import Document
from engine import catalog
from engine.analysis.fixes import Fix
from engine.graph import Edge
from engine.project import to_json


@pytest.fixture
def canvas(qtbot: Any) -> Canvas:
    doc = Document()
    c = Canvas(doc)
    qtbot.addWidget(c)
    c.resize(900, 600)
    c.show()
    return c


def ports(c: Canvas, nid: str, name: str, output: bool) -> Any:
    vn = c._views[nid]
    return (vn.outputs() if output else vn.inputs())[name].view


def gesture_connect(c: Canvas, src: str, sp: str, dst: str, dp: str) -> None:
    """What NodeGraphQt's viewer emits when the user drags a wire between two ports."""
    c.viewer.connection_changed.emit([], [(ports(c, src, sp, True), ports(c, dst, dp, False))])


def pipes_as_edges(c: Canvas) -> set[Edge]:
    return {e for e in (c.edge_of_pipe(p) for p in c.viewer.all_pipes()) if e is not None}


def test_every_catalog_type_gets_a_generated_class_with_its_ports() -> None:
    specs = list(catalog.all_specs())
    assert len(specs) > 40
    for spec in specs:
        cls = node_class_for(spec)
        assert spec.type == cls.SPEC_TYPE
        assert cls is node_class_for(spec)  # cached, one class per type
    concat = catalog.get("Concat")
    assert any(p.multi for p in concat.inputs)


def test_canvas_follows_graph_and_multi_input_ports(canvas: Canvas) -> None:
    doc = canvas.document
    a = doc.add_node("Input", shape=[8])
    b = doc.add_node("Linear", out_features=4)
    c2 = doc.add_node("Linear", out_features=6)
    cat = doc.add_node("Concat")
    for src, dst in ((a, b), (a, c2)):
        gesture_connect(canvas, src, "output", dst, "input")
    cat_in = catalog.get("Concat").inputs[0].name
    gesture_connect(canvas, b, "output", cat, cat_in)
    gesture_connect(canvas, c2, "output", cat, cat_in)
    assert pipes_as_edges(canvas) == set(doc.graph.edges)
    assert len(doc.graph.in_edges(cat)) == 2  # a multi-input port keeps both wires
    rep = doc.wait_checked()
    assert rep is not None and rep.shapes[cat] == (10,)
    assert "10" in canvas._tags[cat].text()
    labels = {canvas.edge_of_pipe(p): p.tag.text() for p in canvas.viewer.all_pipes()}
    assert labels[Edge(b, "output", cat, cat_in)] == "4"
    assert all(isinstance(p, ShapePipe) for p in canvas.viewer.all_pipes())


def test_incompatible_connection_is_refused_with_a_reason(canvas: Canvas, qtbot: Any) -> None:
    doc = canvas.document
    lin = doc.add_node("Linear")
    inp = doc.add_node("Input", shape=[4])
    data_port = next(p.name for p in catalog.get("Input").inputs if p.kind == "data")
    with qtbot.waitSignal(canvas.refused) as sig:
        gesture_connect(canvas, lin, "output", inp, data_port)
    assert "carries tensor" in sig.args[0] and "takes data" in sig.args[0]
    assert doc.graph.edges == []
    assert pipes_as_edges(canvas) == set()  # the wire NodeGraphQt drew is gone again


def test_cycle_is_refused(canvas: Canvas, qtbot: Any) -> None:
    doc = canvas.document
    a, b = doc.add_node("ReLU"), doc.add_node("Tanh")
    gesture_connect(canvas, a, "output", b, "input")
    with qtbot.waitSignal(canvas.refused) as sig:
        gesture_connect(canvas, b, "output", a, "input")
    assert "cycle" in sig.args[0]
    assert doc.graph.edges == [Edge(a, "output", b, "input")]


def test_replacing_a_wire_on_a_single_input_is_one_undo_step(canvas: Canvas) -> None:
    doc = canvas.document
    x, y, r = (
        doc.add_node("Input", shape=[3]),
        doc.add_node("Input", shape=[3]),
        doc.add_node("ReLU"),
    )
    gesture_connect(canvas, x, "output", r, "input")
    gesture_connect(canvas, y, "output", r, "input")
    assert doc.graph.edges == [Edge(y, "output", r, "input")]
    assert pipes_as_edges(canvas) == {Edge(y, "output", r, "input")}
    doc.undo_stack.undo()
    assert doc.graph.edges == [Edge(x, "output", r, "input")]
    assert pipes_as_edges(canvas) == {Edge(x, "output", r, "input")}


def test_errors_marked_on_the_right_node_with_tooltip(canvas: Canvas) -> None:
    doc = canvas.document
    a = doc.add_node("Input", shape=[1, 4, 4])
    conv = doc.add_node("Conv2d", kernel_size=7)
    doc.connect(a, "output", conv, "input")
    rep = doc.wait_checked()
    assert rep is not None and [d.node for d in rep.errors] == [conv]
    assert canvas._marks[conv] == "error" and canvas._marks[a] == ""
    tip = canvas._views[conv].view.toolTip()
    assert "too small" in tip
    assert canvas._tags[conv].text().startswith("⚠")
    doc.set_params(conv, kernel_size=3)
    doc.wait_checked()
    assert canvas._marks[conv] == "" and "2×2" in canvas._tags[conv].text()


def test_move_rename_delete_follow_and_undo(canvas: Canvas) -> None:
    doc = canvas.document
    a = doc.add_node("ReLU", pos=(0.0, 0.0))
    vn = canvas._views[a]
    vn.view.xy_pos = [300.0, 50.0]  # the user dragged it
    canvas.viewer.moved_nodes.emit({vn.view: [0.0, 0.0]})
    assert doc.graph.nodes[a].pos == (300.0, 50.0)
    canvas._user_renamed(vn.id, "act")
    assert doc.graph.nodes[a].name == "act" and vn.view.name == "act"
    canvas.select([a])
    canvas.delete_selected()
    assert a not in doc.graph.nodes and a not in canvas._views
    doc.undo_stack.undo()
    assert canvas._views[a].view.name == "act"
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.graph.nodes[a].pos == (0.0, 0.0) and canvas._views[a].view.xy_pos == [0.0, 0.0]


def test_copy_paste_and_duplicate_keep_inner_wires(canvas: Canvas) -> None:
    doc = canvas.document
    a, b = doc.add_node("Input", shape=[5]), doc.add_node("Linear", out_features=2)
    doc.connect(a, "output", b, "input")
    canvas.select([a, b])
    assert canvas.copy_selected()
    new = canvas.paste()
    assert len(new) == 2 and len(doc.graph.edges) == 2
    assert set(canvas.selected_ids()) == set(new)
    dup = canvas.duplicate_selected()
    assert len(dup) == 2 and len(doc.graph) == 6
    names = [n.name for n in doc.graph]
    assert len(set(names)) == len(names)
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert set(doc.graph.nodes) == {a, b}


def test_auto_layout_orders_columns_by_depth(canvas: Canvas) -> None:
    doc = canvas.document
    ids = [doc.add_node("Input", shape=[4], pos=(0.0, 0.0))]
    for _ in range(3):
        ids.append(doc.add_node("ReLU", pos=(0.0, 0.0)))
        doc.connect(ids[-2], "output", ids[-1], "input")
    canvas.auto_layout()
    xs = [doc.graph.nodes[i].pos[0] for i in ids]
    assert xs == sorted(xs) and len(set(xs)) == 4
    doc.undo_stack.undo()
    assert all(doc.graph.nodes[i].pos == (0.0, 0.0) for i in ids)


def test_search_ranks_names_before_docs() -> None:
    specs = list(catalog.all_specs())
    assert rank_specs(specs, "conv2d")[0].type == "Conv2d"
    assert rank_specs(specs, "lin")[0].type == "Linear"
    assert rank_specs(specs, "zzzz") == []


def test_tab_creator_adds_and_wires_after_selection(canvas: Canvas, qtbot: Any) -> None:
    doc = canvas.document
    a = doc.add_node("Input", shape=[6])
    canvas.select([a])
    canvas.show_search()
    canvas.search.edit.setText("linear")
    canvas.search.accept_current()
    new = [n for n in doc.graph.nodes if n != a]
    assert len(new) == 1 and doc.graph.nodes[new[0]].type == "Linear"
    assert doc.graph.edges == [Edge(a, "output", new[0], "input")]
    doc.undo_stack.undo()  # add + connect were one step
    assert list(doc.graph.nodes) == [a] and doc.graph.edges == []


def test_insert_flatten_fix(canvas: Canvas) -> None:
    doc = canvas.document
    a = doc.add_node("Input", shape=[1, 8, 8])
    conv = doc.add_node("Conv2d", out_channels=2)
    # a ReLU keeps Conv2d → Flatten → Linear from being the lint linear-collapse
    relu = doc.add_node("ReLU")
    lin = doc.add_node("Linear", out_features=3)
    doc.connect(a, "output", conv, "input")
    doc.connect(conv, "output", relu, "input")
    doc.connect(relu, "output", lin, "input")
    rep = doc.wait_checked()
    assert rep is not None
    fixes = [d.fix for d in rep.for_node(lin) if d.fix]
    assert fixes and isinstance(fixes[0], Fix) and fixes[0].label.startswith("Insert Flatten")
    before = to_json(doc.graph)
    menu = canvas.build_context_menu(lin)
    assert menu.actions()[0].text().startswith("Fix: Insert Flatten between")
    menu.actions()[0].trigger()
    flat = next(n.id for n in doc.graph if n.type == "Flatten")
    rep = doc.wait_checked()
    assert rep is not None and rep.shapes[lin] == (3,) and rep.shapes[flat] == (2 * 6 * 6,)
    assert not rep.for_node(lin)
    doc.undo_stack.undo()
    assert Edge(relu, "output", lin, "input") in doc.graph.edges and flat not in doc.graph.nodes
    assert to_json(doc.graph) == before


def test_wire_menu_inserts_a_node_or_deletes_the_wire(canvas: Canvas) -> None:
    doc = canvas.document
    a = doc.add_node("Input", shape=[4])
    b = doc.add_node("Linear", out_features=2)
    doc.connect(a, "output", b, "input")
    edge = doc.graph.edges[0]
    menu = canvas.build_wire_menu(edge)
    texts = [x.text() for x in menu.actions()]
    assert texts == ["Insert Node on Wire…", "Delete Connection"]
    menu.actions()[0].trigger()
    canvas.search.edit.setText("relu")
    canvas.search.accept_current()
    relu = next(n.id for n in doc.graph if n.type == "ReLU")
    assert set(doc.graph.edges) == {
        Edge(a, "output", relu, "input"),
        Edge(relu, "output", b, "input"),
    }
    assert pipes_as_edges(canvas) == set(doc.graph.edges)
    canvas.build_wire_menu(Edge(relu, "output", b, "input")).actions()[1].trigger()
    assert Edge(relu, "output", b, "input") not in doc.graph.edges
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.graph.edges == [edge] and relu not in doc.graph.nodes


def test_refused_replug_keeps_the_old_wire(canvas: Canvas, qtbot: Any) -> None:
    doc = canvas.document
    a = doc.add_node("Input", shape=[4])
    b = doc.add_node("ReLU")
    c = doc.add_node("Input", shape=[4])
    doc.connect(a, "output", b, "input")
    data_port = next(p.name for p in catalog.get("Input").inputs if p.kind == "data")
    old = (ports(canvas, b, "input", False), ports(canvas, a, "output", True))
    new = (ports(canvas, a, "output", True), ports(canvas, c, data_port, False))
    with qtbot.waitSignal(canvas.refused):
        canvas.viewer.connection_changed.emit([old], [new])  # drag a→b's end onto c.data
    assert doc.graph.edges == [Edge(a, "output", b, "input")]
    assert pipes_as_edges(canvas) == set(doc.graph.edges)


def test_zoom_in_out_and_actual_size(canvas: Canvas) -> None:
    canvas.document.add_node("ReLU")
    canvas.zoom(None)
    assert abs(canvas.viewer.transform().m11() - 1.0) < 0.02
    canvas.zoom(1.2)
    assert abs(canvas.viewer.transform().m11() - 1.2) < 0.02
    canvas.zoom(1 / 1.2)
    canvas.zoom(1 / 1.2)
    assert abs(canvas.viewer.transform().m11() - 1 / 1.2) < 0.02
