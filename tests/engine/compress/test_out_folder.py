"""The output folder of ``compress``: one writer, no work folder left by a killed one, and
exactly what ``report.json`` lists."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.compress import CompressError, compress
from engine.train.runlock import RunLock
from tests.engine.compress.conftest import MLP


def _fp16(run: str, out: Path, **kw):
    """The quickest compress: the original and its fp16 copy."""
    return compress(MLP, run, out, quantize_modes=("fp16",), repeats=1, **kw)


def _listed(out: Path) -> list[str]:
    """The top-level entries ``report.json`` names, itself included."""
    doc = json.loads((out / "report.json").read_text())
    names = {"report.json"}
    for v in doc["variants"]:
        for key in ("onnx", "project", "checkpoint"):
            rel = v[key]
            if rel and not os.path.isabs(rel):
                names.add(Path(rel).parts[0])
    return sorted(names)


def _entries(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir())


@pytest.mark.slow
def test_a_killed_compress_leaves_nothing_behind_once_the_folder_is_written_again(
    mlp_run, tmp_path
):
    out = tmp_path / "c"
    dead = out / ".compress-k1ll3d"  # what a compress killed mid-way left
    (dead / "pruned-50" / "finetune-1").mkdir(parents=True)
    (dead / "pruned-50.onnx").write_bytes(b"half")
    (out / ".report.json.abc.twtmp").write_text("{", encoding="utf-8")
    _fp16(mlp_run, out)
    assert _entries(out) == _listed(out) == ["original-fp16.onnx", "original.onnx", "report.json"]


def test_a_folder_being_written_is_refused_and_left_alone(mlp_run, tmp_path):
    out = tmp_path / "c"
    work = out / ".compress-alive"
    work.mkdir(parents=True)
    with RunLock(out), pytest.raises(CompressError, match="being written by another"):
        _fp16(mlp_run, out)
    assert work.exists() and not (out / "original.onnx").exists()


@pytest.mark.slow
def test_compressing_again_into_a_folder_replaces_the_earlier_variants(mlp_run, tmp_path):
    out = tmp_path / "c"
    compress(MLP, mlp_run, out, prune=0.3, structured=True, quantize_modes=("fp16",),
             repeats=1, max_drop=None)  # fmt: skip
    assert "pruned-30" in _entries(out) and _entries(out) == _listed(out)
    _fp16(mlp_run, out)
    assert _entries(out) == _listed(out) == ["original-fp16.onnx", "original.onnx", "report.json"]


def test_a_folder_holding_other_files_is_refused_untouched(mlp_run, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    (out / "original.onnx").write_bytes(b"an earlier compress's")
    with pytest.raises(CompressError, match=r"notes\.txt.*empty or new --out"):
        _fp16(mlp_run, out)
    assert _entries(out) == ["notes.txt", "original.onnx"]
    assert (out / "original.onnx").read_bytes() == b"an earlier compress's"


def test_a_file_as_the_folder_is_refused(mlp_run, tmp_path):
    (tmp_path / "f").write_text("x", encoding="utf-8")
    with pytest.raises(CompressError, match="not a folder"):
        _fp16(mlp_run, tmp_path / "f")
