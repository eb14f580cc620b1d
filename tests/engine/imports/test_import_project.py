"""An imported project trains from the imported weights: import → init_from → freeze → train."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from engine import load_project
from engine.cli import main
from engine.imports import import_model
from tests.support.imported import add_training as _add_training
from tests.support.imported import mlp_onnx as _mlp_onnx


def test_cli_import_then_train_starts_from_every_imported_tensor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    onnx_file = _mlp_onnx(tmp_path / "mlp.onnx")
    project = tmp_path / "p.json"
    args = ["import", str(onnx_file), "-o", str(project), "--freeze-all-but-last", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "init_from" in out and "frozen: 2 layers" in out
    data = json.loads(project.read_text())
    assert data["settings"]["training"]["init_from"] == "p.safetensors"  # relative
    frozen = sorted(n["name"] for n in data["nodes"] if n.get("frozen"))
    assert len(frozen) == 2  # the two hidden Linear layers; the head is not frozen

    _add_training(project)
    run = tmp_path / "run"
    assert main(["train", str(project), "--out", str(run), "--quiet"]) == 0
    init = json.loads((run / "init.json").read_text())
    imported = load_file(str(tmp_path / "p.safetensors"))
    assert sorted(init["loaded"]) == sorted(imported)  # every tensor of the import loaded
    assert not init["missing"] and not init["wrong_shape"] and not init["unexpected"]
    end = torch.load(run / "last.pt", weights_only=True)["model"]
    g = load_project(project)
    head = next(n.name for n in g.nodes.values() if n.type == "Linear" and not n.frozen)
    for name in frozen:  # frozen: bit-identical to the import; the head trained
        assert torch.equal(end[f"{name}.weight"], imported[f"{name}.weight"])
    assert not torch.equal(end[f"{head}.weight"], imported[f"{head}.weight"])


def test_python_import_save_sets_init_from(tmp_path: Path) -> None:
    result = import_model(_mlp_onnx(tmp_path / "mlp.onnx"))
    weights = result.save(str(tmp_path / "sub.json"))
    assert Path(weights).name == "sub.safetensors"
    g = load_project(tmp_path / "sub.json")
    assert g.settings["training"]["init_from"] == "sub.safetensors"
    assert not any(n.frozen for n in g.nodes.values())
