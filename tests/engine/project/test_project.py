"""Project files: versioned JSON, atomic saves, one clear error per bad file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine import Graph, ProjectError, load_project, save_project
from engine.graph.zoo import resnet18
from engine.project import files as project_mod
from tests.support.paths import EXAMPLES


def small() -> Graph:
    g = Graph(name="small")
    x = g.add("Input", shape=[4], pos=(10, 20))
    y = g.add("Linear", out_features=3, pos=(230.5, 20))
    g.connect(x, y)
    g.settings["training"] = {"epochs": 3}
    g.ui["zoom"] = 1.5
    return g


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    g = resnet18()
    g.settings["training"] = {"epochs": 7}
    save_project(g, tmp_path / "r.json")
    g2 = load_project(tmp_path / "r.json")
    assert g2.to_dict() == g.to_dict()
    assert g2.nodes["linear"].pos == g.nodes["linear"].pos


def test_file_is_versioned_and_stable(tmp_path: Path) -> None:
    p = tmp_path / "s.json"
    save_project(small(), p)
    doc = json.loads(p.read_text())
    assert doc["format"] == "torchwire-project" and doc["version"] == project_mod.SCHEMA_VERSION
    assert doc["nodes"][1] == {
        "id": "linear",
        "type": "Linear",
        "name": "linear",
        "pos": [230.5, 20.0],
        "params": {"out_features": 3, "bias": True},
        "version": 1,
    }
    first = p.read_bytes()
    save_project(load_project(p), p)
    assert p.read_bytes() == first


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_bundled_examples_load_and_resave_identically(example: Path, tmp_path: Path) -> None:
    out = tmp_path / example.name
    save_project(load_project(example), out)
    assert out.read_text() == example.read_text()


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "a.json"
    save_project(small(), p)
    before = p.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(project_mod.os, "replace", boom)
    g = small()
    g.set("linear", out_features=9)
    with pytest.raises(OSError, match="disk full"):
        save_project(g, p)
    assert p.read_bytes() == before
    assert os.listdir(tmp_path) == ["a.json"]


def write(tmp_path: Path, content: str | dict) -> Path:
    p = tmp_path / "bad.json"
    p.write_text(content if isinstance(content, str) else json.dumps(content))
    return p


def good_doc() -> dict:
    return project_mod.project_to_dict(small())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: "{not json", "not valid JSON (line 1, column 2"),
        (lambda d: [1, 2], "not a Torchwire project (the top level is not an object)"),
        (lambda d: {**d, "format": "keras"}, "not a Torchwire project (format is 'keras')"),
        (lambda d: {**d, "version": 99}, "made by a newer Torchwire (schema version 99"),
        (lambda d: {**d, "version": "one"}, "bad schema version 'one'"),
        (
            lambda d: {**d, "nodes": [*d["nodes"], {"id": "z", "type": "Conv9d"}]},
            "node 'z': unknown node type 'Conv9d'",
        ),
        (
            lambda d: {
                **d,
                "nodes": [d["nodes"][0], {**d["nodes"][1], "params": {"out_features": -3}}],
            },
            "node 'linear': Linear: out_features: must be at least 1, got -3",
        ),
        (
            lambda d: {
                **d,
                "nodes": [d["nodes"][0], {**d["nodes"][1], "params": {"units": 3}}],
            },
            "node 'linear': Linear has no parameter 'units' (it has bias, out_features)",
        ),
        (
            lambda d: {
                **d,
                "edges": [{"from": "input", "from_port": "output", "to": "ghost", "to_port": "x"}],
            },
            "edge #1 (input → ghost) points at missing node 'ghost'",
        ),
        (
            lambda d: {**d, "edges": [{"from": "input"}]},
            "edge #1 needs 'from', 'from_port', 'to' and 'to_port'",
        ),
        (
            lambda d: {**d, "nodes": [{**d["nodes"][0], "version": 7}]},
            "Input version 7 is newer than this Torchwire knows",
        ),
    ],
)
def test_bad_files_raise_one_clear_error(tmp_path: Path, mutate, message: str) -> None:
    doc = mutate(good_doc())
    p = write(tmp_path, doc if isinstance(doc, str) else json.dumps(doc))
    with pytest.raises(ProjectError) as err:
        load_project(p)
    assert str(err.value).startswith(f"{p}: ")
    assert message in str(err.value)


def test_missing_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="no such file"):
        load_project(tmp_path / "nope.json")
    p = tmp_path / "bin.json"
    p.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ProjectError, match="not a text file"):
        load_project(p)


def test_nothing_in_a_file_is_executed(tmp_path: Path) -> None:
    doc = good_doc()
    marker = tmp_path / "pwned"
    doc["nodes"][1]["params"]["out_features"] = f"__import__('os').mkdir({str(marker)!r})"
    with pytest.raises(ProjectError, match="expected a whole number"):
        load_project(write(tmp_path, json.dumps(doc)))
    assert not marker.exists()


def test_migrations_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A schema bump only needs a MIGRATIONS entry; older files are upgraded on load."""
    monkeypatch.setattr(project_mod, "SCHEMA_VERSION", 2)

    def v1_to_v2(doc: dict) -> dict:
        doc["settings"] = {"training": doc.pop("training_settings", {})}
        return doc

    monkeypatch.setitem(project_mod.MIGRATIONS, 1, v1_to_v2)
    doc = good_doc()
    doc["version"] = 1
    doc.pop("settings")
    doc["training_settings"] = {"epochs": 12}
    g = load_project(write(tmp_path, json.dumps(doc)))
    assert g.settings == {"training": {"epochs": 12}}
