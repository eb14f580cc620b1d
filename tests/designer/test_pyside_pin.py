"""Guards the PySide6 pin: 6.12.0 on CPython 3.11 leaks a reference to None per void call."""

from __future__ import annotations

import sys

import pytest


def test_none_refcount_does_not_drift_across_qt_calls(qapp) -> None:
    from PySide6 import QtWidgets

    if sys.version_info >= (3, 12):
        pytest.fail(
            "None is immortal on 3.12+; this guard only means something on 3.11"
        )  # pragma: no cover
    w = QtWidgets.QLabel()
    for _ in range(100):  # warm up caches
        w.setToolTip("x")
    before = sys.getrefcount(None)
    for i in range(5000):
        w.setToolTip(str(i))
        w.setEnabled(bool(i % 2))
    drift = sys.getrefcount(None) - before
    assert abs(drift) < 100, f"None's refcount drifted by {drift}: a broken PySide6 build"
