"""One editor per parameter, generated from its ``Param`` declaration.

The properties panel and the training settings form both use :func:`make_editor`; neither
knows a parameter by name. Every editor validates through ``Param.coerce`` and refuses an
invalid value with the declaration's own reason (red frame + tooltip), never calling
``on_change`` with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from designer import i18n
from designer.i18n import fmt, translate
from engine.catalog.base import Param, ParamError

_NONE_TEXT = "auto"
_ERROR_STYLE = "border: 1px solid #e0524a; border-radius: 2px; background: #3a2422;"


class ParamEditor(QWidget):
    """A parameter editor: ``value()``, ``set_value(v)``, ``set_error(message | None)``.

    ``on_change`` is called with the coerced value after each valid user edit; if it raises
    (``ValueError`` and subclasses, e.g. ``GraphError``) the message is shown as a refusal and
    the editor returns to the last accepted value.
    """

    def __init__(self, param: Param, on_change: Callable[[Any], None], parent: Any = None) -> None:
        super().__init__(parent)
        self.param = param
        self._on_change = on_change
        self._value: Any = None
        self._error: str | None = None
        self._base_tip = _tooltip(param)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(1)
        self.row = QHBoxLayout()
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(2)
        outer.addLayout(self.row)
        # the reason an edit was refused, under the field (not only in a tooltip)
        self.reason = QLabel("")
        self.reason.setObjectName("param_reason")
        self.reason.setWordWrap(True)
        self.reason.setTextFormat(Qt.TextFormat.PlainText)
        self.reason.setStyleSheet("color: #ff8a80; font-size: 11px;")
        self.reason.hide()
        outer.addWidget(self.reason)
        self.setToolTip(self._base_tip)
        self.setObjectName(f"param_{param.name}")

    # -- subclass hooks -------------------------------------------------------------------
    def _show(self, value: Any) -> None:
        raise NotImplementedError

    def _field(self) -> QWidget:
        raise NotImplementedError

    # -- public ---------------------------------------------------------------------------
    def value(self) -> Any:
        return self._value

    def set_value(self, value: Any) -> None:
        """Show ``value`` (e.g. after undo) without calling ``on_change``."""
        self._value = value
        blockers = [QSignalBlocker(w) for w in self.findChildren(QWidget)]
        try:
            self._show(value)
        finally:
            del blockers
        self.set_error(None)

    def error(self) -> str | None:
        return self._error

    def set_error(self, message: str | None) -> None:
        self._error = message
        f = self._field()
        f.setStyleSheet(_ERROR_STYLE if message else "")
        tip = f"⚠ {message}\n\n{self._base_tip}" if message else self._base_tip
        self.reason.setText(message or "")
        self.reason.setVisible(bool(message))
        f.setToolTip(tip)
        self.setToolTip(tip)

    def commit(self, raw: Any) -> bool:
        """Validate ``raw`` and hand it on; False (and a visible reason) when refused."""
        try:
            value = self.param.coerce(raw)
        except ParamError as e:
            self.set_error(str(e))
            return False
        if _same(value, self._value):
            self.set_error(None)
            return True
        try:
            self._on_change(value)
        except ValueError as e:
            self.set_error(str(e))
            return False
        self._value = value
        self.set_error(None)
        return True


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _tooltip(p: Param) -> str:
    """Plain text (Qt shows it as typed; with a reason in front, HTML would show raw)."""
    bits = [p.name]
    if p.doc:
        bits.append(i18n.doc(p.doc))
    rng = []
    if p.min is not None:
        rng.append(f"≥ {_num(p.min)}")
    if p.max is not None:
        rng.append(f"≤ {_num(p.max)}")
    if rng:
        bits.append(fmt(translate("ParamEditor", "range %1"), ", ".join(rng)))
    bits.append(fmt(translate("ParamEditor", "default: %1"), format_value(p.default)))
    return "\n".join(bits)


def _num(v: float) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def format_value(v: Any) -> str:
    """How a parameter value is written in an editor or a label."""
    if v is None:
        return _NONE_TEXT
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(format_value(x) for x in v)
    return str(v)


# -- editors ------------------------------------------------------------------------------
class _NumberEdit(QLineEdit):
    """A line edit for a number: Up/Down (and the wheel, when focused) step an int by 1."""

    def __init__(self, step: Callable[[int], None]) -> None:
        super().__init__()
        self._step = step

    def keyPressEvent(self, event: Any) -> None:
        if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self._step(1 if event.key() == Qt.Key.Key_Up else -1)
            return
        super().keyPressEvent(event)


class _NumberEditor(ParamEditor):
    """An int or a float, typed as text. Unlike a spin box, nothing is clamped or fixed up:
    what the user typed stays visible, and an invalid value (``0`` for a size, ``-5abc``)
    turns the field red with the declaration's reason and never reaches the graph (#16
    items 6, 7). An optional number is empty for "auto"."""

    def __init__(self, param: Param, on_change: Callable[[Any], None]) -> None:
        super().__init__(param, on_change)
        self.edit = _NumberEdit(self._step)
        if param.optional:
            self.edit.setPlaceholderText(_NONE_TEXT)
        self.edit.editingFinished.connect(self._edited)
        self.row.addWidget(self.edit)

    def _field(self) -> QWidget:
        return self.edit

    def _show(self, value: Any) -> None:
        if value is None:
            self.edit.setText("")
        elif self.param.type == "float":
            self.edit.setText(f"{float(value):g}")
        else:
            self.edit.setText(str(int(value)))

    def parse(self, text: str) -> Any:
        """The typed text as a raw value for ``Param.coerce``; ParamError when it is none."""
        t = text.strip()
        if not t:
            if self.param.optional:
                return None
            raise ParamError(f"{self.param.name}: a value is required")
        try:
            if self.param.type == "int":
                return int(t)
            v = float(t)
        except ValueError:
            what = "a whole number" if self.param.type == "int" else "a number"
            raise ParamError(f"{self.param.name}: {t!r} is not {what}") from None
        if not math.isfinite(v):
            raise ParamError(f"{self.param.name}: expected a finite number, got {t!r}")
        return v

    def _edited(self) -> None:
        try:
            raw = self.parse(self.edit.text())
        except ParamError as e:
            self.set_error(str(e))
            return
        self.commit(raw)  # refused: the text stays, red, with the reason

    def _step(self, delta: int) -> None:
        if self.param.type != "int":
            return
        try:
            cur = self.parse(self.edit.text())
        except ParamError:
            cur = self._value
        base = cur if isinstance(cur, int) else (self._value or 0)
        nxt = base + delta
        if self.param.min is not None:
            nxt = max(nxt, int(self.param.min))
        if self.param.max is not None:
            nxt = min(nxt, int(self.param.max))
        self.edit.setText(str(nxt))
        self._edited()


class _BoolEditor(ParamEditor):
    def __init__(self, param: Param, on_change: Callable[[Any], None]) -> None:
        super().__init__(param, on_change)
        self.box = QCheckBox()
        self.box.toggled.connect(self._edited)
        self.row.addWidget(self.box)

    def _field(self) -> QWidget:
        return self.box

    def _show(self, value: Any) -> None:
        self.box.setChecked(bool(value))

    def _edited(self, on: bool) -> None:
        if not self.commit(bool(on)):
            with QSignalBlocker(self.box):
                self.box.setChecked(bool(self._value))


class _ChoiceEditor(ParamEditor):
    def __init__(self, param: Param, on_change: Callable[[Any], None]) -> None:
        super().__init__(param, on_change)
        self.combo = QComboBox()
        self._choices = list(param.choices or ())
        if param.optional:
            self._choices.insert(0, None)
        for c in self._choices:
            self.combo.addItem(format_value(c))
        self.combo.currentIndexChanged.connect(self._edited)
        self.row.addWidget(self.combo)

    def _field(self) -> QWidget:
        return self.combo

    def _show(self, value: Any) -> None:
        if value in self._choices:
            self.combo.setCurrentIndex(self._choices.index(value))

    def _edited(self, i: int) -> None:
        if 0 <= i < len(self._choices) and not self.commit(self._choices[i]):
            self._show(self._value)


class _TextEditor(ParamEditor):
    """Text, and every list type typed as comma-separated values ("3, 3", "1, 28, 28")."""

    def __init__(self, param: Param, on_change: Callable[[Any], None]) -> None:
        super().__init__(param, on_change)
        self.edit = QLineEdit()
        if param.type == "shape":
            self.edit.setPlaceholderText(translate("_TextEditor", "sizes, e.g. 1, 28, 28"))
        elif param.type == "ints":
            n = param.length or 1
            eg = ", ".join(["3"] * n)
            self.edit.setPlaceholderText(
                (f"{_NONE_TEXT} · " if param.optional else "")
                + fmt(translate("_TextEditor", "one number or %1"), str(eg))
            )
        elif param.optional:
            self.edit.setPlaceholderText(_NONE_TEXT)
        self.edit.editingFinished.connect(self._edited)
        self.row.addWidget(self.edit)
        self.file_patterns: tuple[str, ...] = ()
        self.choices_button = QToolButton()
        self.choices_button.setObjectName("param_choices")
        self.choices_button.setText("▾")
        self.choices_button.setToolTip(translate("_TextEditor", "Choose from the file's columns"))
        self.choices_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.choices_button.hide()
        self.row.addWidget(self.choices_button)
        if param.type == "path":
            btn = QToolButton()
            btn.setText("…")
            btn.setToolTip(translate("_TextEditor", "Choose a file"))
            btn.clicked.connect(self._browse)
            self.row.addWidget(btn)

    def _field(self) -> QWidget:
        return self.edit

    def _show(self, value: Any) -> None:
        if value is None:
            self.edit.setText("")
        elif self.param.type in ("str", "path"):
            self.edit.setText(str(value))
        else:
            self.edit.setText(format_value(value))

    def set_suggestions(self, names: list[str]) -> None:
        """Offer ``names`` (a table's columns) in a drop-down beside the field and as the
        field's completions; typing any other text stays possible."""
        menu = QMenu(self.choices_button)
        for name in names:
            menu.addAction(name, lambda n=name: self._choose(n))
        self.choices_button.setMenu(menu)
        self.choices_button.setVisible(bool(names))
        self.edit.setCompleter(QCompleter(names, self.edit) if names else None)

    def _choose(self, name: str) -> None:
        self.edit.setText(name)
        self._edited()

    def _browse(self) -> None:
        kinds = []
        if self.file_patterns:
            kinds.append(
                fmt(translate("_TextEditor", "Data files (%1)"), " ".join(self.file_patterns))
            )
        kinds.append(translate("_TextEditor", "All files (*)"))
        path, _ = QFileDialog.getOpenFileName(
            self,
            fmt(translate("_TextEditor", "Choose %1"), str(self.param.name)),
            self.edit.text(),
            ";;".join(kinds),
        )
        if path:
            self.edit.setText(path)
            self._edited()

    def _edited(self) -> None:
        text = self.edit.text()
        try:
            raw = parse_text(self.param, text)
        except ParamError as e:
            self.set_error(str(e))
            return
        self.commit(raw)


def parse_text(param: Param, text: str) -> Any:
    """Turn what the user typed into a raw value for ``Param.coerce`` (which checks it)."""
    t = param.type
    s = text.strip()
    if t in ("str", "path"):
        return None if (not s and param.optional) else text
    if not s:
        if param.optional:
            return None
        raise ParamError(f"{param.name}: a value is required")
    s = s.strip("()[]")
    if t == "strs":
        return [x.strip() for x in s.split(",") if x.strip()]
    parts = [x.strip() for x in s.replace(";", ",").replace("×", ",").split(",")]
    parts = [x for x in parts if x]
    try:
        if t == "floats":
            return [float(x) for x in parts]
        if t == "int":
            return int(parts[0]) if len(parts) == 1 else parts
        nums = [int(x) for x in parts]
    except ValueError:
        raise ParamError(
            f"{param.name}: {text.strip()!r} is not "
            + ("a list of numbers" if t != "int" else "a whole number")
        ) from None
    if t == "ints" and len(nums) == 1:
        return nums[0]
    return nums


_EDITORS: dict[str, type[ParamEditor]] = {
    "int": _NumberEditor,
    "float": _NumberEditor,
    "bool": _BoolEditor,
    "choice": _ChoiceEditor,
}


def make_editor(param: Param, value: Any, on_change: Callable[[Any], None]) -> QWidget:
    """An editor for ``param`` showing ``value``; ``on_change(v)`` gets each valid new value.

    The returned widget is a :class:`ParamEditor` (``value()``, ``set_value()``,
    ``set_error()``, ``error()``).
    """
    cls = _EDITORS.get(param.type, _TextEditor)
    editor = cls(param, on_change)
    editor.set_value(value)
    editor.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    return editor


__all__ = ["ParamEditor", "format_value", "make_editor", "parse_text"]
