"""Project files: hostile or broken input raises one ProjectError naming the file, saving
never fails silently and round-trips, and the CLI answers every engine error in one line.

Each case here is one that escaped the loader as a bare Python exception before (see the
issue tracker, "Safety and correctness").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine import Graph
from engine.cli import main
from engine.errors import TorchwireError
from engine.fileio import WriteError
from engine.project import ProjectError, load_project, loads_project, save_project, to_json
from engine.project import files as project_mod
from tests.support.paths import EXAMPLES

IRIS = json.loads((EXAMPLES / "iris.json").read_text())


def iris(**changes: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(IRIS))
    doc.update(changes)
    return doc


def node_changed(i: int, **changes: Any) -> dict[str, Any]:
    doc = iris()
    doc["nodes"][i].update(changes)
    return doc


def refused(text: str, tmp_path: Path, contains: str = "") -> ProjectError:
    """Loading ``text`` from a file raises ProjectError naming it (and nothing else)."""
    p = tmp_path / "bad.json"
    p.write_text(text, encoding="utf-8", errors="surrogatepass")
    with pytest.raises(ProjectError) as err:
        load_project(p)
    assert str(err.value).startswith(f"{p}: "), err.value
    assert err.value.file == str(p)
    assert contains in str(err.value)
    assert not err.value.internal, f"caught only by the last-resort boundary: {err.value}"
    return err.value


def dumps(doc: Any) -> str:
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("text", "contains"),
    [
        pytest.param("[" * 200_000, "nested too deeply", id="200k-nested-brackets"),
        pytest.param(
            dumps(iris(ui={"a": json.loads("[" * 100 + "]" * 100)})),
            "nested too deeply",
            id="nested-below-the-parser-limit",
        ),
        pytest.param(
            '{"format": "torchwire-project", "version": Infinity}', "Infinity is not allowed"
        ),
        pytest.param('{"format": "torchwire-project", "version": NaN}', "NaN is not allowed"),
        pytest.param(
            '{"format": "torchwire-project", "version": ' + "9" * 5000 + "}",
            "(5000 characters) is out of range",
            id="5000-digit-version",
        ),
        pytest.param(
            dumps(node_changed(1, pos=[1.5, 0])).replace("1.5", "1e400"),
            "nodes[1].pos[0]: the number 1e400 is out of range",
            id="pos-1e400",
        ),
        pytest.param(dumps(node_changed(1, pos=[10**400, 0])), "out of range", id="pos-10**400"),
        pytest.param(dumps(node_changed(1, pos=[1e300, 0])), "'pos'", id="pos-1e300"),
        pytest.param(dumps(node_changed(1, version=10**30)), "out of range", id="node-version-big"),
        pytest.param(
            dumps(node_changed(1, version=1.5)).replace("1.5", "1e999"), "out of range", id="nv-inf"
        ),
        pytest.param(dumps(node_changed(1, version="2")), "bad 'version'", id="node-version-str"),
        pytest.param(dumps(node_changed(1, version=True)), "bad 'version'", id="node-version-bool"),
        pytest.param(dumps(iris(version=True)), "bad schema version True", id="version-bool"),
        pytest.param(dumps(iris(settings=[])), "'settings' must be an object, got a list"),
        pytest.param(dumps(iris(settings={"training": 3})), "'settings.training' must be"),
        pytest.param(dumps(iris(ui="x")), "'ui' must be an object, got the text 'x'"),
        pytest.param(dumps(iris(nodes={})), "'nodes' must be a list, got an object"),
        pytest.param(dumps(iris(edges="ab")), "'edges' must be a list"),
        pytest.param(dumps(iris(name={})), "'name' must be text, got an object"),
        pytest.param(dumps(iris(nodes=[["iris", "Iris"]])), "node #1 must be an object"),
        pytest.param(dumps(node_changed(1, id={"a": 1})), "node #2: 'id' must be non-empty text"),
        pytest.param(dumps(node_changed(1, id="")), "'id' must be non-empty text"),
        pytest.param(dumps(node_changed(1, type=["Split"])), "'type' must be text"),
        pytest.param(dumps(node_changed(1, name={})), "'name' must be text"),
        pytest.param(dumps(node_changed(1, name=7)), "'name' must be text"),
        pytest.param(dumps(node_changed(1, pos=5)), "'pos' must be a list of two numbers"),
        pytest.param(dumps(node_changed(1, pos="ab")), "'pos' must be a list of two numbers"),
        pytest.param(dumps(node_changed(1, pos=[1, 2, 3])), "'pos' must be a list of two"),
        pytest.param(dumps(node_changed(1, pos=[True, 0])), "'pos' must be a list of two"),
        pytest.param(dumps(node_changed(1, pos={"a": 1})), "'pos' must be a list of two"),
        pytest.param(dumps(node_changed(1, params=[1])), "'params' must be an object"),
        pytest.param(dumps(node_changed(1, params={"id": 3})), "Split has no parameter 'id'"),
        pytest.param(dumps(node_changed(1, params={"pos": 3})), "no parameter 'pos'"),
        pytest.param(dumps(node_changed(1, params={"type_name": 3})), "no parameter"),
        pytest.param(dumps(node_changed(1, id="iris")), "node 'iris': node #1 has the same id"),
        pytest.param(dumps(iris(edges=[3])), "edge #1 must be an object, got the number 3"),
        pytest.param(
            dumps(iris(edges=[{"from": 1, "from_port": "a", "to": "b", "to_port": "c"}])),
            "edge #1: 'from' must be text",
        ),
        pytest.param(
            '{"format": "torchwire-project", "version": 1, "nodes": [], "nodes": []}',
            "the key 'nodes' is given twice",
            id="duplicate-key",
        ),
        pytest.param(dumps(iris(format=["x" * 10_000])), "format is ['xxx", id="long-format"),
        pytest.param(
            dumps(node_changed(1, params={"val": 0.5})).replace("0.5", "NaN"), "NaN is not allowed"
        ),
        pytest.param(
            dumps(node_changed(1, params={"val": 0.5})).replace("0.5", "-Infinity"),
            "-Infinity is not allowed",
        ),
        pytest.param(dumps(node_changed(1, params={"seed": 2**64})), "out of range"),
        pytest.param("", "not valid JSON", id="empty"),
        pytest.param(dumps(IRIS)[:-40], "not valid JSON", id="truncated"),
    ],
)
def test_broken_files_raise_one_project_error(tmp_path: Path, text: str, contains: str) -> None:
    refused(text, tmp_path, contains)


def test_loads_project_accepts_only_text_or_utf8_bytes() -> None:
    with pytest.raises(ProjectError, match="not project text"):
        loads_project(12, "x.json")  # type: ignore[arg-type]
    with pytest.raises(ProjectError, match="not UTF-8"):
        loads_project(b"\xff\xfe", "x.json")
    assert len(loads_project(dumps(IRIS).encode(), "x.json")) == len(IRIS["nodes"])


def test_a_bom_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "bom.json"
    p.write_text("\ufeff" + dumps(IRIS), encoding="utf-8")
    assert len(load_project(p)) == len(IRIS["nodes"])


def test_project_from_dict_does_not_modify_its_argument() -> None:
    doc = iris()
    before = json.dumps(doc)
    project_mod.project_from_dict(doc)
    assert json.dumps(doc) == before


def test_python_values_that_json_cannot_hold_are_refused() -> None:
    doc = iris()
    doc["ui"] = {"x": {1, 2}}
    with pytest.raises(ProjectError, match="set is not a JSON value"):
        project_mod.project_from_dict(doc, "p.json")
    loop: dict[str, Any] = {}
    loop["self"] = loop
    with pytest.raises(ProjectError, match="nested too deeply"):
        project_mod.project_from_dict(iris(ui=loop), "p.json")


def test_an_unforeseen_failure_is_still_a_project_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader's boundary: a bug below it becomes ProjectError, marked internal."""

    def boom(_data: Any) -> Graph:
        raise KeyError("surprise")

    monkeypatch.setattr(project_mod.Graph, "from_dict", boom)
    with pytest.raises(ProjectError) as err:
        loads_project(dumps(IRIS), "p.json")
    assert err.value.internal and "KeyError" in str(err.value)


# -- saving -------------------------------------------------------------------------------------
def surrogate_graph() -> Graph:
    g = Graph(name="bad \ud800 name")
    a = g.add("Input", shape=[4], name="in \udfff")
    b = g.add("Linear", out_features=2)
    g.connect(a, b)
    g.settings["training"] = {"epochs": 2}
    g.ui["note"] = "x\udc80y"
    return g


def test_lone_surrogates_save_and_round_trip(tmp_path: Path) -> None:
    g = surrogate_graph()
    p = tmp_path / "s.json"
    save_project(g, p)
    raw = p.read_bytes()
    raw.decode("utf-8")  # valid UTF-8 ...
    assert b"\\ud800" in raw and b"\\udfff" in raw  # ... with JSON escapes for those only
    assert "é".encode() in save_and_read(Graph(name="é"), tmp_path)  # others stay as they are
    assert load_project(p) == g


def save_and_read(g: Graph, tmp_path: Path) -> bytes:
    p = tmp_path / "plain.json"
    save_project(g, p)
    return p.read_bytes()


def test_save_refuses_what_load_would_refuse_and_keeps_the_old_file(tmp_path: Path) -> None:
    p = tmp_path / "p.json"
    g = surrogate_graph()
    save_project(g, p)
    before = p.read_bytes()
    g.move("input", (float("inf"), 0.0))
    with pytest.raises(ProjectError) as err:
        save_project(g, p)
    assert str(err.value).startswith(f"{p}: cannot be saved") and "pos[0]: inf" in str(err.value)
    g.move("input", (0.0, 0.0))
    g.settings["training"] = {"epochs": float("nan")}
    with pytest.raises(ProjectError, match="nan is not a finite number"):
        save_project(g, p)
    g.settings["training"] = 5
    with pytest.raises(ProjectError, match=r"settings\.training"):
        save_project(g, p)
    assert p.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["p.json"]


def test_save_failures_are_write_errors_naming_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "folder.json"
    folder.mkdir()
    with pytest.raises(WriteError) as err:
        save_project(surrogate_graph(), folder)
    assert str(folder) in str(err.value) and isinstance(err.value, TorchwireError)
    with pytest.raises(TorchwireError, match="cannot write"):
        save_project(surrogate_graph(), tmp_path / "nul\0.json")


def test_examples_round_trip_through_to_json() -> None:
    for p in sorted(EXAMPLES.glob("*.json")):
        g = load_project(p)
        assert loads_project(to_json(g)) == g
        assert to_json(g) == p.read_text()


# -- the CLI ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "code", "contains"),
    [
        ("[" * 200_000, 2, "nested too deeply"),
        (dumps(iris(settings=[])), 2, "'settings' must be an object"),
        (dumps(node_changed(1, name="bad \ud800")), 0, ""),  # a lone surrogate still prints
    ],
)
def test_cli_answers_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, code: int, contains: str
) -> None:
    p = tmp_path / "x.json"
    p.write_text(text, encoding="utf-8")
    assert main(["check", str(p)]) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code:
        assert err.count("\n") == 1 and str(p) in err and contains in err


def test_cli_any_engine_error_is_one_line_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TorchwireError from any command (here the check) → one line, the file first."""
    import importlib

    check_module = importlib.import_module("engine.cli.main")  # the check the command calls

    def boom(_g: Graph) -> Any:
        raise TorchwireError("the data is odd\n  - row 3\n  - row 9", file="data.csv")

    monkeypatch.setattr(check_module, "check", boom)
    assert main(["check", str(EXAMPLES / "iris.json")]) == 1
    err = capsys.readouterr().err
    assert err == "error: data.csv: the data is odd row 3; row 9\n"


def test_cli_compile_output_that_cannot_be_written_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "folder.py"
    out.mkdir()
    assert main(["compile", str(EXAMPLES / "lenet.json"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(out) in err and "Traceback" not in err


def test_cli_compile_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    g = Graph(name="broken")
    g.add("Linear", name="a")
    g.add("Linear", name="b")
    p = tmp_path / "broken.json"
    save_project(g, p)
    assert main(["compile", str(p)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{p}: ")
    assert "a: no input connected" in err and "b: no input connected" in err


def test_export_cli_bad_checkpoint_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = tmp_path / "best.pt"
    ckpt.write_bytes(b"not a checkpoint")
    out = tmp_path / "m.py"
    args = ["export", str(EXAMPLES / "iris.json"), "--python", str(out), "--checkpoint", str(ckpt)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(ckpt) in err and "Traceback" not in err
    assert not out.exists()
