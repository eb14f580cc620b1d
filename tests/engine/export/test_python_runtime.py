"""Exported training scripts ship the engine's runtime whole (``torchwire_runtime/``) and
train under torchrun on several processes as they do on one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine import load_project
from engine.export import ExportError, export_python
from tests.support.paths import EXAMPLES, ROOT


def test_the_runtime_ships_file_for_file_and_nothing_is_pasted(tmp_path: Path) -> None:
    out = tmp_path / "iris.py"
    export_python(load_project(EXAMPLES / "iris.json"), out, with_training=True)
    shipped = sorted(p.name for p in (tmp_path / "torchwire_runtime").glob("*.py"))
    engine_rt = sorted(p.name for p in (ROOT / "engine" / "runtime").glob("*.py"))
    assert shipped == engine_rt
    for name in shipped:
        assert (tmp_path / "torchwire_runtime" / name).read_bytes() == (
            ROOT / "engine" / "runtime" / name
        ).read_bytes()
    text = out.read_text(encoding="utf-8")
    for engine_def in ("def prepare_steps", "class Trainer", "class LRSchedule", "def load_csv"):
        assert engine_def not in text
    # only user-visible custom layers are inlined from source
    hits = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "engine").rglob("*.py")
        if "getsource" in p.read_text(encoding="utf-8")
    ]
    assert hits == ["engine/build/compile.py"]


def test_a_failed_export_keeps_the_old_runtime_folder(tmp_path: Path, monkeypatch) -> None:
    old = tmp_path / "torchwire_runtime"
    old.mkdir()
    (old / "marker.txt").write_text("old", encoding="utf-8")
    import engine.export.python as py

    monkeypatch.setattr(py, "_RUNTIME", py._RUNTIME.replace("return model.eval()", "1 / 0"))
    with pytest.raises(ExportError):
        export_python(load_project(EXAMPLES / "iris.json"), tmp_path / "x.py", with_training=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["torchwire_runtime"]
    assert (old / "marker.txt").read_text(encoding="utf-8") == "old"


def test_an_export_over_a_runtime_folder_replaces_only_the_shipped_files(tmp_path: Path) -> None:
    rt = tmp_path / "torchwire_runtime"
    (rt / "mine").mkdir(parents=True)
    (rt / "NOTES.md").write_text("my notes", encoding="utf-8")
    (rt / "mine" / "helper.py").write_text("X = 1\n", encoding="utf-8")
    (rt / "loop.py").write_text("# an edited copy of a shipped file\n", encoding="utf-8")
    export_python(load_project(EXAMPLES / "iris.json"), tmp_path / "iris.py", with_training=True)
    assert (rt / "NOTES.md").read_text(encoding="utf-8") == "my notes"
    assert (rt / "mine" / "helper.py").read_text(encoding="utf-8") == "X = 1\n"
    assert (rt / "loop.py").read_bytes() == (ROOT / "engine" / "runtime" / "loop.py").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["iris.py", "torchwire_runtime"]


def test_a_runtime_name_that_is_not_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "torchwire_runtime").write_text("mine", encoding="utf-8")
    with pytest.raises(ExportError, match=r"torchwire_runtime.*not a folder"):
        export_python(load_project(EXAMPLES / "iris.json"), tmp_path / "x.py", with_training=True)
    assert (tmp_path / "torchwire_runtime").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["torchwire_runtime"]


@pytest.mark.slow
def test_the_exported_script_trains_on_two_processes_like_one(tmp_path: Path) -> None:
    out = tmp_path / "iris.py"
    g = load_project(EXAMPLES / "iris.json")
    g.settings.setdefault("training", {})["epochs"] = 3
    export_python(g, out, with_training=True)
    run = {"cwd": tmp_path, "capture_output": True, "text": True, "timeout": 300}
    one = subprocess.run(
        [sys.executable, str(out), "--train", "--device", "cpu", "--save", "one.pt"], **run
    )
    assert one.returncode == 0, one.stderr[-2000:]
    two = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
         str(out), "--train", "--device", "cpu", "--save", "two.pt"], **run,
    )  # fmt: skip
    assert two.returncode == 0, two.stderr[-2000:]
    assert two.stdout.count("epoch 3/3") == 1  # rank 0 alone reports
    a = torch.load(tmp_path / "one.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "two.pt", weights_only=True)["model"]
    for k, v in a.items():
        assert (v - b[k]).abs().max().item() <= 1e-5, k
