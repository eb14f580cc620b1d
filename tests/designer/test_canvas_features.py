"""Minimap, frames, collapsed nodes, parameter tooltips and node help, in the main window."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QPointF, Qt

from designer import frames
from designer.app import MainWindow
from designer.files import examples
from designer.minimap import SETTING
from designer.panels.node_help import param_tooltip
from engine import catalog
from engine.graph.frames import Frame
from engine.project import load_project
from tests.support.paths import ROOT


def open_cnn(w: MainWindow) -> None:
    ex = next(p for p in examples() if p.stem == "digits_cnn")
    assert w.open_example(ex)
    w.document.check_now()


def visible_center(w: MainWindow) -> QPointF:
    v = w.canvas.viewer
    return v.mapToScene(v.viewport().rect()).boundingRect().center()


# -- minimap --------------------------------------------------------------------------------
def test_clicking_and_dragging_the_minimap_moves_the_view(window: MainWindow, qtbot: Any) -> None:
    w = window
    open_cnn(w)
    mm = w.minimap
    w.canvas.zoom(None)  # 1:1, so the view shows only part of the graph
    mm.rebuild()
    assert mm.isVisible()
    qtbot.wait(20)
    target = mm.to_map(mm.rects[-1][0]).center()  # the last node's place on the map
    goal = mm.to_scene(target)
    before = visible_center(w)
    qtbot.mouseClick(mm, Qt.MouseButton.LeftButton, pos=QPoint(int(target.x()), int(target.y())))
    after = visible_center(w)
    assert (after - before).manhattanLength() > 100
    assert (after - goal).manhattanLength() < 40
    # dragging follows the mouse
    start = mm.to_map(mm.rects[0][0]).center()
    qtbot.mousePress(mm, Qt.MouseButton.LeftButton, pos=QPoint(int(start.x()), int(start.y())))
    qtbot.mouseMove(mm, QPoint(int(start.x()) + 30, int(start.y())))
    qtbot.mouseRelease(mm, Qt.MouseButton.LeftButton)
    moved = visible_center(w)
    assert (moved - after).manhattanLength() > 100


def test_minimap_redraws_are_coalesced_and_the_toggle_is_kept(
    window: MainWindow, qtbot: Any
) -> None:
    w = window
    open_cnn(w)
    mm = w.minimap
    qtbot.wait(300)
    n = mm.rebuilds
    for i in range(10):  # ten edits in a burst: one gathering of the rectangles
        w.canvas.add_node_at("ReLU", (100.0 * i, 900.0))
    qtbot.waitUntil(lambda: mm.rebuilds > n, timeout=3000)
    qtbot.wait(300)
    assert mm.rebuilds - n == 1
    assert len(mm.rects) == len(w.document.graph)
    a = w.actions_by_name["minimap"]
    a.setChecked(False)
    assert not mm.isVisible()
    from designer.files import settings

    assert settings().value(SETTING) == "false"


# -- frames and collapse ----------------------------------------------------------------------
def test_frames_are_undoable_and_round_trip_through_the_project_file(
    window: MainWindow, tmp_path: Path
) -> None:
    w = window
    open_cnn(w)
    layer = w.frame_layer
    ids = list(w.document.graph.nodes)[:3]
    w.canvas.select(ids)
    i = layer.add_around_selection()
    f = w.document.graph.frames[i]
    inside = [w.canvas._views[n].view.sceneBoundingRect() for n in ids]
    assert all(QPointF(*f.rect[:2]).x() <= r.left() for r in inside)
    assert len(layer.items) == 1  # drawn on the canvas
    layer.ask_title = lambda _cur: "Data"
    layer.rename(i)
    layer.ask_color = lambda _cur: "#aa5500"
    layer.recolor(i)
    layer.commit_rect(i, (0.0, 0.0, 640.0, 320.0))
    assert w.document.graph.frames == (Frame("Data", "#aa5500", (0.0, 0.0, 640.0, 320.0)),)
    assert layer.items[0].frame.title == "Data"
    path = tmp_path / "framed.json"
    assert w._save_to(path)
    assert json.loads(path.read_text())["frames"] == [
        {"title": "Data", "color": "#aa5500", "rect": [0.0, 0.0, 640.0, 320.0]}
    ]
    stack = w.document.undo_stack
    for _ in range(3):  # move, recolour, rename undone: the frame as it was made
        stack.undo()
    assert w.document.graph.frames == (f,)
    stack.undo()
    assert w.document.graph.frames == () and layer.items == []
    stack.redo()
    assert len(layer.items) == 1
    frames.remove_frame(w.document, 0)
    assert layer.items == []
    assert w.open_path(path)
    assert w.document.graph.frames[0].title == "Data"
    assert [it.frame.title for it in w.frame_layer.items] == ["Data"]


def test_collapse_shows_the_title_only_and_round_trips(window: MainWindow, tmp_path: Path) -> None:
    w = window
    open_cnn(w)
    nid = next(n for n, node in w.document.graph.nodes.items() if node.type == "Conv2d")
    view = w.canvas._views[nid].view
    full = view.height
    w.canvas.select([nid])
    w.actions_by_name["collapse"].trigger()
    assert nid in w.document.graph.collapsed
    assert view.height == frames.COLLAPSED_H < full
    assert not any(t.isVisible() for t in view._input_items.values())
    path = tmp_path / "collapsed.json"
    assert w._save_to(path)
    assert load_project(path).collapsed == frozenset({nid})
    w.document.undo_stack.undo()
    assert nid not in w.document.graph.collapsed and view.height == full
    assert w.open_path(path)
    assert w.canvas._views[nid].view.height == frames.COLLAPSED_H


# -- tooltips and node help -------------------------------------------------------------------
def test_parameter_tooltips_are_plain_text_from_the_catalog(window: MainWindow) -> None:
    w = window
    open_cnn(w)
    nid = next(n for n, node in w.document.graph.nodes.items() if node.type == "Conv2d")
    w.canvas.select([nid])
    w.canvas._emit_selection_now()
    spec = catalog.get("Conv2d")
    assert w.properties.editors
    for p in spec.params:
        tip = w.properties.editors[p.name].toolTip()
        assert tip == param_tooltip(p)
        assert "<" not in tip and p.doc in tip


def test_node_help_for_conv2d_links_to_torch(window: MainWindow) -> None:
    w = window
    open_cnn(w)
    nid = next(n for n, node in w.document.graph.nodes.items() if node.type == "Conv2d")
    w.canvas.select([nid])
    w.actions_by_name["node_help"].trigger()  # F1
    assert w.dock_node_help.isVisible()
    d = w.node_help.doc
    assert d is not None and d.type == "Conv2d" and d.torch_ref == "torch.nn.Conv2d"
    url = "https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html"
    assert d.url == url
    html = w.node_help.browser.toHtml()
    assert url in html and "When to use it" in html
    text = w.node_help.browser.toPlainText()
    assert "out_channels" in text and spec_doc("Conv2d") in text
    w.node_help.show_type(None)
    w.canvas._emit_selection_now()
    from PySide6.QtWidgets import QToolButton

    button = w.properties.findChild(QToolButton, "node_help_button")
    assert button is not None
    button.click()
    assert w.node_help.type_name == "Conv2d"


def spec_doc(t: str) -> str:
    return catalog.get(t).doc


# -- start-up -------------------------------------------------------------------------------
def test_the_main_window_module_imports_no_data_or_export_libraries() -> None:
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "import designer.app\n"
        "designer.app.load_modules()\n"
        "bad = [m for m in ('sklearn', 'pandas', 'onnx', 'onnxruntime', 'engine.export',"
        " 'pyqtgraph') if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_dragging_a_frame_title_on_the_canvas_moves_it_in_one_undo_step(
    window: MainWindow, qtbot: Any
) -> None:
    from PySide6.QtTest import QTest

    w = window
    open_cnn(w)
    w.canvas.select(list(w.document.graph.nodes)[:3])
    w.frame_layer.add_around_selection()
    x, y, fw, fh = w.document.graph.frames[0].rect
    v = w.canvas.viewer
    start = v.mapFromScene(QPointF(x + 60, y + 10))  # on the title bar
    vp = v.viewport()
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, 6):
        QTest.mouseMove(vp, start + QPoint(10 * i, 5 * i))
    QTest.mouseRelease(
        vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(50, 25)
    )
    nx, ny, nw, nh = w.document.graph.frames[0].rect
    assert nx > x + 20 and ny > y + 10 and (nw, nh) == (fw, fh)
    w.document.undo_stack.undo()
    assert w.document.graph.frames[0].rect == (x, y, fw, fh)
