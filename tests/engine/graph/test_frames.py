"""Frames and collapsed nodes: view-only annotations saved in the project, strictly read."""

from __future__ import annotations

import json

import pytest

from engine.graph import Graph
from engine.graph.frames import Frame
from engine.project import ProjectError, loads_project, to_json


def _graph() -> Graph:
    g = Graph(name="m")
    a = g.add("Input", shape=[4])
    b = g.add("Linear", out_features=3)
    g.connect(a, b)
    return g


def test_frames_and_collapsed_round_trip_through_the_project_file() -> None:
    g = _graph()
    g.frames = (Frame("Model", "#aa3300", (10.0, -20.0, 500.0, 240.0)),)
    g.collapsed = frozenset({"linear"})
    doc = json.loads(to_json(g))
    assert doc["frames"] == [{"title": "Model", "color": "#aa3300", "rect": [10, -20, 500, 240]}]
    assert doc["collapsed"] == ["linear"]
    back = loads_project(to_json(g))
    assert back.frames == g.frames
    assert back.collapsed == frozenset({"linear"})
    assert back.copy().frames == g.frames


def test_a_project_without_frames_saves_no_frames_section() -> None:
    doc = json.loads(to_json(_graph()))
    assert "frames" not in doc and "collapsed" not in doc


def test_collapsed_ids_of_removed_nodes_are_not_saved() -> None:
    g = _graph()
    g.collapsed = frozenset({"linear"})
    g.remove("linear")
    assert "collapsed" not in json.loads(to_json(g))


@pytest.mark.parametrize(
    ("frames", "collapsed", "words"),
    [
        ({"title": "x"}, None, "'frames' must be a list"),
        ([{"title": "x", "color": "red", "rect": [0, 0, 1, 1]}], None, "'color'"),
        ([{"title": "x", "rect": [0, 0, 1]}], None, "'rect'"),
        ([{"title": "x", "rect": [0, 0, -5, 1]}], None, "positive width"),
        ([{"title": 3, "rect": [0, 0, 1, 1]}], None, "'title'"),
        ([{"title": "x", "rect": [0, 0, 1, 1], "run": "os.system"}], None, "unknown key"),
        (None, ["nosuch"], "not in the project"),
        (None, "linear", "list of node ids"),
    ],
)
def test_malformed_frames_are_refused_with_the_reason(
    frames: object, collapsed: object, words: str
) -> None:
    doc = json.loads(to_json(_graph()))
    if frames is not None:
        doc["frames"] = frames
    if collapsed is not None:
        doc["collapsed"] = collapsed
    with pytest.raises(ProjectError, match=r"frame|collapsed") as e:
        loads_project(json.dumps(doc), "p.json")
    assert words in str(e.value) and "p.json" in str(e.value)
    assert not e.value.internal
