"""Preprocessing nodes: cleaning, splitting, scaling, one-hot, augmentation, batching; and that
no statistic ever comes from outside the training split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from engine import check
from engine.catalog.data import PREPROCESSING_TYPES
from engine.data import sources
from engine.data.errors import DataError
from engine.data.pipeline import chain_of, features_for_inference, prepare
from engine.runtime.batches import InMemoryBatches, StreamingBatches, augment_batch
from tests.support.data import data_graph, write_csv, write_images

COVERED = {"Clean", "Split", "Standardize", "MinMaxScale", "OneHot", "Augment", "Batch"}


def test_every_preprocessing_type_is_covered():
    assert set(PREPROCESSING_TYPES) == COVERED


def prep(g, node="last"):
    return prepare(chain_of(g, node))


def raw_iris():
    return sources.load("Iris", {}).x.to_numpy()


def test_split_fractions_disjoint_seeded_and_stratified():
    g = data_graph("Iris", [("Split", {"val": 0.2, "test": 0.2, "seed": 1})])
    p = prep(g)
    idx = p.indices
    assert [len(idx[k]) for k in ("train", "val", "test")] == [90, 30, 30]
    all_idx = np.concatenate(list(idx.values()))
    assert len(set(all_idx.tolist())) == 150
    for k in ("val", "test"):  # stratified: 10 of each class
        assert np.bincount(p.y[k]).tolist() == [10, 10, 10]
    again = prep(data_graph("Iris", [("Split", {"val": 0.2, "test": 0.2, "seed": 1})]))
    assert np.array_equal(again.indices["test"], idx["test"])
    other = prep(data_graph("Iris", [("Split", {"val": 0.2, "test": 0.2, "seed": 2})]))
    assert not np.array_equal(other.indices["test"], idx["test"])


def test_split_refuses_nothing_left_for_training():
    g = data_graph("Iris", [("Split", {"val": 0.5, "test": 0.5})])
    rep = check(g)
    assert any("nothing for training" in d.message for d in rep.for_node("last"))


@pytest.mark.parametrize("position", ["after_split", "before_split"])
def test_standardize_fits_on_train_only(position):
    chain = [("Split", {"seed": 0}), ("Standardize", {})]
    if position == "before_split":
        chain.reverse()
    p = prep(data_graph("Iris", chain))
    raw = raw_iris()
    train_raw = raw[p.indices["train"]]
    st = p.fitted[0].state()
    assert np.allclose(st["mean"], train_raw.mean(0))
    assert np.allclose(st["std"], train_raw.std(0))
    assert not np.allclose(st["mean"], raw.mean(0))  # the full data's mean would leak
    assert np.allclose(p.x["train"].mean(0), 0, atol=1e-5)
    assert np.allclose(p.x["train"].std(0), 1, atol=1e-4)
    assert not np.allclose(p.x["test"].mean(0), 0, atol=1e-3)
    test_raw = raw[p.indices["test"]]
    assert np.allclose(p.x["test"], (test_raw - st["mean"]) / st["std"], atol=1e-5)


def test_standardize_per_channel_on_images():
    p = prep(data_graph("Digits", [("Split", {}), ("Standardize", {"per": "channel"})]))
    st = p.fitted[0].state()
    assert len(st["mean"]) == 1
    assert abs(float(p.x["train"].mean())) < 1e-4 and abs(float(p.x["train"].std()) - 1) < 1e-3


def test_standardized_targets_are_fitted_on_train_and_invertible():
    p = prep(data_graph("Diabetes", [("Split", {}), ("Standardize", {"targets": True})]))
    raw_y = sources.load("Diabetes", {}).y
    t = p.target_transform
    assert np.isclose(t.y_mean[0], raw_y[p.indices["train"]].mean(), rtol=1e-5)
    assert np.allclose(t.invert_y(p.y["test"]), raw_y[p.indices["test"]], atol=1e-3)


def test_minmax_uses_train_range_only():
    p = prep(data_graph("Wine", [("Split", {}), ("MinMaxScale", {"min": -1.0, "max": 1.0})]))
    assert np.allclose(p.x["train"].min(0), -1, atol=1e-5)
    assert np.allclose(p.x["train"].max(0), 1, atol=1e-5)
    st = p.fitted[0].state()
    raw = sources.load("Wine", {}).x.to_numpy()[p.indices["train"]]
    assert np.allclose(st["data_min"], raw.min(0))
    # values outside the training range stay outside [-1, 1]: no refit on other splits
    other = np.concatenate([p.x["val"], p.x["test"]])
    assert (other < -1 - 1e-6).any() or (other > 1 + 1e-6).any()


CSV_LEAK = "x,color,label\n" + "".join(
    f"{i},{c},{i % 2}\n"
    for i, c in enumerate(["red", "blue", "", "red", "blue", "red", "blue", "red"] * 5)
)


def test_clean_imputes_with_train_statistics(tmp_path):
    text = "a,b,label\n" + "".join(
        f"{'' if i % 7 == 3 else i},{i * 2},{i % 2}\n" for i in range(40)
    )
    path = write_csv(tmp_path, text)
    g = data_graph(
        "CSVDataset",
        [("Split", {"seed": 0}), ("Clean", {"missing": "mean"})],
        path=path,
        target="label",
    )
    p = prep(g)
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
    train_mean = raw.x["a"].iloc[p.indices["train"]].mean()
    assert p.fitted[0].state()["fill"]["a"] == pytest.approx(train_mean)
    assert not np.isnan(p.x["test"]).any()
    missing_in_test = raw.x["a"].iloc[p.indices["test"]].isna().to_numpy()
    if missing_in_test.any():
        assert np.allclose(p.x["test"][missing_in_test, 0], train_mean)


@pytest.mark.parametrize(("how", "value"), [("mean", 4.0), ("median", 2.0), ("most_frequent", 1.0)])
def test_clean_strategies(tmp_path, how, value):
    text = "a,label\n1,0\n1,1\n2,0\n,1\n10,0\n6,1\n"
    path = write_csv(tmp_path, text)
    g = data_graph(
        "CSVDataset",
        [("Split", {"val": 0, "test": 0}), ("Clean", {"missing": how})],
        path=path,
        target="label",
    )
    p = prep(g)
    assert p.fitted[0].state()["fill"]["a"] == value
    assert p.x["train"][3, 0] == value


def test_clean_drop_rows_duplicates_and_clip(tmp_path):
    text = "a,b,label\n1,5,0\n1,5,0\n,6,1\n2,7,1\n3,8,0\n1000,9,1\n4,10,0\n5,11,1\n"
    path = write_csv(tmp_path, text)
    g = data_graph(
        "CSVDataset",
        [
            ("Clean", {"missing": "drop", "drop_duplicates": True, "clip_std": 1.0}),
            ("Split", {"val": 0, "test": 0}),
        ],
        path=path,
        target="label",
    )
    p = prep(g)
    assert p.info.n_samples == 6  # one duplicate and one row with a gap dropped
    assert any("duplicate" in n for n in p.info.notes)
    assert p.x["train"][:, 0].max() < 1000  # the outlier was clipped


def test_onehot_categories_from_train_only(tmp_path):
    rows = ["x,color,label"]
    for i in range(30):
        rows.append(f"{i},{['red', 'blue'][i % 2]},{i % 2}")
    rows.append("99,green,1")  # a category the training split may never see
    path = write_csv(tmp_path, "\n".join(rows) + "\n")
    g = data_graph(
        "CSVDataset",
        [("Split", {"seed": 0, "stratify": False}), ("OneHot", {})],
        path=path,
        target="label",
    )
    p = prep(g)
    raw_idx = {k: set(v.tolist()) for k, v in p.indices.items()}
    cats = p.fitted[0].state()["categories"]["color"]
    assert ("green" in cats) == (30 in raw_idx["train"])
    assert p.info.feature_names[:1] == ("x",) and "color=red" in p.info.feature_names
    if 30 not in raw_idx["train"]:
        where = "val" if 30 in raw_idx["val"] else "test"
        pos = sorted(raw_idx[where]).index(30)
        assert p.x[where][pos, 1:].sum() == 0  # unknown category: all zeros


def test_text_columns_without_onehot_block_training(tmp_path):
    path = write_csv(tmp_path)
    g = data_graph("CSVDataset", [("Clean", {})], path=path, target="label")
    x = g.nodes["input"]
    l1 = g.add("Linear", out_features=2)
    g.connect(x.id, l1)
    loss = g.add("CrossEntropyLoss")
    g.connect(l1, loss)
    g.connect("last", loss, "targets", "target")
    g.connect(loss, g.add("Adam"))
    rep = check(g)
    msgs = [d.message for d in rep.for_node("last")]
    assert any("plan" in m and "OneHot" in m for m in msgs)
    assert not rep.extra["ready_to_train"]


def test_augment_is_checked_for_images_and_keeps_shapes():
    rep = check(data_graph("Iris", [("Augment", {})]))
    assert any("images" in d.message for d in rep.for_node("last"))
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).reshape(2, 1, 4, 4)
    flipped = augment_batch(x, {"hflip": True}, torch.Generator().manual_seed(0))
    for i in range(2):
        assert torch.equal(flipped[i], x[i]) or torch.equal(flipped[i], x[i].flip(2))
    y1 = augment_batch(x, {"crop_padding": 1, "rotation": 15}, torch.Generator().manual_seed(3))
    y2 = augment_batch(x, {"crop_padding": 1, "rotation": 15}, torch.Generator().manual_seed(3))
    assert y1.shape == x.shape and torch.equal(y1, y2) and not torch.equal(y1, x)


def test_batch_settings_and_in_memory_batches():
    p = prep(data_graph("Iris", [("Split", {}), ("Batch", {"batch_size": 32, "drop_last": True})]))
    assert p.batch == {"batch_size": 32, "shuffle": True, "drop_last": True}
    x = torch.arange(10.0)[:, None]
    y = torch.arange(10)
    b = InMemoryBatches(x, y, 4, shuffle=True)
    assert len(b) == 3
    perm = b.order(torch.Generator().manual_seed(0))
    got = torch.cat([yb for _, yb in b.batches(perm)])
    assert sorted(got.tolist()) == list(range(10)) and got.tolist() != list(range(10))
    assert len(InMemoryBatches(x, y, 4, drop_last=True)) == 2
    rest = list(b.batches(perm, 2))  # resuming at batch 2: only the last batch
    assert len(rest) == 1 and rest[0][1].tolist() == got[8:].tolist()


def test_image_folder_streams_with_fitted_statistics(tmp_path):
    path = write_images(tmp_path)
    g = data_graph(
        "ImageFolder",
        [("Split", {"val": 0.25, "test": 0.0}), ("Standardize", {"per": "channel"})],
        path=path,
        size=[6, 5],
        num_workers=0,
    )
    p = prep(g)
    assert p.info.streaming and p.info.feature_shape == (3, 6, 5)
    assert len(p.fitted[0].state()["mean"]) == 3
    sb = StreamingBatches(
        p.x["train"], p.y["train"], p.image, 4, True, False, torch.device("cpu"), p.fitted
    )
    xs = [xb for xb, _ in sb.batches(sb.order(torch.Generator().manual_seed(0)))]
    allx = torch.cat(xs)
    assert allx.shape == (9, 3, 6, 5)
    assert abs(float(allx.mean())) < 0.2  # standardized on the device per batch


def test_inference_replays_fitted_steps(tmp_path):
    path = write_csv(tmp_path)
    g = data_graph(
        "CSVDataset",
        [("Clean", {}), ("OneHot", {}), ("Split", {}), ("Standardize", {})],
        path=path,
        target="label",
    )
    p = prep(g)
    arr, _ = features_for_inference(p.record, [[35, None, "pro", 1.5], [20, 30.0, "gold", 0.1]])
    assert arr.shape == (2, len(p.info.feature_names)) and np.isfinite(arr).all()
    # the same rows as in the table give the same features as in training
    df = pd.read_csv(path)
    first_train = int(p.indices["train"][0])
    row = df.drop(columns="label").iloc[first_train].tolist()
    same, _ = features_for_inference(p.record, [row])
    assert np.allclose(same[0], p.x["train"][0], atol=1e-5)
    with pytest.raises(DataError, match="4 values"):
        features_for_inference(p.record, [[1, 2]])


def test_clean_on_arrays_fills_and_clips_from_train(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 1, 3)).astype(np.float32)  # rank > 2: kept as an array
    x[::9, 0, 1] = np.nan
    x[5, 0, 2] = 50.0  # an outlier
    path = tmp_path / "a.npz"
    np.savez(path, x=x, y=rng.normal(size=80))
    g = data_graph(
        "NpzDataset",
        [("Split", {"seed": 0}), ("Clean", {"missing": "mean", "clip_std": 3.0})],
        path=str(path),
    )
    p = prep(g)
    st = p.fitted[0].state()
    train = x[p.indices["train"]].reshape(-1, 3)
    assert st["fill_array"][1] == pytest.approx(float(np.nanmean(train[:, 1])), rel=1e-5)
    for k in ("train", "val", "test"):
        assert not np.isnan(p.x[k]).any()
    hi = st["clip_array"][1][2]
    assert hi < 50.0 and all(p.x[k][:, 0, 2].max() <= hi + 1e-5 for k in ("train", "val", "test"))
