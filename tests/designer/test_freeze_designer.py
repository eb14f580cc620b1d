"""Freezing in the designer: canvas marks, the context menu, Properties, one undo step each."""

from __future__ import annotations

from typing import Any

import pytest

from designer.canvas import FROZEN_COLOR, FROZEN_MARK, Canvas
from designer.document import Document
from designer.panels.properties import PropertiesPanel
from engine.graph import GraphError


@pytest.fixture
def canvas(qtbot: Any) -> Canvas:
    doc = Document()
    c = Canvas(doc)
    qtbot.addWidget(c)
    c.resize(900, 600)
    c.show()
    g = doc.graph
    g.add("Input", id="x", shape=[4])
    g.add("Linear", id="fc1", out_features=8)
    g.add("Linear", id="fc2", out_features=3)
    g.connect("x", "fc1")
    g.connect("fc1", "fc2")
    return c


def test_freeze_selected_is_one_undo_step_and_draws_frozen_nodes(canvas: Canvas) -> None:
    doc, g = canvas.document, canvas.document.graph
    normal = tuple(canvas._views["fc1"].color())[:3]
    canvas.select(["x", "fc1", "fc2"])
    labels = [a.text() for a in canvas.build_context_menu("fc1").actions()]
    assert "Freeze" in labels and "Unfreeze" not in labels
    canvas.freeze_selected(True)
    assert g.nodes["fc1"].frozen and g.nodes["fc2"].frozen and not g.nodes["x"].frozen
    assert canvas._views["fc1"].view.name == FROZEN_MARK + "fc1"
    assert tuple(canvas._views["fc1"].color())[:3] == FROZEN_COLOR
    assert canvas._views["x"].view.name == "x"
    assert "Unfreeze" in [a.text() for a in canvas.build_context_menu("fc1").actions()]
    doc.undo_stack.undo()  # one step for both
    assert not g.nodes["fc1"].frozen and not g.nodes["fc2"].frozen
    assert canvas._views["fc1"].view.name == "fc1"
    assert tuple(canvas._views["fc1"].color())[:3] == normal
    doc.undo_stack.redo()
    assert g.nodes["fc2"].frozen
    # renaming a frozen node from its title does not keep the marker in the name
    vid = canvas._views["fc2"].id
    canvas._user_renamed(vid, FROZEN_MARK + "head")
    assert g.nodes["fc2"].name == "head"
    assert canvas._views["fc2"].view.name == FROZEN_MARK + "head"


def test_deleting_and_undoing_keeps_frozen_and_lr_scale(canvas: Canvas) -> None:
    doc, g = canvas.document, canvas.document.graph
    doc.freeze(["fc1"])
    doc.set_lr_scale("fc2", 0.25)
    doc.remove_nodes(["fc1", "fc2"])
    doc.undo_stack.undo()
    assert g.nodes["fc1"].frozen and g.nodes["fc2"].lr_scale == 0.25


def test_properties_lr_scale_and_frozen(qtbot: Any, canvas: Canvas) -> None:
    doc, g = canvas.document, canvas.document.graph
    panel = PropertiesPanel(doc)
    qtbot.addWidget(panel)
    panel.show_nodes(["fc1"])
    assert panel.lr_editor is not None and panel.frozen_box is not None
    panel.frozen_box.setChecked(True)
    assert g.nodes["fc1"].frozen
    doc.set_lr_scale("fc1", 0.1)
    assert g.nodes["fc1"].lr_scale == 0.1
    doc.undo_stack.undo()
    assert g.nodes["fc1"].lr_scale == 1.0
    assert panel.lr_editor.value() == 1.0  # the editor follows undo
    with pytest.raises(GraphError, match="lr_scale must be above 0"):
        doc.set_lr_scale("fc1", 0.0)
    panel.show_nodes(["x"])  # the Input is not a layer: no training rows
    assert panel.lr_editor is None
