"""Every dataset node: what the check learns from it, and the file formats' failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from pandas.api.types import is_numeric_dtype

from engine import Graph, check
from engine.catalog.data import DATASET_TYPES
from engine.data import sources
from engine.data.errors import DataError
from tests.support.data import data_graph, write_csv, write_images, write_npz

EXPECTED = {
    "Iris": ((4,), "classification", 3, 150),
    "Digits": ((1, 8, 8), "classification", 10, 1797),
    "Wine": ((13,), "classification", 3, 178),
    "BreastCancer": ((30,), "classification", 2, 569),
    "Diabetes": ((10,), "regression", 0, 442),
    "Moons": ((2,), "classification", 2, 200),
    "Circles": ((2,), "classification", 2, 200),
    "Blobs": ((3,), "classification", 4, 200),
    "Regression": ((6,), "regression", 0, 200),
    "CSVDataset": ((3,), "classification", 2, 10),
    "ImageFolder": ((3, 8, 8), "classification", 2, 12),
    "NpzDataset": ((5,), "classification", 3, 60),
}


def params_for(t: str, tmp: Path) -> dict:
    if t in ("Moons", "Circles"):
        return {"n_samples": 200}
    if t == "Blobs":
        return {"n_samples": 200, "centers": 4, "n_features": 3}
    if t == "Regression":
        return {"n_samples": 200, "n_features": 6}
    if t == "CSVDataset":
        return {"path": write_csv(tmp), "target": "label", "features": ["age", "income", "score"]}
    if t == "ImageFolder":
        return {"path": write_images(tmp), "size": [8, 8], "num_workers": 0}
    if t == "NpzDataset":
        return {"path": write_npz(tmp)}
    return {}


def test_every_dataset_type_is_covered():
    assert set(EXPECTED) == set(DATASET_TYPES)


def chain_for(t: str) -> list:
    """A Split, after a Clean for the CSV (its income column has a gap a model cannot take)."""
    return [("Clean", {}), ("Split", {})] if t == "CSVDataset" else [("Split", {})]


@pytest.mark.parametrize("t", DATASET_TYPES)
def test_dataset_node_informs_the_check_and_the_input(t, tmp_path):
    g = data_graph(t, chain_for(t), **params_for(t, tmp_path))
    rep = check(g)
    assert rep.ok, [str(d) for d in rep.diagnostics]
    shape, task, n_classes, n = EXPECTED[t]
    info = rep.data["ds"]
    assert info.feature_shape == shape
    assert info.feature_dtype == torch.float32
    assert info.task == task
    assert len(info.class_names) == n_classes
    assert info.n_samples == n
    # the Input takes the per-sample shape from the data: the user never types it
    assert rep.shapes["input"] == shape
    split = rep.data["last"].splits
    assert sum(split.values()) == n and split["train"] > split["val"] > 0


def test_check_reuses_loaded_data(tmp_path, monkeypatch):
    g = data_graph("CSVDataset", chain_for("CSVDataset"), **params_for("CSVDataset", tmp_path))
    check(g)
    calls = []
    real = sources._load
    monkeypatch.setattr(sources, "_load", lambda *a: calls.append(a) or real(*a))
    for _ in range(3):
        assert check(g).ok
    assert calls == []  # unchanged data: nothing loaded again
    g.set("last", seed=3)
    assert check(g).ok
    assert calls == []  # another split of the same file: the file is not read again
    Path(g.nodes["ds"].params["path"]).write_text(
        "age,income,plan,score,label\n1,2,a,3,x\n4,5,b,6,y\n7,8,a,9,x\n", encoding="utf-8"
    )
    import os

    os.utime(g.nodes["ds"].params["path"], ns=(1, 1))  # a different stamp
    rep = check(g)
    assert len(calls) == 1 and rep.data["ds"].n_samples == 3


def test_csv_types_categories_and_class_names(tmp_path):
    path = write_csv(tmp_path)
    raw = sources.load(
        "CSVDataset",
        {
            "target": "label",
            "features": [],
            "categorical": [],
            "delimiter": ",",
            "header": True,
            "task": "auto",
        },
        path,
    )
    assert raw.task == "classification" and raw.class_names == ["no", "yes"]
    assert list(raw.x.columns) == ["age", "income", "plan", "score"]
    assert not is_numeric_dtype(raw.x["plan"]) and raw.x["income"].isna().sum() == 1
    assert raw.y.tolist()[:2] == [1, 0]


def _csv_params(**kw):
    p = {
        "target": "label",
        "features": [],
        "categorical": [],
        "delimiter": ",",
        "header": True,
        "task": "auto",
    }
    p.update(kw)
    return p


def test_csv_regression_and_delimiter_and_no_header(tmp_path):
    text = "1;2.5;10.0\n2;3.5;20.5\n3;4.5;30.25\n4;5.5;40.0\n"
    path = write_csv(tmp_path, text, "semi.csv")
    raw = sources.load(
        "CSVDataset", _csv_params(target="2", delimiter=";", header=False, task="regression"), path
    )
    assert raw.task == "regression" and raw.y.tolist() == [10.0, 20.5, 30.25, 40.0]
    assert list(raw.x.columns) == ["0", "1"]


def test_bad_csv_missing_target_column_names_file_and_column(tmp_path):
    path = write_csv(tmp_path)
    with pytest.raises(DataError) as e:
        sources.load("CSVDataset", _csv_params(target="price"), path)
    msg = str(e.value)
    assert path in msg and "'price'" in msg and "'income'" in msg


def test_bad_csv_non_numeric_value_names_file_column_and_row(tmp_path):
    text = "a,b,label\n1,2,0\n3,x7,1\n5,6,0\n7,8,1\n"
    path = write_csv(tmp_path, text, "bad.csv")
    with pytest.raises(DataError) as e:
        sources.load("CSVDataset", _csv_params(), path)
    msg = str(e.value)
    assert path in msg and "'b'" in msg and "row 2" in msg and "line 3" in msg and "x7" in msg


def test_bad_csv_non_numeric_regression_target(tmp_path):
    text = "a,label\n1,2.0\n3,oops\n5,6.5\n"
    path = write_csv(tmp_path, text, "bad.csv")
    with pytest.raises(DataError, match=r"column 'label', row 2 \(line 3\): 'oops'"):
        sources.load("CSVDataset", _csv_params(task="regression"), path)


@pytest.mark.parametrize(
    ("text", "expect"),
    [("", "the file is empty"), ("a,b,label\n", "no data rows")],
)
def test_bad_csv_empty(tmp_path, text, expect):
    path = write_csv(tmp_path, text, "empty.csv")
    with pytest.raises(DataError, match=expect) as e:
        sources.load("CSVDataset", _csv_params(), path)
    assert path in str(e.value)


def test_bad_csv_reaches_the_check_on_the_dataset_node(tmp_path):
    path = write_csv(tmp_path, "a,b,label\n1,2,0\n3,x7,1\n5,6,0\n7,8,1\n", "bad.csv")
    g = data_graph("CSVDataset", [("Split", {})], path=path, target="label")
    rep = check(g)
    errs = rep.for_node("ds")
    assert len(errs) == 1 and "x7" in errs[0].message and errs[0].severity == "error"
    assert not rep.for_node("last")  # downstream nodes do not repeat it
    assert not rep.extra["ready_to_train"]


def test_relative_csv_path_resolves_from_the_project_file(tmp_path):
    from engine import load_project, save_project

    (tmp_path / "data").mkdir()
    write_csv(tmp_path / "data", name="t.csv")
    g = data_graph("CSVDataset", [("Clean", {}), ("OneHot", {})], path="data/t.csv", target="label")
    save_project(g, tmp_path / "p.json")
    g2 = load_project(tmp_path / "p.json")
    rep = check(g2)
    assert rep.ok, [str(d) for d in rep.diagnostics]
    assert rep.data["ds"].n_samples == 10


def test_npz_regression_and_bad_key(tmp_path):
    p = tmp_path / "r.npz"
    np.savez(p, x=np.ones((8, 1, 4, 4), np.float32), y=np.linspace(0, 1, 8))
    raw = sources.load(
        "NpzDataset", {"features_key": "x", "targets_key": "y", "task": "auto"}, str(p)
    )
    assert raw.task == "regression" and raw.feature_shape == (1, 4, 4)
    with pytest.raises(DataError, match="no array 'labels'"):
        sources.load(
            "NpzDataset", {"features_key": "x", "targets_key": "labels", "task": "auto"}, str(p)
        )


def test_image_folder_without_classes(tmp_path):
    (tmp_path / "empty").mkdir()
    g = data_graph("ImageFolder", [], path=str(tmp_path / "empty"))
    rep = check(g)
    assert any("no class subfolders" in d.message for d in rep.for_node("ds"))


def test_missing_path_is_reported_not_raised():
    g = Graph()
    g.add("CSVDataset", id="ds")
    rep = check(g)
    assert rep.for_node("ds") and not rep.ok
