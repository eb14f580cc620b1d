"""``torchwire compress``: the table, report.json, --max-drop and exit codes."""

from __future__ import annotations

import json

import pytest

from engine.cli import main
from tests.engine.compress.conftest import CNN, MLP


@pytest.mark.slow
def test_max_drop_refuses_a_too_lossy_variant(cnn_run, tmp_path, capsys):
    out = tmp_path / "c"
    # 70% of every layer's weights, conv2d's 9 per filter included: the CNN breaks
    code = main(["compress", CNN, "--checkpoint", cnn_run, "--out", str(out), "--prune", "0.7",
                 "--max-drop", "0.02", "--repeats", "2", "--quiet"])  # fmt: skip
    assert code == 1
    cap = capsys.readouterr()
    assert "REFUSED" in cap.out and "pruned-70" in cap.err
    assert not (out / "pruned-70").exists() and not (out / "pruned-70.onnx").exists()
    assert (out / "original.onnx").exists()
    doc = json.loads((out / "report.json").read_text())
    v = doc["variants"][1]
    assert v["name"] == "pruned-70" and v["refused"] and v["drop"] > 0.02 and v["onnx"] is None
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no work folder left


def test_a_variant_within_max_drop_is_written(mlp_run, tmp_path, capsys):
    out = tmp_path / "c"
    code = main(["compress", MLP, "--checkpoint", mlp_run, "--out", str(out), "--prune", "0.3",
                 "--structured", "--quantize", "fp16", "--max-drop", "0.05", "--repeats", "2",
                 "--quiet"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    head = text.splitlines()[0].split()
    assert head[:6] == ["variant", "params", "non-zero", "file", "b1", "ms"]
    assert "pruned-30-fp16" in text and "linear_2 left alone" in text
    for f in ("pruned-30/project.json", "pruned-30/model.pt", "pruned-30.onnx",
              "pruned-30-fp16.onnx", "report.json"):  # fmt: skip
        assert (out / f).exists(), f
    doc = json.loads((out / "report.json").read_text())
    assert doc["variants"][1]["params"] < doc["variants"][0]["params"]
    assert main(["check", str(out / "pruned-30" / "project.json")]) == 0


def test_unreadable_inputs(tmp_path, capsys):
    assert main(["compress", CNN, "--checkpoint", str(tmp_path / "x"), "--out", "o"]) == 2
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["compress", CNN, "--checkpoint", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert main(["compress", CNN, "--checkpoint", str(bad), "--out", "o", "--prune", "2"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "not a valid Torchwire checkpoint" in err


def _fake_compress(monkeypatch, refused: dict[str, bool]) -> dict:
    """Replace the compression by a report with these variants (name → refused)."""
    from engine.compress import CompressionReport, Variant

    seen: dict = {}

    def fake(graph, checkpoint, out, **kw):
        seen.update(kw)
        vs = [Variant("original", "fp32", "original.onnx")] + [
            Variant(n, "", None, refused="its accuracy drops by 0.2" if r else None)
            for n, r in refused.items()
        ]
        return CompressionReport(str(out), "classification", "accuracy", vs, {})

    monkeypatch.setattr("engine.cli.compress.compress", fake)
    return seen


def test_exit_1_only_when_every_variant_is_refused(monkeypatch, tmp_path, capsys):
    args = ["compress", MLP, "--checkpoint", str(tmp_path), "--out", str(tmp_path / "c")]
    seen = _fake_compress(monkeypatch, {"pruned-50": True, "pruned-50-fp16": False})
    assert main([*args, "--quiet"]) == 0
    cap = capsys.readouterr()
    assert "REFUSED: its accuracy drops" in cap.out
    assert "warning: refused (too lossy for --max-drop 0.05), not written: pruned-50\n" in cap.err
    assert seen["max_drop"] == 0.05 and seen["prune_frozen"] is False
    _fake_compress(monkeypatch, {"pruned-50": True, "pruned-50-fp16": True})
    assert main([*args, "--quiet"]) == 1
    assert "error: refused" in capsys.readouterr().err


def test_max_drop_none_keeps_every_variant(monkeypatch, tmp_path, capsys):
    seen = _fake_compress(monkeypatch, {})
    args = ["compress", MLP, "--checkpoint", str(tmp_path), "--out", str(tmp_path / "c")]
    assert main([*args, "--max-drop", "none", "--prune-frozen"]) == 0
    assert seen["max_drop"] is None and seen["prune_frozen"] is True
    with pytest.raises(SystemExit) as bad:  # argparse's usage error
        main([*args, "--max-drop", "lots"])
    assert bad.value.code == 2 and "not a fraction or 'none'" in capsys.readouterr().err
