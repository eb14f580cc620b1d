"""The main window through its own actions: palette, properties, undo, files, examples."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from designer.app import MainWindow
from designer.files import Autosaver, examples, find_recoveries, recent_files
from designer.widgets.param_editors import ParamEditor
from engine import Graph, catalog, save_project
from engine.project import load_project, to_json


def palette_add(w: MainWindow, type_name: str) -> str:
    """Double-click the palette entry, as a user would; returns the new node's id."""
    before = set(w.document.graph.nodes)
    item = w.palette._items[type_name]
    w.palette.tree.itemActivated.emit(item, 0)
    (new,) = set(w.document.graph.nodes) - before
    return new


def editor(w: MainWindow, name: str) -> ParamEditor:
    w.canvas._emit_selection_now()
    return w.properties.editors[name]


def test_build_a_small_cnn_with_palette_properties_and_fix(window: MainWindow) -> None:
    w = window
    doc = w.document
    x = palette_add(w, "Input")
    w.canvas.select([x])
    w.canvas._emit_selection_now()
    shape = w.properties.editors["shape"]
    shape.edit.setText("1, 12, 12")  # type: ignore[attr-defined]
    shape.edit.editingFinished.emit()  # type: ignore[attr-defined]
    assert doc.graph.nodes[x].params["shape"] == [1, 12, 12]
    conv = palette_add(w, "Conv2d")  # wired after the selected Input
    lin = palette_add(w, "Linear")  # wired after the new Conv2d (it is selected)
    assert [(e.src, e.dst) for e in doc.graph.edges] == [(x, conv), (conv, lin)]
    w.canvas.select([conv])
    ed = editor(w, "out_channels")
    ed.edit.setText("4")  # type: ignore[attr-defined]
    ed.edit.editingFinished.emit()  # type: ignore[attr-defined]
    assert doc.graph.nodes[conv].params["out_channels"] == 4
    rep = doc.wait_checked()
    assert rep is not None
    assert rep.shapes[conv] == (4, 10, 10)
    assert "4×10×10" in w.canvas._tags[conv].text()
    # the obvious fix is offered in the properties panel of the Linear
    w.canvas.select([lin])
    w.canvas._emit_selection_now()
    buttons = [b for b in w.properties.findChildren(object) if b.objectName() == "fix_button"]
    assert buttons and "Flatten" in buttons[0].text()
    buttons[0].click()
    rep = doc.wait_checked()
    assert rep is not None and rep.ok and rep.shapes[lin] == (64,)
    assert "parameters" in w.status_params.text()
    assert f"{rep.total_params:,}" in w.status_params.text()
    assert "class" in w.code.regenerate() and "nn.Flatten" in w.code.text()


def test_invalid_values_refused_with_reason(window: MainWindow) -> None:
    w = window
    conv = palette_add(w, "Conv2d")
    w.canvas.select([conv])
    ks = editor(w, "kernel_size")
    ks.edit.setText("0")  # type: ignore[attr-defined]
    ks.edit.editingFinished.emit()  # type: ignore[attr-defined]
    assert ks.error() is not None and "at least 1" in ks.error()  # type: ignore[operator]
    assert "at least 1" in ks.toolTip()
    assert w.document.graph.nodes[conv].params["kernel_size"] == 3
    ks.edit.setText("3, x")  # type: ignore[attr-defined]
    ks.edit.editingFinished.emit()  # type: ignore[attr-defined]
    assert "not a list of numbers" in (ks.error() or "")
    ks.edit.setText("5, 3")  # type: ignore[attr-defined]
    ks.edit.editingFinished.emit()  # type: ignore[attr-defined]
    assert ks.error() is None
    assert w.document.graph.nodes[conv].params["kernel_size"] == [5, 3]
    other = palette_add(w, "ReLU")
    w.canvas.select([conv])
    w.canvas._emit_selection_now()
    name = w.properties.name_edit
    assert name is not None
    name.setText(w.document.graph.nodes[other].name)
    name.editingFinished.emit()
    assert "already exists" in name.toolTip()


def test_undo_redo_every_edit(window: MainWindow) -> None:
    w = window
    doc = w.document
    empty = to_json(doc.graph)
    states = [empty]
    a = palette_add(w, "Input")
    states.append(to_json(doc.graph))
    w.canvas.select([a])
    b = palette_add(w, "Linear")
    states.append(to_json(doc.graph))
    doc.set_params(b, out_features=7)
    states.append(to_json(doc.graph))
    doc.rename(b, "head")
    states.append(to_json(doc.graph))
    w.canvas.select([a])
    w.actions_by_name["delete"].trigger()
    states.append(to_json(doc.graph))
    assert w.isWindowModified()
    undo, redo = w.actions_by_name["undo"], w.actions_by_name["redo"]
    for s in reversed(states[:-1]):
        undo.trigger()
        assert to_json(doc.graph) == s
    assert not w.isWindowModified()
    for s in states[1:]:
        redo.trigger()
        assert to_json(doc.graph) == s
    assert QKeySequence("Ctrl+Shift+Z") in redo.shortcuts()


def test_save_and_reopen_identical(window: MainWindow, tmp_path: Path) -> None:
    w = window
    doc = w.document
    a = palette_add(w, "Input")
    w.canvas.select([a])
    palette_add(w, "Flatten")
    palette_add(w, "Linear")
    path = tmp_path / "net.json"
    w.ask_save_path = lambda: str(path)
    assert w.save()
    assert not w.isWindowModified() and "net.json" in w.windowTitle()
    saved = to_json(doc.graph)
    w.document.new()
    assert w.open_path(path)
    assert to_json(w.document.graph) == saved == path.read_text()
    assert load_project(path).to_dict() == w.document.graph.to_dict()
    assert path.resolve() in [p.resolve() for p in recent_files()]


def test_cli_file_round_trip_changes_only_the_edit(window: MainWindow, tmp_path: Path) -> None:
    g = Graph(name="cli")
    x = g.add("Input", shape=[3, 16, 16])
    c = g.add("Conv2d", out_channels=8, padding=1)
    f = g.add("Flatten")
    lin = g.add("Linear", out_features=10)
    g.connect(x, c)
    g.connect(c, f)
    g.connect(f, lin)
    path = tmp_path / "cli.json"
    save_project(g, path)
    original = path.read_bytes()
    w = window
    assert w.open_path(path)
    w.document.wait_checked()
    assert w.save()
    assert path.read_bytes() == original  # nothing changed, nothing differs
    w.document.set_params(c, out_channels=16)
    assert w.save()
    before = json.loads(original)
    after = json.loads(path.read_bytes())
    before["nodes"][1]["params"]["out_channels"] = 16
    assert after == before


def test_modified_marker_and_prompt_before_losing_changes(window: MainWindow) -> None:
    w = window
    palette_add(w, "ReLU")
    assert w.isWindowModified() and "[*]" in w.windowTitle()
    asked = []
    w.ask_save_changes = lambda: asked.append(1) or "cancel"
    w.new_file()
    assert asked and len(w.document.graph) == 1  # cancelled: nothing lost
    w.ask_save_changes = lambda: "discard"
    w.new_file()
    assert len(w.document.graph) == 0 and not w.isWindowModified()


def test_examples_menu_opens_each_bundled_example(window: MainWindow) -> None:
    w = window
    found = examples()
    assert found, "resources/examples holds the bundled projects"
    actions = {a.data(): a for a in w.examples_menu.actions() if a.data()}
    assert set(actions) == {str(p) for p in found}
    for p in found:
        actions[str(p)].trigger()
        assert w.last_error == ""
        assert len(w.document.graph) == len(load_project(p).nodes)
        assert w.document.path is None  # an example opens as an untitled copy
        rep = w.document.wait_checked(60)
        assert rep is not None
        assert rep.ok, (p.name, [d.message for d in rep.errors])  # data paths resolve too
        assert len(w.canvas._views) == len(w.document.graph)


def test_open_bad_file_shows_reason(window: MainWindow, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert not window.open_path(bad)
    assert "not valid JSON" in window.last_error


def test_autosave_and_recovery_after_a_crash(window: MainWindow, qtbot: Any) -> None:
    w = window
    palette_add(w, "Input")
    palette_add(w, "ReLU")
    side = w.autosaver.save_now()
    assert side is not None and side.exists()
    state = to_json(w.document.graph)
    doc = json.loads(side.read_text())
    doc["pid"] = _dead_pid()  # as if that Torchwire had crashed
    side.write_text(json.dumps(doc))
    recs = find_recoveries()
    assert len(recs) == 1
    w2 = MainWindow()
    qtbot.addWidget(w2)
    w2.ask_save_changes = lambda: "discard"
    w2.ask_recover = lambda recs: recs[0]
    assert w2.offer_recovery()
    assert to_json(w2.document.graph) == state and w2.document.modified
    assert find_recoveries() == []
    w2.close()


def test_autosave_removed_when_saved(window: MainWindow, tmp_path: Path) -> None:
    w = window
    palette_add(w, "ReLU")
    assert isinstance(w.autosaver, Autosaver)
    side = w.autosaver.save_now()
    assert side is not None and side.exists()
    w.ask_save_path = lambda: str(tmp_path / "x.json")
    assert w.save()
    assert not side.exists()


def test_shortcuts(window: MainWindow) -> None:
    a = window.actions_by_name
    want = {
        "save": "Ctrl+S",
        "undo": "Ctrl+Z",
        "duplicate": "Ctrl+D",
        "delete": "Del",
        "fit": "F",
        "add_node": "Tab",
    }
    for name, key in want.items():
        assert QKeySequence(key) in a[name].shortcuts(), name
    # keys that would eat typing only work on the canvas
    for name in ("delete", "fit", "add_node", "duplicate"):
        assert a[name].shortcutContext() == Qt.ShortcutContext.WidgetWithChildrenShortcut


def test_palette_search_filters_and_shows_docs(window: MainWindow) -> None:
    p = window.palette
    p.search.setText("conv")
    vis = p.visible_types()
    assert "Conv2d" in vis and "ReLU" not in vis
    it = p._items["Conv2d"]
    assert it.data(0, Qt.ItemDataRole.UserRole + 1) == catalog.get("Conv2d").doc.split("\n")[0]
    md = p.tree.mimeData([it])
    assert bytes(md.data("application/x-torchwire-node").data()) == b"Conv2d"


def test_problems_double_click_selects_node(window: MainWindow) -> None:
    w = window
    lin = palette_add(w, "Linear")
    w.document.wait_checked()
    rows = w.problems.rows()
    assert any(nid == lin for nid, _ in rows)
    w.canvas.select([])
    item = next(
        w.problems.tree.topLevelItem(i)
        for i in range(w.problems.tree.topLevelItemCount())
        if w.problems.tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) == lin
    )
    w.problems.tree.itemDoubleClicked.emit(item, 0)
    assert w.canvas.selected_ids() == [lin]


def _dead_pid() -> int:
    pid = 999_999
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except OSError:
            pass
        pid -= 1


def test_canvas_keys_work_when_the_canvas_has_focus(window: MainWindow, qtbot: Any) -> None:
    from PySide6.QtTest import QTest

    w = window
    a = palette_add(w, "ReLU")
    w.activateWindow()
    v = w.canvas.viewer
    v.setFocus()
    qtbot.waitUntil(lambda: v.hasFocus(), timeout=2000)
    w.canvas.select([a])
    QTest.keyClick(v, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert len(w.document.graph) == 2
    QTest.keyClick(v, Qt.Key.Key_Delete)
    assert len(w.document.graph) == 1
    QTest.keyClick(v, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(w.document.graph) == 2
    QTest.keyClick(v, Qt.Key.Key_Tab)
    assert w.canvas.search.isVisible()
    w.canvas.search.hide()
    # typing in a panel never reaches the canvas keys
    w.palette.search.setFocus()
    qtbot.waitUntil(lambda: w.palette.search.hasFocus(), timeout=2000)
    QTest.keyClick(w.palette.search, Qt.Key.Key_F)
    QTest.keyClick(w.palette.search, Qt.Key.Key_Delete)
    assert len(w.document.graph) == 2 and w.palette.search.text() == "f"


def test_drop_from_palette_adds_at_the_drop_point(window: MainWindow) -> None:
    from PySide6.QtCore import QPoint

    w = window
    md = w.palette.tree.mimeData([w.palette._items["Conv2d"]])
    w.canvas.viewer.data_dropped.emit(md, QPoint(120, -40))
    (node,) = list(w.document.graph)
    assert node.type == "Conv2d" and node.pos == (120.0, -40.0)
    assert w.canvas.selected_ids() == [node.id]


def test_save_as_elsewhere_keeps_data_files_reachable(window: MainWindow, tmp_path: Path) -> None:
    w = window
    example = next(p for p in examples() if p.stem == "csv_tabular")
    w.open_example(example)
    rep = w.document.wait_checked(60)
    assert rep is not None and rep.ok
    target = tmp_path / "mine" / "tabular.json"
    w.ask_save_path = lambda: str(target)
    assert w.save()
    saved = json.loads(target.read_text())
    (csv,) = [n for n in saved["nodes"] if n["type"] == "CSVDataset"]
    assert (target.parent / csv["params"]["path"]).resolve().is_file()
    assert not w.isWindowModified()
    w.document.new()
    assert w.open_path(target)
    rep = w.document.wait_checked(60)
    assert rep is not None and rep.ok, [d.message for d in rep.errors]


def test_digits_cnn_from_an_empty_canvas_is_ready_to_train(window: MainWindow) -> None:
    """The issue's walk-through: palette only (plus one drag for the targets wire)."""
    from tests.designer.test_canvas import gesture_connect

    w = window
    doc = w.document
    chain = ["Digits", "Split", "Standardize", "Batch", "Input", "Conv2d", "ReLU", "MaxPool2d"]
    chain += ["Flatten", "Linear", "CrossEntropyLoss"]
    ids = []
    for t in chain:
        ids.append(palette_add(w, t))  # each is wired after the previous (selected) node
    nodes = dict(zip(chain, ids))
    assert len(doc.graph.edges) == len(chain) - 1
    doc.set_params(nodes["Linear"], out_features=10)
    gesture_connect(w.canvas, nodes["Batch"], "targets", nodes["CrossEntropyLoss"], "target")
    w.canvas.select([nodes["CrossEntropyLoss"]])
    palette_add(w, "AdamW")
    rep = doc.wait_checked(60)
    assert rep is not None and rep.ok, [d.message for d in rep.errors]
    assert rep.shapes[nodes["Input"]] == (1, 8, 8)  # taken from the dataset
    assert rep.shapes[nodes["Conv2d"]] == (16, 6, 6)
    assert rep.extra.get("ready_to_train") is True
    assert "ready to train" in w.status_ready.text() and "not" not in w.status_ready.text()


def test_dock_layout_survives_a_restart(window: MainWindow, qtbot: Any) -> None:
    window.dock_code.raise_()
    window.dock_palette.hide()
    window.close()
    w2 = MainWindow()
    qtbot.addWidget(w2)
    w2.ask_save_changes = lambda: "discard"
    w2.show()
    assert not w2.dock_palette.isVisible()
    w2.close()


def test_data_node_properties_show_what_it_delivers(window: MainWindow) -> None:
    w = window
    d = palette_add(w, "Iris")
    w.document.wait_checked(60)
    w.canvas.select([d])
    w.canvas._emit_selection_now()
    text = w.properties.info.text()
    assert "150" in text and "classification, 3 classes" in text


def test_run_shows_the_window_then_opens_the_file(qtbot: Any) -> None:
    """``torchwire FILE``: what the entry point does, in this process."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from designer.app import run

    example = next(p for p in examples() if p.stem == "lenet")
    seen: dict[str, Any] = {}

    def poll() -> None:
        wins = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        win = next((w for w in wins if w.isVisible()), None)
        if win is not None and "shown" not in seen:
            seen["shown"] = True
        if win is not None and win.is_loaded and win.document.report is not None:
            seen["nodes"] = len(win.document.graph)
            seen["title"] = win.windowTitle()
            win.ask_save_changes = lambda: "discard"
            win.close()
            QApplication.quit()
            return
        QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)
    assert run([str(example)]) == 0
    assert seen["shown"] and seen["nodes"] == len(load_project(example).nodes)
    assert "lenet" in seen["title"]  # a bundled example opens as an untitled copy
