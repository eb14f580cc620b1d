"""``torchwire check|compile|nodes``: exit codes, per-node problems, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine import Graph, save_project
from engine.cli import main
from tests.support.paths import EXAMPLES

LENET = str(EXAMPLES / "lenet.json")


def broken(tmp_path: Path) -> str:
    g = Graph(name="broken")
    a = g.add("Input", shape=[64, 8, 8], name="a")
    b = g.add("Input", shape=[32, 8, 8], name="b")
    add = g.add("Add", name="sum")
    g.connect(a, add)
    g.connect(b, add)
    g.add("Linear", name="head")
    p = tmp_path / "broken.json"
    save_project(g, p)
    return str(p)


def test_check_valid_project(capsys) -> None:
    assert main(["check", LENET]) == 0
    out = capsys.readouterr().out
    assert "total parameters: 61,706" in out
    assert "conv2    Conv2d     16×10×10" in out
    assert "ok: no problems" in out


def test_check_lists_every_problem_per_node(tmp_path: Path, capsys) -> None:
    assert main(["check", broken(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert (
        "  sum:\n    error: sum: cannot broadcast [B,64,8,8] with [B,32,8,8]: dimension 1 is 64 vs 32"
        in out
    )
    assert "  head:\n    warning: head: not connected to the model, so it is left out" in out


def test_check_json(tmp_path: Path, capsys) -> None:
    assert main(["check", broken(tmp_path), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert {d["node"] for d in data["diagnostics"]} == {"add", "linear"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{oops", "not valid JSON"),
        ('{"format": "torchwire-project", "version": 42}', "made by a newer Torchwire"),
        (None, "no such file"),
    ],
)
def test_unreadable_files_exit_2_with_one_line(tmp_path: Path, capsys, content, message) -> None:
    p = tmp_path / "x.json"
    if content is not None:
        p.write_text(content)
    assert main(["check", str(p)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_compile_writes_the_module(tmp_path: Path) -> None:
    out = tmp_path / "model.py"
    assert main(["compile", LENET, "-o", str(out)]) == 0
    ns: dict = {}
    exec(out.read_text(), ns)
    model = ns["Lenet"]()
    assert sum(p.numel() for p in model.parameters()) == 61_706


def test_compile_refuses_a_broken_graph(tmp_path: Path, capsys) -> None:
    assert main(["compile", broken(tmp_path), "-o", str(tmp_path / "m.py")]) == 1
    assert "sum: cannot broadcast [B,64,8,8] with [B,32,8,8]" in capsys.readouterr().err
    assert not (tmp_path / "m.py").exists()


def test_nodes_lists_the_catalog_with_docs(capsys) -> None:
    assert main(["nodes"]) == 0
    out = capsys.readouterr().out
    assert "Conv2d(input) -> output  2-D convolution over a (C, H, W) input." in out
    assert "LSTM(input, h_0?, c_0?) -> output, h_n, c_n" in out
    assert "    out_channels: int = 16 in [1, ]  number of filters" in out
    assert "(from the input: in_channels)" in out
    assert main(["nodes", "--json"]) == 0
    specs = json.loads(capsys.readouterr().out)
    assert any(s["type"] == "Concat" and s["inputs"][0]["multi"] for s in specs)


def test_python_m_engine_never_imports_qt() -> None:
    code = (
        f"import sys, runpy; sys.argv=['engine','check',{LENET!r}];\n"
        "try:\n runpy.run_module('engine', run_name='__main__')\n"
        "except SystemExit as e: code=e.code\n"
        "bad=[m for m in sys.modules if m.split('.')[0] in ('PySide6','NodeGraphQt','pyqtgraph','designer')]\n"
        "print('QT', bad, code)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "QT [] 0" in r.stdout, r.stderr


def test_check_apply_fixes_writes_the_fixed_project(tmp_path: Path, capsys) -> None:
    from engine.project import load_project
    from tests.engine.analysis.test_lints import GOOD, IRIS
    from tests.support.pipelines import pipeline

    model = [("Linear", {"out_features": 16}), ("Linear", {"out_features": 3})]
    g = pipeline(IRIS, [*model, ("Softmax", {"dim": 1})], optimizer=("Adam", {"lr": 0.5}), **GOOD)
    src, out = tmp_path / "bad.json", tmp_path / "fixed.json"
    save_project(g, src)
    assert main(["check", str(src), "--json"]) == 0
    before = json.loads(capsys.readouterr().out)
    offered = [d["fix"] for d in before["diagnostics"] if "fix" in d]
    assert len(offered) == 3 and all(set(f) == {"label", "op"} for f in offered)
    assert {f["op"]["op"] for f in offered} == {"Batch", "SetParams"}
    assert main(["check", str(src), "--apply-fixes", "-o", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    after = json.loads(captured.out)
    assert not [d for d in after["diagnostics"] if "fix" in d]
    assert "fixed: Insert ReLU between" in captured.err and "3 fix(es) applied" in captured.err
    fixed = load_project(out)
    assert "Softmax" not in {n.type for n in fixed} and fixed.nodes["opt"].params["lr"] < 0.5
    assert main(["check", str(src), "--apply-fixes"]) == 2  # -o is required
