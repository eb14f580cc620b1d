"""Make Block…: the expose check boxes can be seen on the dark palette, and rows default to
exposed names that never merge by accident."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from designer import style
from designer.widgets.make_block_dialog import MakeBlockDialog
from engine.graph import Graph


def _graph() -> tuple[Graph, list[str]]:
    g = Graph()
    x = g.add("Input", shape=[4])
    a = g.add("Linear", out_features=8)
    b = g.add("Linear", out_features=2)
    g.connect(x, a)
    g.connect(a, b)
    return g, [a, b]


def test_default_exposed_names_are_unique(qtbot: Any) -> None:
    g, ids = _graph()
    dlg = MakeBlockDialog(g, ids, "Pair")
    qtbot.addWidget(dlg)
    rows = dlg.items()
    names = [it.text(1) for it in rows.values()]
    assert len(names) == len(set(names)), names
    a, b = (g.nodes[i].name for i in ids)
    assert rows[f"{a}.out_features"].text(1) != rows[f"{b}.out_features"].text(1)
    assert rows[f"{a}.bias"].text(1) != rows[f"{b}.bias"].text(1)
    for ref in (f"{a}.out_features", f"{b}.out_features"):
        rows[ref].setCheckState(0, Qt.CheckState.Checked)
    _, expose = dlg.values()
    assert sorted(len(v) for v in expose.values()) == [1, 1]  # two parameters, not merged
    dlg.expose(f"{b}.out_features", rows[f"{a}.out_features"].text(1))  # merged when asked
    assert [len(v) for v in dlg.values()[1].values()] == [2]


def test_a_name_used_by_one_node_only_stays_plain(qtbot: Any) -> None:
    g = Graph()
    x = g.add("Input", shape=[1, 8, 8])
    c = g.add("Conv2d", out_channels=4, kernel_size=3)
    g.connect(x, c)
    dlg = MakeBlockDialog(g, [c], "One")
    qtbot.addWidget(dlg)
    assert dlg.items()[f"{g.nodes[c].name}.out_channels"].text(1) == "out_channels"


def test_the_check_boxes_stand_out_from_the_dark_background(qtbot: Any) -> None:
    app = QApplication.instance()
    old_style, old_palette, old_sheet = app.style().name(), app.palette(), app.styleSheet()
    style.apply_dark_palette(app)
    try:
        g, ids = _graph()
        dlg = MakeBlockDialog(g, ids, "Pair")
        qtbot.addWidget(dlg)
        dlg.show()
        qtbot.waitExposed(dlg)
        tree = dlg.tree
        item = tree.topLevelItem(0)
        rect = tree.visualItemRect(item)
        img = tree.viewport().grab().toImage()
        box = [
            img.pixelColor(x, y)
            for x in range(rect.left(), rect.left() + 20)  # the indicator, left of the text
            for y in range(rect.top(), rect.bottom())
        ]
        base = tree.palette().base().color()
        contrast = max(abs(c.lightness() - base.lightness()) for c in box)
        assert contrast >= 60, contrast
    finally:
        app.setStyle(old_style)
        app.setPalette(old_palette)
        app.setStyleSheet(old_sheet)
