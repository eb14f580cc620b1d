"""Designer tests run headless (offscreen Qt) with their own settings and autosave folder."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Recent files, settings and autosaves go to the test's own folder."""
    monkeypatch.setenv("TORCHWIRE_DATA_DIR", str(tmp_path / "torchwire-data"))


@pytest.fixture
def window(qtbot) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A loaded main window; closing it never asks anything."""
    from designer.app import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.ask_save_changes = lambda: "discard"
    w.ask_stop_training = lambda _what: True
    w.resize(1400, 900)
    w.show()
    yield w
    w.close()


@pytest.fixture(autouse=True)
def _live_event_loops(qapp):  # type: ignore[no-untyped-def]
    """A test that ran the app's own exec() and quit it can leave a quit pending, after
    which every nested event loop (qtbot.waitSignal) returns at once; one turn of exec()
    consumes it."""
    from PySide6.QtCore import QTimer

    QTimer.singleShot(0, qapp.quit)
    qapp.exec()
