"""Editors generated from Param declarations: the right widget, ranges, refusals with reasons."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit

from designer.widgets.param_editors import ParamEditor, make_editor, parse_text
from engine import catalog
from engine.catalog.base import Param


def build(qtbot: Any, param: Param, value: Any) -> tuple[ParamEditor, list[Any]]:
    got: list[Any] = []
    ed = make_editor(param, value, got.append)
    assert isinstance(ed, ParamEditor)
    qtbot.addWidget(ed)
    return ed, got


def _type(ed: ParamEditor, text: str) -> None:
    edit = ed.findChild(QLineEdit)
    assert edit is not None
    edit.setText(text)
    edit.editingFinished.emit()


def test_int_takes_typed_values_in_the_declared_range(qtbot: Any) -> None:
    ed, got = build(qtbot, Param("n", "int", 4, min=1, max=64), 4)
    _type(ed, "9")
    assert got == [9] and ed.value() == 9


@pytest.mark.parametrize(
    ("text", "reason"),
    [("0", "at least 1"), ("-5abc", "not a whole number"), ("65", "at most 64"), ("", "required")],
)
def test_invalid_number_stays_visible_red_with_the_reason(
    qtbot: Any, text: str, reason: str
) -> None:
    """Items 6, 7: never clamped, reverted or committed; the reason shows as plain text."""
    ed, got = build(qtbot, Param("n", "int", 4, min=1, max=64, doc="channels"), 4)
    ed.show()
    _type(ed, text)
    edit = ed.findChild(QLineEdit)
    assert edit is not None and edit.text() == text  # what the user typed stays
    assert got == [] and ed.value() == 4
    assert reason in (ed.error() or "") and reason in ed.reason.text()
    assert ed.reason.isVisible() and "#e0524a" in edit.styleSheet()
    assert "<" not in ed.toolTip() and reason in ed.toolTip()  # plain text, no raw HTML
    _type(ed, "8")
    assert got == [8] and ed.error() is None and not ed.reason.isVisible()


def test_optional_int_is_empty_for_auto(qtbot: Any) -> None:
    ed, got = build(qtbot, Param("n", "int", None, min=1, optional=True), None)
    edit = ed.findChild(QLineEdit)
    assert edit is not None and edit.text() == "" and edit.placeholderText() == "auto"
    _type(ed, "3")
    _type(ed, "")
    assert got == [3, None]


def test_float_shows_small_values_and_refuses_out_of_range(qtbot: Any) -> None:
    ed, got = build(qtbot, Param("lr", "float", 1e-3, min=0.0, max=1.0), 1e-5)
    edit = ed.findChild(QLineEdit)
    assert edit is not None and edit.text() == "1e-05"
    _type(ed, "2")
    assert "at most 1" in (ed.error() or "") and got == [] and edit.text() == "2"
    assert ed.commit(0.25) and got == [0.25] and ed.error() is None


def test_up_and_down_step_an_int(qtbot: Any) -> None:
    from PySide6.QtCore import Qt

    ed, got = build(qtbot, Param("n", "int", 4, min=1, max=64), 4)
    edit = ed.findChild(QLineEdit)
    assert edit is not None
    qtbot.keyClick(edit, Qt.Key.Key_Up)
    qtbot.keyClick(edit, Qt.Key.Key_Up)
    qtbot.keyClick(edit, Qt.Key.Key_Down)
    assert got == [5, 6, 5]


def test_bool_and_choice(qtbot: Any) -> None:
    ed, got = build(qtbot, Param("bias", "bool", True), True)
    box = ed.findChild(QCheckBox)
    assert box is not None and box.isChecked()
    box.setChecked(False)
    assert got == [False]
    ed2, got2 = build(
        qtbot, Param("mode", "choice", "zeros", choices=("zeros", "reflect")), "zeros"
    )
    combo = ed2.findChild(QComboBox)
    assert combo is not None and [combo.itemText(i) for i in range(combo.count())] == [
        "zeros",
        "reflect",
    ]
    combo.setCurrentIndex(1)
    assert got2 == ["reflect"]


@pytest.mark.parametrize(
    ("type_", "text", "want"),
    [
        ("ints", "3", 3),
        ("ints", "(5, 3)", [5, 3]),
        ("shape", "1, 28, 28", [1, 28, 28]),
        ("shape", "3×32×32", [3, 32, 32]),
        ("floats", "0.5, 0.25", [0.5, 0.25]),
        ("strs", "a, b c", ["a", "b c"]),
    ],
)
def test_text_editors_parse_lists(qtbot: Any, type_: str, text: str, want: Any) -> None:
    p = Param("x", type_, None, length=2 if type_ == "ints" else None)  # type: ignore[arg-type]
    assert p.coerce(parse_text(p, text)) == want
    ed, got = build(qtbot, p, None)
    line = ed.findChild(QLineEdit)
    assert line is not None
    line.setText(text)
    line.editingFinished.emit()
    assert got == [want]


def test_text_refusal_keeps_the_reason_and_calls_nothing(qtbot: Any) -> None:
    p = catalog.get("Conv2d").param("kernel_size")
    ed, got = build(qtbot, p, 3)
    line = ed.findChild(QLineEdit)
    assert line is not None
    line.setText("3, 3, 3")
    line.editingFinished.emit()
    assert got == [] and "expected one number or 2 numbers" in (ed.error() or "")
    assert "expected one number or 2 numbers" in ed.toolTip()


def test_a_refusal_by_on_change_is_shown_and_not_committed(qtbot: Any) -> None:
    def refuse(_v: Any) -> None:
        raise ValueError("conv1: groups must divide the channels")

    ed = make_editor(Param("groups", "int", 1, min=1), 1, refuse)
    qtbot.addWidget(ed)
    assert isinstance(ed, ParamEditor)
    _type(ed, "3")
    assert ed.error() == "conv1: groups must divide the channels"
    line = ed.findChild(QLineEdit)
    assert ed.value() == 1 and line is not None and line.text() == "3"


def test_every_catalog_param_gets_an_editor(qtbot: Any) -> None:
    for spec in catalog.all_specs():
        for p in spec.params:
            ed = make_editor(p, p.default, lambda _v: None)
            qtbot.addWidget(ed)
            assert isinstance(ed, ParamEditor)
            assert ed.value() == p.default and ed.error() is None
