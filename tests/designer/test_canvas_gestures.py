"""Mouse gestures on the canvas: a wire is picked up only from its port, never from a drag
that starts on empty canvas or on the wire's body (a rubber-band selection stays one)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from designer.canvas import Canvas
from designer.document import Document
from engine.graph import Edge


@pytest.fixture
def wired(qtbot: Any) -> tuple[Canvas, Edge]:
    doc = Document()
    canvas = Canvas(doc)
    qtbot.addWidget(canvas)
    canvas.resize(900, 600)
    canvas.show()
    a = doc.add_node("Input", shape=[4], pos=(0.0, 0.0))
    b = doc.add_node("Linear", out_features=2, pos=(420.0, 40.0))
    doc.connect(a, "output", b, "input")
    canvas.fit()
    qtbot.waitExposed(canvas)
    return canvas, doc.graph.edges[0]


def _send(canvas: Canvas, kind: QEvent.Type, at: QPoint, buttons: Any) -> None:
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    vp = canvas.viewer.viewport()
    ev = QMouseEvent(
        kind,
        QPointF(at),
        QPointF(vp.mapToGlobal(at)),
        button,
        buttons,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(vp, ev)


def drag(canvas: Canvas, start: QPoint, end: QPoint) -> None:
    """Press the left button at ``start``, move in steps to ``end``, release there."""
    held = Qt.MouseButton.LeftButton
    _send(canvas, QEvent.Type.MouseButtonPress, start, held)
    for i in range(1, 9):
        step = start + (end - start) * (i / 8)
        _send(canvas, QEvent.Type.MouseMove, step, held)
    _send(canvas, QEvent.Type.MouseButtonRelease, end, Qt.MouseButton.NoButton)
    QApplication.processEvents()


def wire_point(canvas: Canvas, edge: Edge) -> QPoint:
    """The middle of the wire's drawn path, in viewport pixels."""
    pipe = canvas.pipes()[edge]
    return canvas.viewer.mapFromScene(pipe.path().pointAtPercent(0.5))


def port_point(canvas: Canvas, nid: str, name: str) -> QPoint:
    port = canvas._views[nid].inputs()[name].view
    return canvas.viewer.mapFromScene(port.sceneBoundingRect().center())


@pytest.mark.parametrize("offset", [(0, 0), (3, 3), (-3, 2)])
def test_a_drag_from_on_or_beside_a_wire_keeps_the_wire(
    wired: tuple[Canvas, Edge], offset: tuple[int, int]
) -> None:
    canvas, edge = wired
    start = wire_point(canvas, edge) + QPoint(*offset)
    drag(canvas, start, start + QPoint(120, 140))
    assert canvas.document.graph.edges == [edge]
    assert set(canvas.pipes()) == {edge}


def test_a_drag_beside_a_wire_draws_a_rubber_band_that_selects(
    wired: tuple[Canvas, Edge],
) -> None:
    canvas, edge = wired
    start = wire_point(canvas, edge) + QPoint(3, 3)
    box = canvas._views[edge.dst].view.sceneBoundingRect()
    end = canvas.viewer.mapFromScene(box.bottomRight()) + QPoint(10, 10)
    drag(canvas, start, end)
    assert canvas.selected_ids() == [edge.dst]
    assert canvas.document.graph.edges == [edge]


def test_a_drag_from_the_connected_input_port_detaches_the_wire(
    wired: tuple[Canvas, Edge],
) -> None:
    canvas, edge = wired
    start = port_point(canvas, edge.dst, edge.dst_port)
    drag(canvas, start, start + QPoint(60, 160))
    assert canvas.document.graph.edges == []
