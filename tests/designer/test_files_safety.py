"""Opening, saving and recovering files that fail: a message naming the file and the problem,
and the document exactly as it was (never an empty "untitled" one in its place, never edits
lost). Message boxes are recorded, not shown: ``QMessageBox.warning`` is replaced, and the
window is made to believe it is not offscreen so that it really calls it.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from designer.app import MainWindow
from designer.files import Autosaver, add_recent, examples, find_recoveries
from engine.project import load_project, to_json


@pytest.fixture
def boxes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every QMessageBox.warning the window shows, as (title, text)."""
    shown: list[tuple[str, str]] = []

    def warning(_parent: Any, title: str, text: str, *a: Any, **k: Any) -> Any:
        shown.append((title, text))
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "warning", staticmethod(warning))
    monkeypatch.setattr(QApplication, "platformName", staticmethod(lambda: "recording"))
    return shown


def edited(w: MainWindow) -> str:
    """Give the window unsaved edits; returns the graph's text to compare with later."""
    w.document.add_node("Input", shape=[4])
    w.document.add_node("Linear", out_features=2)
    assert w.document.modified
    return to_json(w.document.graph)


def assert_kept(w: MainWindow, state: str, path: Path | None, graph: Any) -> None:
    d = w.document
    assert d.graph is graph and to_json(d.graph) == state
    assert d.path == path and d.modified and w.isWindowModified()


def bad_file(
    tmp_path: Path, text: str = '{"format": "torchwire-project", "version": 1, "ui": 3}'
) -> Path:
    p = tmp_path / "broken.json"
    p.write_text(text)
    return p


def test_file_open_of_a_bad_file_keeps_the_document(
    window: MainWindow, tmp_path: Path, boxes: list[tuple[str, str]]
) -> None:
    w = window
    state, graph = edited(w), w.document.graph
    bad = bad_file(tmp_path)
    w.ask_open_path = lambda: str(bad)
    w.ask_save_changes = lambda: "discard"
    w.open_file()
    assert boxes == [("Cannot open project", f"{bad}: 'ui' must be an object, got the number 3")]
    assert_kept(w, state, None, graph)
    assert "broken.json" not in w.windowTitle()


@pytest.mark.parametrize(
    "text",
    [
        "[" * 200_000,
        '{"format": "torchwire-project", "version": Infinity}',
        '{"format": "torchwire-project", "version": 1, "nodes": [{"id": "a", "type": "Input", '
        '"pos": [1e400, 0]}]}',
        '{"format": "torchwire-project", "version": 1, "settings": []}',
    ],
    ids=["deep", "infinity", "huge-pos", "settings-list"],
)
def test_open_path_never_raises_and_names_the_file(
    window: MainWindow, tmp_path: Path, boxes: list[tuple[str, str]], text: str
) -> None:
    w = window
    state, graph = edited(w), w.document.graph
    bad = bad_file(tmp_path, text)
    assert not w.open_path(bad)
    ((title, message),) = boxes
    assert title == "Cannot open project" and message.startswith(f"{bad}: ")
    assert_kept(w, state, None, graph)


def test_recent_file_that_went_bad_keeps_the_document(
    window: MainWindow, tmp_path: Path, boxes: list[tuple[str, str]]
) -> None:
    w = window
    good = tmp_path / "good.json"
    good.write_text(next(p for p in examples() if p.stem == "iris").read_text())
    assert w.open_path(good)
    w.document.add_node("ReLU")
    state, graph = to_json(w.document.graph), w.document.graph
    add_recent(good)
    good.write_text("{truncated")  # changed on disk since
    w._fill_recent()
    (action,) = [a for a in w.recent_menu.actions() if a.text() == str(good.resolve())]
    w.ask_save_changes = lambda: "discard"
    action.trigger()
    ((_title, message),) = boxes
    assert message.startswith(f"{good.resolve()}: not valid JSON")
    assert_kept(w, state, good.resolve(), graph)


def test_started_with_a_bad_file_shows_why_and_opens_nothing(
    qtbot: Any, tmp_path: Path, boxes: list[tuple[str, str]]
) -> None:
    """``torchwire FILE`` with a broken FILE: the message, then the ordinary start (a new
    document); the title is "untitled", never the file's name."""
    bad = bad_file(tmp_path)
    w = MainWindow(bad)
    qtbot.addWidget(w)
    w.ask_save_changes = lambda: "discard"
    ((_title, message),) = boxes
    assert message.startswith(f"{bad}: 'ui' must be an object")
    assert w.document.path is None and len(w.document.graph) == 0
    assert not w.document.modified
    assert "broken.json" not in w.windowTitle() and "untitled" in w.windowTitle()
    w.close()


def test_recovery_that_fails_keeps_the_document(
    window: MainWindow, qtbot: Any, boxes: list[tuple[str, str]]
) -> None:
    w = window
    edited(w)
    side = w.autosaver.save_now()
    assert side is not None
    doc = json.loads(side.read_text())
    doc["pid"] = 999_999_999  # no such process: as if it had crashed
    side.write_text(json.dumps(doc))
    (rec,) = find_recoveries()
    w2 = MainWindow()
    qtbot.addWidget(w2)
    w2.ask_save_changes = lambda: "discard"
    state, graph = edited(w2), w2.document.graph
    w2.ask_recover = lambda recs: dataclasses.replace(recs[0], text='{"format": 3}')
    assert not w2.offer_recovery()
    ((title, message),) = boxes
    assert title == "Cannot recover unsaved work" and str(rec.side_file) in message
    assert_kept(w2, state, None, graph)
    w2.close()


# -- saving ---------------------------------------------------------------------------------------
def test_a_failing_save_shows_why_and_keeps_every_edit(
    window: MainWindow,
    tmp_path: Path,
    boxes: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = window
    target = tmp_path / "net.json"
    state, graph = edited(w), w.document.graph

    def disk_full(*_a: Any, **_k: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    import engine.fileio

    monkeypatch.setattr(engine.fileio.os, "replace", disk_full)
    w.ask_save_path = lambda: str(target)
    assert not w.save()
    ((title, message),) = boxes
    assert title == "Cannot save project"
    assert str(target) in message and "no space left on device" in message
    assert_kept(w, state, None, graph)
    assert not target.exists() and os.listdir(tmp_path) == []  # no temporary left behind
    monkeypatch.undo()
    assert w.save() and not w.document.modified  # once there is room, the same save works
    assert load_project(target) == graph


def test_a_graph_no_file_can_hold_is_refused_with_a_message(
    window: MainWindow, tmp_path: Path, boxes: list[tuple[str, str]]
) -> None:
    w = window
    edited(w)
    nid = next(iter(w.document.graph.nodes))
    w.document.graph.move(nid, (float("inf"), 0.0))  # a script could do this
    state, graph = to_json_or_none(w), w.document.graph
    w.ask_save_path = lambda: str(tmp_path / "x.json")
    assert not w.save()
    ((_title, message),) = boxes
    assert message.startswith(f"{tmp_path / 'x.json'}: cannot be saved") and "inf" in message
    assert w.document.graph is graph and w.document.modified and state is None
    assert not (tmp_path / "x.json").exists()


def to_json_or_none(w: MainWindow) -> str | None:
    try:
        return to_json(w.document.graph)
    except Exception:
        return None


def test_lone_surrogates_in_names_save_and_reopen(
    window: MainWindow, tmp_path: Path, boxes: list[tuple[str, str]]
) -> None:
    w = window
    w.document.add_node("Input", shape=[4], name="in\ud800put")
    w.document.set_name("model \udfff")
    target = tmp_path / "s.json"
    w.ask_save_path = lambda: str(target)
    assert w.save(), boxes
    target.read_bytes().decode("utf-8")
    saved = w.document.graph
    w.document.new()
    assert w.open_path(target) and boxes == []
    assert w.document.graph == saved


def test_failed_save_as_elsewhere_leaves_data_paths_alone(
    window: MainWindow,
    tmp_path: Path,
    boxes: list[tuple[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Save As into another folder rewrites relative data paths only once the file is saved."""
    w = window
    w.open_example(next(p for p in examples() if p.stem == "csv_tabular"))
    w.document.add_node("ReLU")
    state, graph = to_json(w.document.graph), w.document.graph

    def denied(*_a: Any, **_k: Any) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    import engine.fileio

    monkeypatch.setattr(engine.fileio.os, "replace", denied)
    w.ask_save_path = lambda: str(tmp_path / "elsewhere" / "t.json")
    assert not w.save()
    assert "permission denied" in boxes[0][1]
    assert_kept(w, state, None, graph)


# -- autosave ---------------------------------------------------------------------------------------
def test_autosave_is_atomic_and_never_raises(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = window
    edited(w)
    saver = w.autosaver
    assert isinstance(saver, Autosaver)
    side = saver.save_now()
    assert side is not None and saver.last_error == ""
    before = side.read_bytes()
    w.document.add_node("ReLU", name="re\ud800lu")  # autosaves hold what saves hold
    assert saver.save_now() == side
    assert json.loads(side.read_text())["project"] == to_json(w.document.graph)

    def disk_full(*_a: Any, **_k: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    import engine.fileio

    monkeypatch.setattr(engine.fileio.os, "replace", disk_full)
    w.document.add_node("Tanh")
    assert saver.save_now() is None
    assert "no space left on device" in saver.last_error and str(side) in saver.last_error
    assert side.read_bytes() != before  # the previous autosave is still whole
    json.loads(side.read_text())
    assert sorted(p.name for p in side.parent.iterdir()) == [side.name]
