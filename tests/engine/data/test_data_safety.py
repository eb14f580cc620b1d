"""Data that used to slip through or fail in a library's words: outliers that widened their own
clip limits, NaN/inf reaching training, seeds scikit-learn refuses, unreadable or pickled
archives. Each problem is a DataError naming the file (and column), reported by the check."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from engine import check
from engine.data import sources
from engine.data.errors import DataError
from engine.data.pipeline import chain_of, features_for_inference, prepare
from engine.graph import GraphError
from engine.runtime.transforms import Impute
from tests.support.data import data_graph, write_csv
from tests.support.paths import ROOT

PICKLED = "is not a valid array file (it holds pickled Python objects, which Torchwire never loads)"


def fives(n: int = 200, seed: int = 0) -> np.ndarray:
    return 5.0 + np.random.default_rng(seed).normal(0.0, 0.1, n)


# -- 1. Clean's clip limits: robust statistics ------------------------------------------------
def test_clip_of_an_array_ignores_the_outlier_it_clips():
    x = fives()[:, None].copy()
    x[7, 0] = 1e6
    t = Impute("mean", clip_std=3.0)
    t.fit(x, np.zeros(len(x)), "regression")
    lo, hi = t.clip_array[0][0], t.clip_array[1][0]
    assert 4.0 < lo < 5.0 < hi < 6.0  # mean ± 3 std gave about ±3e5 here
    out = t.apply(x.astype(np.float32))
    assert out[7, 0] == pytest.approx(hi, rel=1e-6) and out.max() < 6.0


def test_clip_of_a_csv_column_ignores_the_outlier_it_clips(tmp_path):
    vals = fives(40)
    rows = ["a,b,label"] + [f"{v:.3f},{i % 7},{i % 2}" for i, v in enumerate(vals)]
    rows[11] = "1000000,3,0"
    path = write_csv(tmp_path, "\n".join(rows) + "\n")
    g = data_graph(
        "CSVDataset",
        [("Split", {"val": 0, "test": 0}), ("Clean", {"clip_std": 3.0})],
        path=path,
        target="label",
    )
    p = prepare(chain_of(g, "last"))
    st = p.fitted[0].state()
    assert p.x["train"][:, 0].max() < 6.0  # the 1e6 became a value near 5
    lo, hi = st["clip"]["a"]  # the shape export and the ONNX bake read
    assert isinstance(lo, float) and 4.0 < lo < 5.0 < hi < 6.0
    json.dumps(st, allow_nan=False)  # plain JSON


def test_clip_limits_come_from_the_training_split_only(tmp_path):
    x = np.random.default_rng(1).normal(size=(120, 1, 3)).astype(np.float32)
    path = tmp_path / "a.npz"
    np.savez(path, x=x, y=np.random.default_rng(2).normal(size=120))
    g = data_graph("NpzDataset", [("Split", {}), ("Clean", {"clip_std": 2.0})], path=str(path))
    p = prepare(chain_of(g, "last"))
    lo, hi = Impute.limits(x[p.indices["train"]].reshape(-1, 3).astype(np.float64), 2.0)
    assert np.allclose(p.fitted[0].clip_array, [lo, hi])
    lo_all, _ = Impute.limits(x.reshape(-1, 3).astype(np.float64), 2.0)
    assert not np.allclose(lo, lo_all)


def test_clip_falls_back_when_most_values_are_equal():
    # MAD 0, IQR > 0: σ from the IQR / 1.349
    v = np.array([0.0] * 6 + [1.0, 2.0, 3.0, 4.0])[:, None]
    lo, hi = Impute.limits(v, 1.0)
    q25, q75 = np.percentile(v, [25, 75])
    assert -lo[0] == hi[0] == pytest.approx((q75 - q25) / 1.349)
    # MAD and IQR 0 (a 0/1 flag that is mostly 0): the training range, nothing changes
    flag = np.array([0.0] * 9 + [1.0] * 1)[:, None]
    t = Impute("mean", clip_std=1.0)
    t.fit(flag, np.zeros(10), "classification")
    assert t.clip_array == [[0.0], [1.0]]
    assert np.array_equal(t.apply(flag), flag)


def test_clip_and_fill_ignore_infinite_values():
    x = np.array([[1.0], [2.0], [np.inf], [3.0], [np.nan], [2.5]])
    t = Impute("mean", clip_std=3.0)
    t.fit(x, np.zeros(len(x)), "regression")
    assert t.fill_array == [pytest.approx(2.125)]
    out = t.apply(x)
    assert np.isfinite(out).all() and out[2, 0] == pytest.approx(t.clip_array[1][0], rel=1e-6)


# -- 2. NaN / inf left at the end of the chain ----------------------------------------------
def test_csv_inf_is_a_data_error_naming_the_column(tmp_path):
    text = "a,b,label\n1,2,0\n2,inf,1\n3,4,0\n4,5,1\n5,6,0\n6,7,1\n7,8,0\n8,9,1\n"
    path = write_csv(tmp_path, text)
    g = data_graph("CSVDataset", [("Split", {})], path=path, target="label")
    rep = check(g)
    errs = rep.for_node("ds")
    assert len(errs) == 1 and errs[0].severity == "error"
    assert "column 'b'" in errs[0].message and "infinite" in errs[0].message
    assert path in errs[0].message and not rep.extra["ready_to_train"]
    assert rep.shapes["input"] == (2,)  # the model is still checked
    with pytest.raises(DataError, match="column 'b' holds infinite values") as e:
        prepare(chain_of(g, "last"))
    assert e.value.node == "ds"
    # clipping (robust limits) cleans it
    g2 = data_graph(
        "CSVDataset", [("Clean", {"clip_std": 3.0}), ("Split", {})], path=path, target="label"
    )
    assert check(g2).ok


def test_csv_cell_beyond_float_range_names_its_row_or_is_noted_when_clipped(tmp_path):
    # ``1e400`` parses as inf: refused naming the column, the row, the line and the cell;
    # where Clean's clip_std clips it, training goes on and the data says so
    rows = "".join(f"{i},{'1e400' if i == 3 else i * 2},{i % 2}\n" for i in range(12))
    path = write_csv(tmp_path, "a,b,label\n" + rows)
    for chain in ([("Split", {})], [("Clean", {"missing": "median"}), ("Split", {})]):
        g = data_graph("CSVDataset", chain, path=path, target="label")
        with pytest.raises(DataError) as e:
            prepare(chain_of(g, "last"))
        msg = str(e.value)
        assert "column 'b' holds infinite values" in msg and "row 4 (line 5): '1e400'" in msg
        errs = check(g).for_node("ds")
        assert errs and "row 4 (line 5): '1e400'" in errs[0].message
    g = data_graph(
        "CSVDataset", [("Clean", {"clip_std": 3.0}), ("Split", {})], path=path, target="label"
    )
    p = prepare(chain_of(g, "last"))
    assert np.isfinite(p.x["train"]).all()
    assert any(
        "column 'b': 1 infinite value" in n and "row 4 (line 5): '1e400'" in n and "clipped" in n
        for n in p.info.notes
    ), p.info.notes


def test_npz_all_nan_features_are_reported(tmp_path):
    path = tmp_path / "nan.npz"
    np.savez(path, x=np.full((20, 3), np.nan, np.float32), y=np.arange(20) % 2)
    g = data_graph("NpzDataset", [("Split", {})], path=str(path))
    errs = check(g).for_node("ds")
    assert len(errs) == 1
    msg = errs[0].message
    assert "array 'x', feature 0" in msg and "missing values (NaN)" in msg and "Clean" in msg
    with pytest.raises(DataError, match=r"array 'x', feature 0"):
        prepare(chain_of(g, "last"))


def test_npz_image_array_names_the_feature_index(tmp_path):
    x = np.zeros((20, 2, 3, 4), np.float32)
    x[5, 1, 2, 3] = np.nan
    path = tmp_path / "img.npz"
    np.savez(path, x=x, y=np.arange(20) % 2)
    g = data_graph("NpzDataset", [("Split", {})], path=str(path))
    with pytest.raises(DataError, match=r"array 'x', feature \(1, 2, 3\) holds missing values"):
        prepare(chain_of(g, "last"))


def test_only_the_chain_feeding_the_model_must_be_finite(tmp_path):
    # the dataset alone holds a gap, the Clean after it fills it: nothing to report
    path = write_csv(tmp_path, "a,label\n1,0\n,1\n3,0\n4,1\n5,0\n6,1\n7,0\n8,1\n")
    g = data_graph("CSVDataset", [("Split", {}), ("Clean", {})], path=path, target="label")
    rep = check(g)
    assert rep.ok, [str(d) for d in rep.diagnostics]
    g2 = data_graph("CSVDataset", [("Split", {})], path=path, target="label")
    assert any("add a Clean node" in d.message for d in check(g2).for_node("ds"))


def test_regression_target_inf_names_the_target(tmp_path):
    path = write_csv(tmp_path, "a,price\n1,2.5\n2,inf\n3,4.5\n4,5.5\n5,1.5\n6,2.0\n")
    g = data_graph("CSVDataset", [("Split", {})], path=path, target="price", task="regression")
    errs = check(g).for_node("ds")
    assert errs and "the target (column 'price') holds infinite values" in errs[0].message


def test_training_on_nan_says_which_column_not_the_learning_rate(tmp_path):
    from engine.train import train
    from engine.train.session import TrainError

    path = write_csv(tmp_path, "a,b,label\n" + "".join(f"{i},nan,{i % 2}\n" for i in range(12)))
    g = data_graph("CSVDataset", [("Split", {})], path=path, target="label")
    g.add("Linear", id="fc", out_features=2)
    g.connect("input", "fc")
    g.add("CrossEntropyLoss", id="loss")
    g.connect("fc", "loss", "output", "input")
    g.connect("last", "loss", "targets", "target")
    g.add("Adam", id="opt")
    g.connect("loss", "opt")
    g.settings["training"] = {"epochs": 1, "device": "cpu"}
    with pytest.raises(TrainError, match="column 'b'") as e:
        train(g, out_dir=tmp_path / "run")
    assert "learning rate" not in str(e.value)


# -- 4. seeds --------------------------------------------------------------------------------
def test_split_seed_declares_its_range():
    g = data_graph("Iris", [("Split", {"seed": 2**32 - 1})])
    p = prepare(chain_of(g, "last"))  # the largest seed, and the validation cut's seed + 1
    assert sum(len(v) for v in p.indices.values()) == 150
    for bad in (2**32, -1, 10**30):
        with pytest.raises(GraphError, match="seed"):
            g.set("last", seed=bad)


@pytest.mark.parametrize("bad", [2**32, -1, 10**30])
def test_split_seed_out_of_range_is_readable_not_sklearn(bad):
    g = data_graph("Iris", [("Split", {})])
    g.nodes["last"].params["seed"] = bad  # past the declaration (an old or edited file)
    with pytest.raises(DataError, match="seed must be a whole number from 0 to 4294967295"):
        prepare(chain_of(g, "last"))
    errs = check(g).for_node("last")
    assert errs and "4294967295" in errs[0].message and "InvalidParameter" not in errs[0].message


@pytest.mark.parametrize("t", ["Moons", "Circles", "Blobs", "Regression"])
def test_generator_random_state_out_of_range_is_readable(t):
    from engine import catalog

    spec = catalog.get(t)
    assert spec.param("random_state").max == 2**32 - 1
    p = spec.coerce_params({"n_samples": 20, "random_state": 2**32 - 1})
    assert len(sources.load(t, p).y) == 20
    p["random_state"] = 2**32
    with pytest.raises(DataError, match=f"{t}: random_state must be a whole number"):
        sources.load(t, p)


# -- 5. archives and files -------------------------------------------------------------------
NPZ = {"features_key": "x", "targets_key": "y", "task": "auto"}


def test_npz_with_object_arrays_is_refused_without_pickle_advice(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, x=np.array([{"a": 1}] * 4, dtype=object), y=np.arange(4))
    with pytest.raises(DataError) as e:
        sources.load("NpzDataset", NPZ, str(path))
    assert str(e.value) == f"{path} {PICKLED}"
    assert "allow_pickle" not in str(e.value)
    with pytest.raises(DataError, match=re.escape(PICKLED)):
        features_for_inference({"source": {"kind": "array"}, "steps": []}, str(path))


def _write(tmp: Path, name: str, data: bytes) -> str:
    p = tmp / name
    p.write_bytes(data)
    return str(p)


def _npz_bytes(tmp: Path) -> bytes:
    np.savez(tmp / "ok.npz", x=np.ones((4, 2)), y=np.arange(4))
    return (tmp / "ok.npz").read_bytes()


@pytest.mark.parametrize(
    ("kind", "expect"),
    [
        ("empty", "the file is empty"),
        ("truncated", "corrupt or truncated"),
        ("text", "not an .npz archive"),
        ("pickle", PICKLED),
        ("npy", "a single .npy array"),
        ("scalar_y", "one target per sample"),
        ("complex", "must hold real numbers"),
        ("keys", "no array 'x'"),
    ],
)
def test_bad_npz_is_a_data_error_naming_the_file(tmp_path, kind, expect):
    if kind == "empty":
        path = _write(tmp_path, "f.npz", b"")
    elif kind == "truncated":
        b = _npz_bytes(tmp_path)
        path = _write(tmp_path, "f.npz", b[: len(b) // 2])
    elif kind == "text":
        path = _write(tmp_path, "f.npz", b"a,b\n1,2\n")
    elif kind == "pickle":
        path = _write(tmp_path, "f.npz", pickle.dumps([1, 2, 3]))
    elif kind == "npy":
        np.save(tmp_path / "f.npy", np.ones(3))
        path = str(tmp_path / "f.npy")
    else:
        arrays = {
            "scalar_y": {"x": np.ones((4, 2)), "y": np.array(1)},
            "complex": {"x": np.ones((4, 2), complex), "y": np.arange(4)},
            "keys": {"features": np.ones((4, 2)), "y": np.arange(4)},
        }[kind]
        path = str(tmp_path / "f.npz")
        np.savez(path, **arrays)
    with pytest.raises(DataError, match=re.escape(expect)) as e:
        sources.load("NpzDataset", NPZ, path)
    assert path in str(e.value) and "allow_pickle" not in str(e.value)
    rep = check(data_graph("NpzDataset", [], path=path))  # reported, never raised
    assert any(expect in d.message for d in rep.for_node("ds"))


@pytest.mark.parametrize(
    ("data", "expect"),
    [
        ("a,label\n\xe9t\xe9,1\n2,0\n".encode("latin-1"), "not a text file (not UTF-8)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a text file (not UTF-8)"),
        (b'a,label\n"1,0\n', "not a readable CSV"),
        (b"  \n\n", "the file is empty"),
    ],
)
def test_bad_csv_is_a_data_error_naming_the_file(tmp_path, data, expect):
    path = _write(tmp_path, "t.csv", data)
    params = {
        "target": "label",
        "features": [],
        "categorical": [],
        "delimiter": ",",
        "header": True,
        "task": "auto",
    }
    with pytest.raises(DataError, match=re.escape(expect)) as e:
        sources.load("CSVDataset", params, path)
    assert path in str(e.value)


def test_the_data_runtime_never_loads_pickles():
    root = ROOT / "engine" / "data"
    for f in root.glob("*.py"):
        for call in re.findall(r"np\.load\([^)]*\)", f.read_text(encoding="utf-8")):
            assert "allow_pickle=False" in call, f"{f.name}: {call}"
