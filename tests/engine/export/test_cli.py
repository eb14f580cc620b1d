"""``torchwire export``: prints the parity report; exit 0 / 1 (export problems) / 2 (unreadable
input); never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import onnx

from engine import Graph, save_project
from engine.cli import main
from tests.support.paths import EXAMPLES

LENET = str(EXAMPLES / "lenet.json")


def test_export_onnx_and_python_print_the_parity_report(tmp_path: Path, capsys) -> None:
    o, p = tmp_path / "lenet.onnx", tmp_path / "lenet.py"
    assert main(["export", LENET, "--onnx", str(o), "--python", str(p), "--opset", "17"]) == 0
    out = capsys.readouterr().out
    assert "torch vs onnxruntime" in out and "torch vs python" in out
    assert out.count("passed: max abs") == 2 and "fc3" in out
    assert "exporter: torchscript" in out  # opset 17 is below the dynamo exporter's 18
    assert onnx.load(str(o)).opset_import[0].version == 17
    assert p.read_text().startswith('"""Lenet: the model of the Torchwire project')


def test_export_with_checkpoint_bake_and_json(trained, tmp_path: Path, capsys) -> None:
    run = trained("iris")
    o = tmp_path / "iris.onnx"
    argv = ["export", str(EXAMPLES / "iris.json"), "--onnx", str(o), "--checkpoint", str(run)]
    assert main([*argv, "--bake-preprocessing", "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert reports[0]["ok"] and reports[0]["info"]["baked_steps"] == "Standardize"
    assert reports[0]["max_abs"] <= 1e-4 and reports[0]["rows"][0]["output"] == "linear_2"
    p = tmp_path / "iris.py"
    argv = ["export", str(EXAMPLES / "iris.json"), "--python", str(p), "--checkpoint", str(run)]
    assert main([*argv, "--with-training"]) == 0
    assert "def train(" in p.read_text()


def test_export_problems_exit_1_and_write_nothing(tmp_path: Path, capsys) -> None:
    g = Graph(name="dangling")
    g.add("Linear", name="head")
    bad = tmp_path / "bad.json"
    save_project(g, bad)
    assert main(["export", str(bad), "--onnx", str(tmp_path / "x.onnx")]) == 1
    err = capsys.readouterr().err
    assert "export failed" in err and "Traceback" not in err
    assert main(["export", LENET, "--onnx", str(tmp_path / "x.onnx"), "--opset", "3"]) == 1
    assert "opset 3 is not supported" in capsys.readouterr().err
    assert main(["export", LENET, "--onnx", str(tmp_path / "y.onnx"), "--bake-preprocessing"]) == 1
    assert "needs a checkpoint" in capsys.readouterr().err
    assert sorted(q.name for q in tmp_path.iterdir()) == ["bad.json"]


def test_unreadable_inputs_exit_2(tmp_path: Path, capsys) -> None:
    assert main(["export", str(tmp_path / "missing.json"), "--onnx", "x.onnx"]) == 2
    assert main(["export", LENET]) == 2
    assert "--onnx OUT.onnx and/or --python OUT.py" in capsys.readouterr().err
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    argv = ["export", LENET, "--onnx", str(tmp_path / "x.onnx"), "--checkpoint", str(junk)]
    assert main(argv) == 2
    assert "junk.pt" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()


def test_python_m_engine_export(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "export", LENET, "--python", str(tmp_path / "m.py")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "passed: max abs" in proc.stdout and "Traceback" not in proc.stderr
    assert (tmp_path / "m.py").exists()
