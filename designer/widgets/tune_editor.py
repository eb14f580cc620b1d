"""Marking a parameter "tune": a range or choices within its declared limits.

The space is the project's ``settings["tuning"]`` (see ``engine.catalog.tuning``); every change
goes through ``Document.set_setting`` (one undo step). The range editors are bounded by the
declaration (``Param.min``/``max``); choices are checked by ``engine.catalog.tuning`` and a
refused one is shown, with the reason, and not written.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from designer.i18n import fmt, translate
from engine.catalog.base import Param
from engine.catalog.tuning import (
    BIG,
    Dimension,
    TuneError,
    check_limits,
    check_tuning_settings,
    default_dimension,
    default_tuning,
)

INT_BIG = 2**31 - 1  # Qt's spin boxes are 32-bit
SPIN_MIN_W = 72


def tuning_of(document: Any) -> dict[str, Any]:
    """The project's tuning section with its defaults (a fresh copy)."""
    s = document.graph.settings if isinstance(document.graph.settings, dict) else {}
    try:
        return copy.deepcopy(check_tuning_settings(s.get("tuning") or {}))
    except TuneError:
        return default_tuning()


def dimension_of(document: Any, target: str) -> Dimension | None:
    for d in tuning_of(document)["space"]:
        if d["target"] == target:
            return Dimension.from_dict(d)
    return None


def set_dimension(document: Any, target: str, dim: Dimension | None) -> None:
    """Put ``dim`` in the space in place of ``target``'s (None: stop tuning it), undoably."""
    t = tuning_of(document)
    space = [d for d in t["space"] if d["target"] != target]
    if dim is not None:
        old = [i for i, d in enumerate(t["space"]) if d["target"] == target]
        space.insert(old[0] if old else len(space), dim.to_dict())
    t["space"] = space
    document.set_setting("tuning", t)


def set_option(document: Any, key: str, value: Any) -> None:
    t = tuning_of(document)
    if t.get(key) != value:
        t[key] = value
        document.set_setting("tuning", t)


def tunable(p: Param) -> bool:
    """Whether ``p`` gets a "tune" box: the declaration says (``Param.tunable``)."""
    return p.tunable


class TuneEditor(QWidget):
    """A "tune" check box; checked, the range (or choices) tried for the parameter."""

    changed = Signal()

    def __init__(
        self, document: Any, target: str, param: Param, value: Any, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.document, self.target, self.param, self.value = document, target, param, value
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.check = QCheckBox(translate("TuneEditor", "tune"))
        self.check.setObjectName(f"tune_{param.name}")
        self.check.setToolTip(
            translate("TuneEditor", "try several values of this parameter in a study (Tuning dock)")
        )
        lay.addWidget(self.check)
        self.fields = QWidget()
        # low … high on one line, "log" under them: the editor fits the default dock width
        grid = QGridLayout(self.fields)
        grid.setContentsMargins(16, 0, 0, 0)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(0)
        self.low: QDoubleSpinBox | QSpinBox | None = None
        self.high: QDoubleSpinBox | QSpinBox | None = None
        self.log: QCheckBox | None = None
        self.choices: QLineEdit | None = None
        if param.type in ("int", "float", "ints"):
            self.low, self.high = self._spin(), self._spin()
            grid.addWidget(self.low, 0, 0)
            grid.addWidget(QLabel("…"), 0, 1)
            grid.addWidget(self.high, 0, 2)
            grid.setColumnStretch(0, 1)
            grid.setColumnStretch(2, 1)
            for s in (self.low, self.high):
                s.editingFinished.connect(self._write)
            if param.type == "float":
                self.log = QCheckBox(translate("TuneEditor", "log"))
                self.log.toggled.connect(self._write)
                grid.addWidget(self.log, 1, 0, 1, 3)
        else:
            self.choices = QLineEdit()
            self.choices.setPlaceholderText("A, B, C")
            self.choices.editingFinished.connect(self._write)
            grid.addWidget(self.choices, 0, 0)
        lay.addWidget(self.fields)
        self.error = QLabel()
        self.error.setObjectName("tune_error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #e0524a;")
        self.error.hide()
        lay.addWidget(self.error)
        self.refresh()
        self.check.toggled.connect(self._toggled)

    def _spin(self) -> QDoubleSpinBox | QSpinBox:
        p = self.param
        if p.type == "float":
            s: QDoubleSpinBox | QSpinBox = QDoubleSpinBox()
            s.setDecimals(8)
            s.setRange(p.min if p.min is not None else -BIG, p.max if p.max is not None else BIG)
        else:
            s = QSpinBox()
            lo = int(max(p.min, -INT_BIG)) if p.min is not None else -INT_BIG
            hi = int(min(p.max, INT_BIG)) if p.max is not None else INT_BIG
            s.setRange(lo, hi)
        s.setKeyboardTracking(False)
        # sized for the values tried, not for the widest value the range allows (1e12)
        s.setMinimumWidth(SPIN_MIN_W)
        s.setToolTip(fmt(translate("TuneEditor", "declared limits: %1"), str(_limits(p))))
        return s

    def refresh(self) -> None:
        """Show what the project's space holds for this target."""
        d = dimension_of(self.document, self.target)
        for w in (self.check, self.low, self.high, self.log, self.choices):
            if w is not None:
                w.blockSignals(True)
        try:
            self.check.setChecked(d is not None)
            self.fields.setVisible(d is not None)
            if d is not None:
                self._show(d)
        finally:
            for w in (self.check, self.low, self.high, self.log, self.choices):
                if w is not None:
                    w.blockSignals(False)

    def _show(self, d: Dimension) -> None:
        if self.choices is not None:
            self.choices.setText(", ".join(_text(c) for c in (d.choices or ())))
            return
        if d.choices is not None or self.low is None or self.high is None:
            return
        self.low.setValue(d.low if self.param.type == "float" else int(d.low))  # type: ignore[arg-type]
        self.high.setValue(d.high if self.param.type == "float" else int(d.high))  # type: ignore[arg-type]
        if self.log is not None:
            self.log.setChecked(d.log)

    def _toggled(self, on: bool) -> None:
        self.error.hide()
        if on:
            d = default_dimension(self.target, self.param, self.value)
            self._commit(d)
        else:
            set_dimension(self.document, self.target, None)
            self.changed.emit()
        self.refresh()

    def current(self) -> Dimension:
        """The dimension the fields say (not yet checked against the declaration)."""
        from engine.catalog.tuning import parse_space

        if self.choices is not None:
            return parse_space(f"{self.target}={self.choices.text()}")
        assert self.low is not None and self.high is not None
        d: dict[str, Any] = {
            "target": self.target,
            "low": self.low.value(),
            "high": self.high.value(),
        }
        if self.log is not None and self.log.isChecked():
            d["log"] = True
        return Dimension.from_dict(d)

    def _write(self) -> None:
        if not self.check.isChecked():
            return
        try:
            d = self.current()
        except TuneError as e:
            self._refuse(str(e))
            return
        self._commit(d)

    def _commit(self, d: Dimension) -> None:
        try:
            d = check_limits(d, self.param)
        except TuneError as e:
            self._refuse(str(e))
            return
        self.error.hide()
        self.setStyleSheet("")
        set_dimension(self.document, self.target, d)
        self.changed.emit()

    def _refuse(self, why: str) -> None:
        self.error.setText(why)
        self.error.show()


def _limits(p: Param) -> str:
    lo = "−∞" if p.min is None else f"{p.min:g}"
    hi = "∞" if p.max is None else f"{p.max:g}"
    return f"{lo} … {hi}"


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and math.isfinite(v):
        return f"{v:g}"
    return str(v)
