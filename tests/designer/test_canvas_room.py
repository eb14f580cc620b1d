"""The canvas keeps its room: the minimap sits where it hides no node of the bundled
example's first screen, and in a small window the docks give the canvas its share even when
a layout saved on a larger screen is restored."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QRect, Qt

from designer.app import CANVAS_SHARE, MainWindow
from tests.support.paths import EXAMPLES


def _hidden_nodes(window: MainWindow) -> list[str]:
    mm = window.minimap
    v = window.canvas.viewer
    box = QRect(mm.pos(), mm.size())
    return [
        nid
        for nid, vn in window.canvas._views.items()
        if box.intersects(v.mapFromScene(vn.view.sceneBoundingRect()).boundingRect())
    ]


@pytest.mark.parametrize("size", [(1500, 920), (1280, 720), (1024, 700)])
def test_the_minimap_hides_no_node_of_the_first_screen(
    window: MainWindow, qtbot: Any, size: tuple[int, int]
) -> None:
    window.resize(*size)
    window.open_path(EXAMPLES / "iris.json")
    qtbot.waitUntil(lambda: window.document.report is not None, timeout=60000)
    window.canvas.fit()
    qtbot.wait(300)  # the minimap's coalesced rebuild
    if window.minimap.isVisible():
        assert _hidden_nodes(window) == []
        assert window.minimap.width() <= window.canvas.viewer.width() * 0.25


@pytest.mark.parametrize("size", [(1280, 720), (1024, 700)])
def test_a_small_window_keeps_the_canvas_share(
    window: MainWindow, qtbot: Any, size: tuple[int, int]
) -> None:
    qtbot.waitUntil(lambda: window.training_panel is not None, timeout=60000)
    window.resize(1500, 1000)
    window.dock_training.raise_()
    window.resizeDocks([window.dock_training], [700], Qt.Orientation.Vertical)
    qtbot.wait(50)
    state = window.saveState()
    window.resize(*size)
    window.restoreState(state)  # the layout saved on the larger screen
    window.keep_canvas_share()
    qtbot.wait(100)
    canvas = window.centralWidget()
    inner = window.height() - window.menuBar().height() - window.statusBar().height()
    assert canvas.height() >= int(inner * CANVAS_SHARE[1]) - 10
    assert canvas.width() >= int(window.width() * CANVAS_SHARE[0]) - 10
