"""Exports of trained projects: weights, metadata, and preprocessing baked into the graph."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from engine import ExportError, compile_model, export_onnx, load_project
from engine.train import load_checkpoint, predict
from tests.support.paths import EXAMPLES


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_checkpoint_weights_and_metadata(trained, tmp_path: Path) -> None:
    run = trained("iris")
    ckpt = load_checkpoint(run)
    g = load_project(EXAMPLES / "iris.json")
    out = tmp_path / "iris.onnx"
    rep = export_onnx(g, out, checkpoint=run)
    assert rep.ok
    s = session(out)
    meta = s.get_modelmeta().custom_metadata_map
    assert meta["task"] == "classification"
    assert json.loads(meta["class_names"]) == ["setosa", "versicolor", "virginica"]
    pre = json.loads(meta["preprocessing"])
    assert pre["steps"][0]["type"] == "Standardize"
    assert pre["steps"][0]["mean"] == ckpt.preprocessing["steps"][0]["mean"]
    assert meta["checkpoint"] == "best.pt" and meta["preprocessing_baked"] == "false"
    # the trained weights, not fresh ones: equal to the compiled model with the checkpoint
    model = compile_model(g).eval()
    model.load_state_dict(ckpt.state_dict)
    x = torch.randn(5, 4)
    got = s.run(None, {"features": x.numpy()})[0]
    with torch.no_grad():
        assert np.abs(model(x).numpy() - got).max() <= 1e-5


def test_graph_may_come_from_the_checkpoint(trained, tmp_path: Path) -> None:
    rep = export_onnx(None, tmp_path / "m.onnx", checkpoint=trained("iris"))
    assert rep.ok


@pytest.mark.parametrize("name", ["iris", "diabetes", "digits_cnn"])
def test_baked_model_takes_raw_features_and_predicts_as_the_engine(
    name: str, trained, tmp_path: Path
) -> None:
    from sklearn import datasets

    run = trained(name)
    g = load_project(EXAMPLES / f"{name}.json")
    out = tmp_path / f"{name}.onnx"
    rep = export_onnx(g, out, checkpoint=run, bake_preprocessing=True)
    assert rep.ok and rep.info["baked_steps"] == "Standardize", str(rep)
    if name == "digits_cnn":
        raw = datasets.load_digits().images[:20, None].astype(np.float32)
    else:
        loader = datasets.load_iris if name == "iris" else datasets.load_diabetes
        raw = loader().data[:20].astype(np.float32)
    engine_pred = predict(g, run, raw)
    s = session(out)
    got = s.run(None, {s.get_inputs()[0].name: raw})[0]
    meta = s.get_modelmeta().custom_metadata_map
    if name == "diabetes":  # regression on standardized targets: outputs back in target units
        assert meta["outputs_in_target_units"] == "true"
        np.testing.assert_allclose(got, engine_pred.values, rtol=1e-4, atol=1e-3)
    else:
        np.testing.assert_allclose(got, engine_pred.values, atol=1e-4)
        labels = [engine_pred.class_names[i] for i in got.argmax(1)]
        assert labels == engine_pred.labels


def test_baked_table_with_missing_values_and_categories(trained, tmp_path: Path) -> None:
    run = trained("csv_tabular")
    ckpt = load_checkpoint(run)
    g = load_project(EXAMPLES / "csv_tabular.json")
    out = tmp_path / "t.onnx"
    rep = export_onnx(g, out, checkpoint=run, bake_preprocessing=True)
    assert rep.info["baked_steps"] == "Clean, Standardize"
    names = ckpt.preprocessing["feature_names"]
    clean, _onehot, std = ckpt.preprocessing["steps"]
    # raw numbers with a missing age; categories one-hot (they stay outside the graph)
    row = {c: 0.0 for c in names}
    row.update({"age": np.nan, "income": 70.0, "visits": 3.0, "plan=pro": 1.0, "region=west": 1.0})
    x = np.array([[row[c] for c in names]], dtype=np.float32)
    got = session(out).run(None, {"features": x})[0]
    filled = [clean["fill"]["age"] if c == "age" else row[c] for c in names]
    z = (np.array(filled) - np.array(std["mean"])) / np.array(std["std"])
    model = compile_model(g).eval()
    model.load_state_dict(ckpt.state_dict)
    with torch.no_grad():
        want = model(torch.tensor(z, dtype=torch.float32)[None]).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_bake_needs_a_checkpoint(tmp_path: Path) -> None:
    g = load_project(EXAMPLES / "iris.json")
    with pytest.raises(ExportError, match="needs a checkpoint"):
        export_onnx(g, tmp_path / "x.onnx", bake_preprocessing=True)
    assert list(tmp_path.iterdir()) == []


def test_checkpoint_of_another_model_is_refused(trained, tmp_path: Path) -> None:
    g = load_project(EXAMPLES / "diabetes.json")
    with pytest.raises(ExportError, match="do not fit this graph"):
        export_onnx(g, tmp_path / "x.onnx", checkpoint=trained("iris"))
    with pytest.raises(ExportError, match="no such checkpoint"):
        export_onnx(g, tmp_path / "x.onnx", checkpoint=tmp_path / "missing.pt")
    assert list(tmp_path.iterdir()) == []
