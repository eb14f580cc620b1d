"""Blocks in the designer: instances on the canvas, palette, Make Block…, Ungroup, inside
a block (breadcrumb) and the block library; every edit undoes to the same project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.graph import Graph
from engine.project import load_project, save_project, to_json
from tests.support.block_models import chain, resnet18


def mlp() -> Graph:
    g = Graph(name="mlp")
    x = g.add("Input", name="x", shape=[8], pos=(0, 0))
    chain(
        g,
        x,
        ("Linear", "fc1", {"out_features": 16}),
        ("ReLU", "act", {}),
        ("Linear", "fc2", {"out_features": 16}),
        ("Linear", "head", {"out_features": 3}),
    )
    for i, nid in enumerate(g.nodes):
        g.move(nid, (i * 240.0, 0.0))
    return g


def opened(window: Any, g: Graph, tmp_path: Path) -> Any:
    path = tmp_path / f"{g.name}.json"
    save_project(g, path)
    assert window.open_path(path)
    return window.document


def ids(doc: Any, names: list[str]) -> list[str]:
    return [doc.graph.by_name(n).id for n in names]


def test_a_project_with_blocks_opens_on_the_canvas(window: Any, tmp_path: Path) -> None:
    doc = opened(window, resnet18(32), tmp_path)
    c = window.canvas
    assert len(c._views) == len(doc.graph.nodes) == 16
    for nid, node in doc.graph.nodes.items():
        vn = c._views[nid]
        assert [p.name() for p in vn.input_ports()] == [p.name for p in node.spec.inputs]
        assert [p.name() for p in vn.output_ports()] == [p.name for p in node.spec.outputs]
    # wires into and out of instances are drawn
    assert len(c.pipes()) == len(doc.graph.edges)
    assert {"BasicBlock", "DownBlock"} <= set(window.palette.visible_types())


def test_make_block_dialog_then_undo_restores_the_project(window: Any, tmp_path: Path) -> None:
    doc = opened(window, mlp(), tmp_path)
    before = to_json(doc.graph)
    window.canvas.select(ids(doc, ["fc1", "act", "fc2"]))
    dlg = window.blocks.make_block_dialog()
    dlg.name_edit.setText("Trio")
    dlg.expose("fc1.out_features", "width")
    dlg.expose("fc2.out_features", "width")
    dlg.accept()
    g = doc.graph
    inst = [n for n in g.nodes.values() if n.type == "Trio"]
    assert len(inst) == 1 and inst[0].params == {"width": 16}
    assert len(g.nodes) == 3 and len(window.canvas._views) == 3
    assert window.canvas.selected_ids() == [inst[0].id]
    assert "Trio" in window.palette.visible_types()
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert to_json(doc.graph) == before
    assert len(window.canvas._views) == 5 and "Trio" not in window.palette._items
    doc.undo_stack.redo()
    assert any(n.type == "Trio" for n in doc.graph.nodes.values())


def test_make_block_dialog_shows_the_engines_refusal(window: Any, tmp_path: Path) -> None:
    doc = opened(window, mlp(), tmp_path)
    window.canvas.select(ids(doc, ["fc1", "act"]))
    dlg = window.blocks.make_block_dialog()
    dlg.name_edit.setText("Linear")  # a catalog type's name
    dlg.accept()
    assert dlg.message.isVisibleTo(dlg) and "already exists" in dlg.message.text()
    assert doc.undo_stack.count() == 0
    window.canvas.select(ids(doc, ["x", "fc1"]))  # an Input cannot go into a block
    assert window.blocks.make_block_dialog() is None
    assert "model layers only" in window.statusBar().currentMessage()


def test_palette_adds_an_instance_and_ungroup_undoes(window: Any, tmp_path: Path) -> None:
    doc = opened(window, resnet18(32), tmp_path)
    window.canvas.select([])
    n = len(doc.graph.nodes)
    window.palette._activated(window.palette._items["BasicBlock"])
    assert len(doc.graph.nodes) == n + 1
    new = window.canvas.selected_ids()
    assert len(new) == 1 and doc.graph.nodes[new[0]].type == "BasicBlock"
    doc.undo_stack.undo()
    before = to_json(doc.graph)
    inst = doc.graph.by_name("layer2_1").id
    made = window.blocks.ungroup(inst)
    assert len(made) == 7 and "layer2_1_conv1" in {doc.graph.nodes[m].name for m in made}
    assert doc.graph.by_name("layer2_1_conv1").params["out_channels"] == 128
    assert len(window.canvas._views) == len(doc.graph.nodes)
    doc.undo_stack.undo()
    assert to_json(doc.graph) == before
    assert len(window.canvas._views) == len(doc.graph.nodes)


def test_library_round_trip_through_the_ui(window: Any, tmp_path: Path) -> None:
    doc = opened(window, mlp(), tmp_path)
    lib = tmp_path / "blocks.json"
    window.canvas.select(ids(doc, ["fc1", "act", "fc2"]))
    window.blocks.save_selection(lib, "Trio", {"width": ["fc1.out_features"]})
    assert not doc.graph.blocks and len(doc.graph.nodes) == 5  # the project is untouched
    doc.new()
    window.blocks.library = {}
    assert window.blocks.open_library(lib) == ["Trio"]
    assert "Trio" in window.palette.visible_types()
    empty = to_json(doc.graph)
    window.palette._activated(window.palette._items["Trio"])
    g = doc.graph
    assert "Trio" in g.blocks and [n.type for n in g.nodes.values()] == ["Trio"]
    assert doc.undo_stack.count() == 1  # Batch(DefineBlock, AddNode): one step
    path = tmp_path / "uses.json"
    doc.save(path)
    assert load_project(path).blocks["Trio"].expose == {"width": ["fc1.out_features"]}
    doc.undo_stack.undo()
    assert to_json(doc.graph) == empty
    from designer.files import settings

    assert settings().value("blocks/library") == str(lib.resolve())


def test_edit_inside_a_block_and_back_out(window: Any, tmp_path: Path) -> None:
    doc = opened(window, resnet18(32), tmp_path)
    before = to_json(doc.graph)
    c = window.canvas
    inside = window.blocks.enter(doc.graph.by_name("layer3_1").id)
    bar = window.blocks.breadcrumb
    assert bar.isVisibleTo(window) and bar.text() == "resnet18 › layer3_1 (BasicBlock)"
    assert c.document is inside and len(c._views) == 9
    doc.check_now()
    conv = inside.graph.by_name("conv1").id
    assert tuple(inside.report.shapes[conv]) == (256, 2, 2)  # the entered instance's shapes
    inside.set_params(inside.graph.by_name("conv2").id, bias=True)  # via the properties path
    d = doc.graph.blocks["BasicBlock"]
    assert d.graph.by_name("conv2").params["bias"] is True  # the definition: every instance
    assert doc.undo_stack.count() == 1 and "(in BasicBlock)" in doc.undo_stack.text(0)
    inside.remove_nodes([inside.graph.by_name("relu1").id])
    assert "relu1" not in {n.name for n in doc.graph.blocks["BasicBlock"].graph.nodes.values()}
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert to_json(doc.graph) == before
    from PySide6.QtCore import QCoreApplication

    QCoreApplication.processEvents()
    assert inside.graph.by_name("conv2").params["bias"] is False  # the view followed undo
    assert len(c._views) == 9
    bar.root_button.click()
    assert c.document is doc and not bar.isVisibleTo(window)
    assert len(c._views) == len(doc.graph.nodes)
    assert c.selected_ids() == [doc.graph.by_name("layer3_1").id]


def test_menus_and_double_click(window: Any, qtbot: Any, tmp_path: Path) -> None:
    doc = opened(window, resnet18(32), tmp_path)
    c = window.canvas
    inst = doc.graph.by_name("layer1_1").id
    texts = [a.text() for a in c.build_context_menu(inst).actions()]
    assert {"&Make Block…", "&Edit Inside Block", "&Ungroup"} <= set(texts)
    plain = [a.text() for a in c.build_context_menu(doc.graph.by_name("fc").id).actions()]
    assert "&Make Block…" in plain and "&Ungroup" not in plain
    edit = next(
        m for m in window.blocks._menus() if window.actions_by_name["rename"] in m.actions()
    )
    assert window.blocks.act_make in edit.actions()
    c.nodeActivated.emit(inst)  # what a double-click on the node sends
    qtbot.waitUntil(lambda: window.blocks.inside is not None)
    assert c.document is window.blocks.inside and window.blocks.act_leave.isEnabled()
    assert window.blocks.ungroup() == []  # top level only
    window.blocks.act_leave.trigger()
    assert c.document is doc and window.blocks.inside is None
