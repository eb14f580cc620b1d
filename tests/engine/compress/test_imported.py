"""Compressing an imported, partly frozen model: frozen layers stay as they are unless asked,
the pruned project starts from its own weights, and too lossy variants are refused.

Every test here compresses a model the module's fixture imported and trained (seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from engine import load_project, save_project
from engine.cli import main
from engine.compress import DEFAULT_MAX_DROP, CompressError, compress
from engine.train.checkpoint import load_checkpoint

FIRST, HIDDEN, HEAD = "_1_Gemm", "_3_Gemm", "_5_Gemm"  # the imported Linear layers
LR = 0.01

pytestmark = pytest.mark.slow


def _onnx(path: Path) -> Path:
    torch.manual_seed(0)
    m = nn.Sequential(
        nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 10)
    )
    torch.onnx.export(
        m.eval(), (torch.randn(2, 1, 8, 8),), str(path), dynamo=False, input_names=["x"],
        output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An ONNX MLP imported with all but its last two layers frozen, trained on the digits."""
    tmp = tmp_path_factory.mktemp("imported")
    project = tmp / "p.json"
    args = ["import", str(_onnx(tmp / "m.onnx")), "-o", str(project), "--freeze-all-but-last", "2"]
    assert main(args) == 0
    g = load_project(project)
    prev = g.add("Digits")
    for t in ("Split", "Standardize", "Batch"):
        nid = g.add(t)
        g.connect(prev, nid)
        prev = nid
    (inp,) = [n.id for n in g.nodes.values() if n.type == "Input"]
    (out,) = [n.id for n in g.nodes.values() if n.type == "Output"]
    g.connect(prev, inp)
    loss = g.add("CrossEntropyLoss")
    g.connect(out, loss, None, "input")
    g.connect(prev, loss, "targets", "target")
    g.connect(loss, g.add("Adam", lr=LR))
    g.settings["training"].update(epochs=4, device="cpu", cpu_threads=1)
    save_project(g, project)
    assert _node(load_project(project), FIRST).frozen
    run = tmp / "run"
    assert main(["train", str(project), "--out", str(run), "--quiet"]) == 0
    return project, run


def _node(g, name: str):
    return next(n for n in g.nodes.values() if n.name == name)


def _compress(project: Path, run: Path, out: Path, *more: str) -> int:
    return main(["compress", str(project), "--checkpoint", str(run), "--out", str(out),
                 "--repeats", "1", "--quiet", *more])  # fmt: skip


def test_the_dialogs_defaults_leave_frozen_layers_alone(imported, tmp_path, capsys):
    project, run = imported
    out = tmp_path / "c"
    code = _compress(project, run, out, "--prune", "0.5", "--structured",
                     "--finetune-epochs", "2", "--quantize", "int8-static")  # fmt: skip
    cap = capsys.readouterr()
    doc = json.loads((out / "report.json").read_text())
    assert doc["options"]["max_drop"] == DEFAULT_MAX_DROP == 0.05
    assert code == 0, cap.err
    pruned = doc["variants"][1]
    assert not pruned["refused"] and pruned["drop"] <= DEFAULT_MAX_DROP, pruned
    assert any(FIRST in n and "frozen" in n for n in pruned["notes"]), pruned["notes"]
    assert f"{FIRST} left alone: frozen" in cap.out
    pg = load_project(out / "pruned-50" / "project.json")
    assert _node(pg, FIRST).frozen and _node(pg, FIRST).params["out_features"] == 32
    assert _node(pg, HIDDEN).params["out_features"] == 16
    # its weights are the pruned ones: the unpruned import's file is not its init_from
    assert pg.settings["training"]["init_from"] == "model.pt"
    first = load_checkpoint(run).state_dict[f"{FIRST}.weight"]
    mine = load_checkpoint(out / "pruned-50" / "model.pt").state_dict
    assert torch.equal(mine[f"{FIRST}.weight"], first)  # frozen: untouched by the fine-tune
    # the fine-tune trained with the project's optimizer
    hist = (out / "pruned-50" / "finetune-1" / "history.csv").read_text().splitlines()
    lr_col = hist[0].split(",").index("lr")
    assert {float(r.split(",")[lr_col]) for r in hist[1:]} == {LR}
    # training the pruned project goes on from the pruned weights
    again = tmp_path / "again"
    assert main(["train", str(out / "pruned-50" / "project.json"), "--out", str(again),
                 "--epochs", "1", "--quiet"]) == 0  # fmt: skip
    init = json.loads((again / "init.json").read_text())
    assert sorted(init["loaded"]) == sorted(mine) and not init["wrong_shape"]


def test_frozen_layers_pruned_on_request_are_unfrozen_for_the_fine_tune(imported, tmp_path):
    project, run = imported
    out = tmp_path / "c"
    _compress(project, run, out, "--prune", "0.25", "--structured", "--finetune-epochs", "1",
              "--prune-frozen", "--max-drop", "none")  # fmt: skip
    doc = json.loads((out / "report.json").read_text())
    pruned = doc["variants"][1]
    assert doc["options"]["prune_frozen"] is True and doc["options"]["max_drop"] is None
    assert any("unfrozen" in n and FIRST in n for n in pruned["notes"]), pruned["notes"]
    pg = load_project(out / "pruned-25" / "project.json")
    assert not _node(pg, FIRST).frozen and _node(pg, FIRST).params["out_features"] == 24
    saved = load_checkpoint(out / "pruned-25" / "model.pt").graph
    assert saved["settings"]["training"]["init_from"] == "model.pt"


def test_unstructured_pruning_spares_frozen_layers(imported, tmp_path):
    project, run = imported
    out = tmp_path / "c"
    _compress(project, run, out, "--prune", "0.5", "--max-drop", "none")
    sd = load_checkpoint(out / "pruned-50" / "model.pt").state_dict
    assert torch.equal(sd[f"{FIRST}.weight"], load_checkpoint(run).state_dict[f"{FIRST}.weight"])
    assert (sd[f"{HIDDEN}.weight"] == 0).float().mean().item() == pytest.approx(0.5, abs=0.01)
    g = load_project(out / "pruned-50" / "project.json")
    assert _node(g, FIRST).frozen and g.settings["training"]["init_from"] == "model.pt"


def test_nothing_but_frozen_layers_to_prune_says_how_to_prune_them(imported, tmp_path):
    project, run = imported
    g = load_project(project)
    g.freeze(_node(g, HIDDEN).id)
    with pytest.raises(CompressError, match=r"frozen.*--prune-frozen"):
        compress(g, run, tmp_path / "c", prune=0.5, structured=True, repeats=1)


def test_a_variant_losing_more_than_the_default_is_refused(imported, tmp_path, capsys):
    project, run = imported
    out = tmp_path / "c"
    code = _compress(project, run, out, "--prune", "0.9", "--structured", "--prune-frozen")
    cap = capsys.readouterr()
    assert code == 1  # every variant refused
    assert "REFUSED" in cap.out and "pruned-90" in cap.err and "0.05" in cap.err
    assert not (out / "pruned-90").exists() and not (out / "pruned-90.onnx").exists()
