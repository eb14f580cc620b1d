"""Wire labels of a multi-output node show the shape of the port the wire leaves from."""

from __future__ import annotations

from typing import Any

from designer.canvas import Canvas
from designer.document import Document
from engine.graph import Edge


def test_a_wire_from_a_second_output_is_labelled_with_that_ports_shape(qtbot: Any) -> None:
    doc = Document()
    canvas = Canvas(doc)
    qtbot.addWidget(canvas)
    canvas.resize(900, 600)
    canvas.show()
    inp = doc.add_node("Input", shape=[7])
    chunk = doc.add_node("Chunk", chunks=2, dim=1)  # 7 → 4 and 3
    a = doc.add_node("Linear", out_features=2)
    b = doc.add_node("Linear", out_features=2)
    for src, sp, dst in ((inp, "output", chunk), (chunk, "output0", a), (chunk, "output1", b)):
        view_src = canvas._views[src].outputs()[sp].view
        view_dst = canvas._views[dst].inputs()["input"].view
        canvas.viewer.connection_changed.emit([], [(view_src, view_dst)])
    rep = doc.wait_checked()
    assert rep is not None and rep.shape_of(chunk, "output1") == (3,)
    labels = {canvas.edge_of_pipe(p): p.tag.text() for p in canvas.viewer.all_pipes()}
    assert labels[Edge(chunk, "output0", a, "input")] == "4"
    assert labels[Edge(chunk, "output1", b, "input")] == "3"
