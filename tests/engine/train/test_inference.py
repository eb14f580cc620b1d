"""evaluate() and predict() on new data, with the training's preprocessing replayed."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_iris

from engine.train import evaluate, load_checkpoint, predict, train
from engine.train.session import TrainError
from tests.support.data import write_images, write_npz
from tests.support.pipelines import mlp, pipeline


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    g = pipeline(
        ("Iris", {}),
        mlp(3, 32),
        epochs=30,
        data=[("Split", {}), ("Standardize", {}), ("Batch", {"batch_size": 16})],
    )
    return g, train(g, out_dir=tmp_path_factory.mktemp("iris"))


def test_evaluate_matches_training(iris_run):
    g, res = iris_run
    m = evaluate(g, res.best_checkpoint)
    assert m["accuracy"] == res.test_metrics["accuracy"]
    assert m["confusion_matrix"] == res.test_metrics["confusion_matrix"]
    assert evaluate(g, res.best_checkpoint, split="train")["accuracy"] > 0.9


def test_predict_rows_and_arrays_with_class_names(iris_run):
    g, res = iris_run
    x = load_iris().data
    p = predict(g, res.best_checkpoint, x.tolist())
    assert p.task == "classification" and p.class_names == ["setosa", "versicolor", "virginica"]
    assert p.probabilities.shape == (150, 3)
    assert np.allclose(p.probabilities.sum(1), 1, atol=1e-5)
    truth = np.array(p.class_names)[load_iris().target]
    assert (np.array(p.labels) == truth).mean() > 0.9
    # the same from the safetensors file, with the project taken from the checkpoint
    q = predict(None, f"{res.run_dir}/model.safetensors", x[:5])
    assert q.labels == p.labels[:5]


def test_checkpoint_preprocessing_is_json_and_fitted_on_train(iris_run):
    import json

    _, res = iris_run
    ck = load_checkpoint(res.best_checkpoint)
    json.dumps(ck.preprocessing)
    st = ck.preprocessing["steps"][0]
    assert st["type"] == "Standardize" and len(st["mean"]) == 4
    assert not np.allclose(st["mean"], load_iris().data.mean(0))


def test_predict_regression_values_in_target_units(tmp_path):
    g = pipeline(
        ("Diabetes", {}),
        mlp(1),
        ("MSELoss", {}),
        epochs=5,
        data=[("Split", {}), ("Standardize", {"targets": True}), ("Batch", {})],
    )
    res = train(g, out_dir=tmp_path)
    from sklearn.datasets import load_diabetes

    p = predict(g, res.best_checkpoint, load_diabetes().data[:20])
    assert p.task == "regression" and p.probabilities is None
    assert 25 < np.mean(p.labels) < 346  # original units, not standardized


def test_predict_images_and_npz(tmp_path):
    path = write_images(tmp_path, per_class=8)
    g = pipeline(
        ("ImageFolder", {"path": path, "size": [8, 8], "num_workers": 1}),
        [("Flatten", {}), *mlp(2)],
        epochs=2,
        data=[
            ("Split", {"val": 0.25, "test": 0.0}),
            ("Standardize", {"per": "channel"}),
            ("Batch", {"batch_size": 4}),
        ],
    )
    res = train(g, out_dir=tmp_path / "run")
    p = predict(g, res.best_checkpoint, path)
    assert len(p.labels) == 16 and set(p.labels) <= {"cat", "dog"} and len(p.sources) == 16
    assert (np.array(p.labels) == np.array(["cat"] * 8 + ["dog"] * 8)).mean() > 0.8

    npz = write_npz(tmp_path, shape=(5,))
    g2 = pipeline(("NpzDataset", {"path": npz}), mlp(3), epochs=1)
    res2 = train(g2, out_dir=tmp_path / "run2")
    p2 = predict(g2, res2.best_checkpoint, npz)
    assert len(p2.labels) == 60
    with pytest.raises(TrainError, match="no such file"):
        predict(g2, res2.best_checkpoint, str(tmp_path / "nothing.npz"))


def test_predict_names_categories_training_never_saw(tmp_path):
    from tests.support.data import write_csv

    g = pipeline(
        ("CSVDataset", {"path": write_csv(tmp_path), "target": "label"}),
        mlp(2),
        data=[("Clean", {}), ("OneHot", {}), ("Split", {"val": 0, "test": 0}), ("Batch", {})],
        epochs=1,
    )
    res = train(g, out_dir=tmp_path / "run")
    rows = [[30, 50.0, "basic", 1.0], [41, 60.0, "gold", 2.5], [25, 38.0, None, 0.5]]
    rows += [[52, 71.0, "gold", 3.1], [33, 44.0, "iron", 1.2]]
    p = predict(g, res.best_checkpoint, rows)
    assert len(p.labels) == 5  # still predicted: an unseen category is none of the known ones
    assert p.warnings == [
        "column 'plan': categories 'gold', 'iron' not seen in training, in rows 2, 4, 5 "
        "(trained on basic, plus, pro); the model read them as none of those"
    ]
    assert predict(g, res.best_checkpoint, rows[:1]).warnings == []


def test_predict_says_an_infinite_value_that_clean_clipped(tmp_path):
    from tests.support.data import write_csv

    g = pipeline(
        ("CSVDataset", {"path": write_csv(tmp_path), "target": "label"}),
        mlp(2),
        data=[
            ("Clean", {"clip_std": 3.0}),
            ("OneHot", {}),
            ("Split", {"val": 0, "test": 0}),
            ("Batch", {}),
        ],
        epochs=1,
    )
    res = train(g, out_dir=tmp_path / "run")
    inf = float("inf")
    rows = [[30, 50.0, "basic", 1.0], [41, inf, "pro", 2.5], [25, 38.0, "basic", -inf]]
    rows += [[52, inf, "plus", 3.1]]
    p = predict(g, res.best_checkpoint, rows)
    assert len(p.labels) == 4  # still predicted, from the clipped values
    assert len(p.warnings) == 2
    income, score = p.warnings
    assert income.startswith("column 'income': an infinite value in rows 2, 4 was clipped to ")
    assert score.startswith("column 'score': an infinite value in row 3 was clipped to ")
    assert predict(g, res.best_checkpoint, rows[:1]).warnings == []
