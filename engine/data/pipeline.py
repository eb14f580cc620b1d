"""A project's data chain (dataset → preprocessing … → the model's Input), run in three stages
so that nothing leaks across splits wherever the Split node sits:

1. row operations on the whole dataset (drop rows with missing values, drop duplicates);
2. the split (seeded, stratified);
3. fitted transforms in chain order, each fitted on the training split, applied to all.

Results are cached by the chain's parameters and the files' stamps, so a live check in the
GUI repeats nothing while the data is unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from engine.data import sources, transforms
from engine.data.errors import DataError
from engine.memo import Memo, freeze

SPLITS = ("train", "val", "test")
DEFAULT_SPLIT = {"val": 0.15, "test": 0.15, "stratify": True, "seed": 0}
DEFAULT_BATCH = {"batch_size": 64, "shuffle": True, "drop_last": False}


@dataclass(frozen=True)
class DataInfo:
    """What a data node gives: the check puts one into ``report.data[node_id]``."""

    feature_shape: tuple[int, ...]
    feature_dtype: torch.dtype
    task: str
    class_names: tuple[str, ...]
    n_samples: int
    target_shape: tuple[int, ...] = ()
    feature_names: tuple[str, ...] | None = None
    text_columns: tuple[str, ...] = ()
    splits: dict[str, int] | None = None
    source: str = ""
    streaming: bool = False
    notes: tuple[str, ...] = ()

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


@dataclass(frozen=True)
class Step:
    """One node of the chain, with its parameters and resolved file path."""

    node: str
    type: str
    params: Any  # frozen
    path: str | None = None

    @property
    def p(self) -> dict[str, Any]:
        return _thaw(self.params)


def _thaw(v: Any) -> Any:
    if isinstance(v, tuple) and all(isinstance(i, tuple) and len(i) == 2 for i in v):
        return {k: _thaw_value(x) for k, x in v}
    return v


def _thaw_value(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def base_dir_of(graph: Any) -> str | None:
    path = getattr(graph, "path", None)
    return os.path.dirname(os.path.abspath(path)) if path else None


def chain_of(graph: Any, node_id: str) -> list[Step]:
    """The data nodes from the dataset to ``node_id`` (inclusive), in flow order."""
    base = base_dir_of(graph)
    steps: list[Step] = []
    nid: str | None = node_id
    seen: set[str] = set()
    while nid is not None:
        if nid in seen:
            raise DataError("the data nodes form a cycle", node=nid)
        seen.add(nid)
        node = graph.nodes[nid]
        path = None
        if "path" in node.params:
            path = sources.resolve_path(node.params["path"], base)
        steps.append(Step(nid, node.type, freeze(node.params), path))
        ins = [e for e in graph.edges if e.dst == nid and e.dst_port == "data"]
        if node.spec.extra.get("role") == "dataset":
            nid = None
        elif not ins:
            raise DataError(f"{node.name}: nothing connected to its data input", node=nid)
        else:
            nid = ins[0].src
            if graph.nodes[nid].spec.kind != "data":
                raise DataError(f"{node.name}: its data input must come from a data node", nid)
    steps.reverse()
    return steps


@dataclass
class Prepared:
    """A chain's data, split and transformed, ready to batch; treat as read-only."""

    info: DataInfo
    x: dict[str, Any]  # float32 arrays, or image paths when streaming
    y: dict[str, np.ndarray]
    fitted: list[transforms.Transform]
    record: dict[str, Any]
    batch: dict[str, Any]
    augment: dict[str, Any] | None
    image: dict[str, Any] | None = None
    target_transform: transforms.Standardize | None = None
    indices: dict[str, np.ndarray] = field(default_factory=dict)


_cache: Memo[Prepared] = Memo(32, remember=(DataError,))


def prepare(
    steps: list[Step], fit_streaming: bool = True, fitted: list[dict[str, Any]] | None = None
) -> Prepared:
    """Load, split and transform; cached by the chain (parameters and file stamps).

    ``fitted``: states of already fitted steps (from a checkpoint) to use instead of fitting.
    """
    import json

    key = (
        tuple(steps),
        tuple(sources.file_stamp(s.path) if s.path else None for s in steps),
        fit_streaming,
        json.dumps(fitted, sort_keys=True) if fitted is not None else None,
    )
    return _cache.get(key, lambda: _prepare(steps, fit_streaming, fitted))


def _subset(x: Any, idx: np.ndarray) -> Any:
    if isinstance(x, pd.DataFrame):
        return x.iloc[idx].reset_index(drop=True)
    return x[idx]


def _prepare(
    steps: list[Step], fit_streaming: bool, given: list[dict[str, Any]] | None = None
) -> Prepared:
    src = steps[0]
    raw = sources.load(src.type, src.p, src.path)
    x, y = raw.x, raw.y
    notes = list(raw.notes)
    rows = np.arange(len(y))

    # 1. row operations on the whole dataset
    for s in steps[1:]:
        if s.type != "Clean":
            continue
        p = s.p
        if raw.kind == "files":
            raise DataError("Clean works on tables and arrays, not on image files", s.node)
        if p["missing"] == "drop":
            if isinstance(x, pd.DataFrame):
                keep = ~x.isna().any(axis=1).to_numpy()
            else:
                keep = ~np.isnan(np.asarray(x, np.float64).reshape(len(x), -1)).any(axis=1)
            if not keep.all():
                notes.append(f"dropped {int((~keep).sum())} rows with missing values")
            x, y, rows = _subset(x, np.flatnonzero(keep)), y[keep], rows[keep]
        if p["drop_duplicates"]:
            flat = (
                x
                if isinstance(x, pd.DataFrame)
                else pd.DataFrame(np.asarray(x).reshape(len(x), -1))
            )
            flat = flat.assign(__target__=list(map(str, y.tolist())))
            keep = ~flat.duplicated().to_numpy()
            if not keep.all():
                notes.append(f"dropped {int((~keep).sum())} duplicate rows")
            x, y, rows = _subset(x, np.flatnonzero(keep)), y[keep], rows[keep]
    if len(y) == 0:
        raise DataError(f"{raw.source}: no samples left after cleaning", steps[0].node)

    # 2. split
    split_steps = [s for s in steps if s.type == "Split"]
    if len(split_steps) > 1:
        raise DataError("the chain has more than one Split node", split_steps[1].node)
    sp = split_steps[0].p if split_steps else DEFAULT_SPLIT
    idx = _split(y, raw.task, sp, notes, split_steps[0].node if split_steps else None)
    xs = {k: _subset(x, i) for k, i in idx.items()}
    ys = {k: y[i] for k, i in idx.items()}

    # 3. fitted transforms, in chain order, fitted on train
    fitted: list[transforms.Transform] = []
    target_tf: transforms.Standardize | None = None
    augment = None
    batch = dict(DEFAULT_BATCH)
    streaming = raw.kind == "files"
    for s in steps[1:]:
        p = s.p
        if s.type == "Batch":
            batch = {k: p[k] for k in DEFAULT_BATCH}
            continue
        if s.type == "Augment":
            augment = p
            continue
        t = transforms.from_node(s.type, p)
        if t is None:
            continue
        if given is not None:
            if len(fitted) >= len(given) or given[len(fitted)]["type"] != t.type:
                raise DataError(
                    "the checkpoint's preprocessing does not match the project's data nodes", s.node
                )
            t = transforms.from_state(given[len(fitted)])
            if not streaming:
                xs = {k: t.apply(v) for k, v in xs.items()}
                if isinstance(t, transforms.Standardize) and t.y_mean is not None:
                    ys = {k: t.apply_y(v) for k, v in ys.items()}
                    target_tf = t
            fitted.append(t)
            continue
        if streaming:
            if s.type in ("Clean", "OneHot"):
                raise DataError(f"{s.type} works on tables, not on images", s.node)
            if fit_streaming:
                sample = _image_sample(xs["train"], raw.image or {})
                t.fit(sample, ys["train"], raw.task)
            fitted.append(t)
            continue
        try:
            t.fit(xs["train"], ys["train"], raw.task)
        except DataError as e:
            raise DataError(str(e), s.node) from None
        xs = {k: t.apply(v) for k, v in xs.items()}
        if isinstance(t, transforms.Standardize) and t.y_mean is not None:
            ys = {k: t.apply_y(v) for k, v in ys.items()}
            target_tf = t
        fitted.append(t)

    last = steps[-1]
    if streaming:
        feature_shape = tuple(raw.feature_shape or ())
        names = None
        texts: tuple[str, ...] = ()
        xf = xs
    else:
        xf, names, texts = {}, None, ()
        for k, v in xs.items():
            arr, names, texts = _finish(v, raw)
            xf[k] = arr
        feature_shape = tuple(xf["train"].shape[1:])
    y_shape = tuple(ys["train"].shape[1:]) if raw.task == "regression" else ()
    info = DataInfo(
        feature_shape=feature_shape,
        feature_dtype=torch.float32,
        task=raw.task,
        class_names=tuple(raw.class_names),
        n_samples=len(y),
        target_shape=y_shape,
        feature_names=tuple(names) if names else None,
        text_columns=texts,
        splits={k: len(v) for k, v in ys.items()},
        source=raw.source,
        streaming=streaming,
        notes=tuple(notes),
    )
    record = {
        "format": "torchwire-preprocessing",
        "version": 1,
        "source": {
            "type": src.type,
            "kind": raw.kind,
            "columns": list(raw.x.columns) if isinstance(raw.x, pd.DataFrame) else None,
            "column_kinds": {
                c: ("number" if pd.api.types.is_numeric_dtype(raw.x[c]) else "category")
                for c in raw.x.columns
            }
            if isinstance(raw.x, pd.DataFrame)
            else None,
            "target": raw.target_name,
            "image": raw.image,
            "input_shape": list(raw.feature_shape) if raw.feature_shape else None,
        },
        "steps": [t.state() for t in fitted],
        "feature_names": list(names) if names else None,
        "feature_shape": list(feature_shape),
        "task": raw.task,
        "class_names": list(raw.class_names),
        "last_node": last.node,
    }
    return Prepared(
        info=info,
        x=xf,
        y=ys,
        fitted=fitted,
        record=record,
        batch=batch,
        augment=augment,
        image=raw.image,
        target_transform=target_tf,
        indices={k: rows[i] for k, i in idx.items()},
    )


def _finish(x: Any, raw: sources.Raw) -> tuple[np.ndarray, list[str] | None, tuple[str, ...]]:
    """Features as float32; text columns left over make the data unusable by a model."""
    if isinstance(x, pd.DataFrame):
        texts = tuple(transforms.text_columns(x))
        num = [c for c in x.columns if c not in texts]
        arr = x[num].to_numpy(dtype=np.float32) if num else np.zeros((len(x), 0), np.float32)
        return arr, [str(c) for c in x.columns], texts
    return np.asarray(x, dtype=np.float32), None, ()


def _split(
    y: np.ndarray, task: str, p: dict[str, Any], notes: list[str], node: str | None
) -> dict[str, np.ndarray]:
    from sklearn.model_selection import train_test_split

    n = len(y)
    val, test = float(p["val"]), float(p["test"])
    if val + test >= 1.0:
        raise DataError(
            f"Split: validation ({val:g}) and test ({test:g}) leave nothing for training", node
        )
    idx = np.arange(n)
    strat_ok = task == "classification" and p["stratify"]

    def cut(ids: np.ndarray, frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
        if frac <= 0:
            return ids, ids[:0]
        k = max(1, round(frac * len(ids))) if frac * len(ids) >= 0.5 else 0
        if k == 0:
            return ids, ids[:0]
        if k >= len(ids):
            raise DataError(f"Split: {len(ids)} samples are too few to split", node)
        strat = y[ids] if strat_ok else None
        try:
            a, b = train_test_split(ids, test_size=k, random_state=seed, stratify=strat)
        except ValueError:
            if strat is None:
                raise
            notes.append("some classes are too small to stratify; split without stratifying")
            a, b = train_test_split(ids, test_size=k, random_state=seed)
        return np.sort(a), np.sort(b)

    rest, test_idx = cut(idx, test, p["seed"])
    rel = val / (1.0 - test) if test < 1 else 0.0
    train_idx, val_idx = cut(rest, rel, p["seed"] + 1)
    if len(train_idx) == 0:
        raise DataError("Split: nothing left for training", node)
    return {"train": train_idx, "val": val_idx, "test": test_idx}


_IMAGE_FIT_SAMPLE = 2000


def _image_sample(paths: np.ndarray, image: dict[str, Any]) -> np.ndarray:
    """Statistics of streamed images come from up to 2000 training images (seeded sample)."""
    rng = np.random.default_rng(0)
    pick = paths if len(paths) <= _IMAGE_FIT_SAMPLE else rng.choice(paths, _IMAGE_FIT_SAMPLE, False)
    size = tuple(image.get("size", (32, 32)))
    return np.stack([sources.load_image(str(f), size, image.get("grayscale", False)) for f in pick])


# -- new data at inference -------------------------------------------------------------------
def features_for_inference(record: dict[str, Any], data: Any, base_dir: str | None = None) -> Any:
    """New data → float32 features via the checkpoint's fitted steps (no refitting).

    ``data``: a CSV path, an image folder, an .npz path, an array, or a list of rows. Returns
    an array, or image paths for streamed images (then use ``image_batch``).
    """
    src = record["source"]
    steps = [transforms.from_state(s) for s in record["steps"]]
    kind = src["kind"]
    if kind == "files":
        if isinstance(data, (str, os.PathLike)):
            path = str(data)
            if os.path.isdir(path):
                files = _images_in(path)
                img = src["image"] or {}
                arr = np.stack(
                    [sources.load_image(f, tuple(img["size"]), img["grayscale"]) for f in files]
                )
                for t in steps:
                    arr = t.apply(arr)
                return np.asarray(arr, np.float32), files
            raise DataError(f"{path}: expected a folder of images")
        arr = np.asarray(data, np.float32)
        for t in steps:
            arr = t.apply(arr)
        return np.asarray(arr, np.float32), None
    x = _read_new(src, data, record)
    for t in steps:
        x = t.apply(x)
    if isinstance(x, pd.DataFrame):
        texts = transforms.text_columns(x)
        if texts:
            raise DataError(f"columns {', '.join(texts)} hold text the model cannot take")
        arr = x.to_numpy(dtype=np.float32)
    else:
        arr = np.asarray(x, np.float32)
    want = tuple(record["feature_shape"])
    if tuple(arr.shape[1:]) != want:
        raise DataError(f"the data gives samples of shape {arr.shape[1:]}, the model wants {want}")
    bad = ~np.isfinite(arr.reshape(len(arr), -1)).all(axis=1)
    if bad.any():
        raise DataError(
            f"row {int(np.flatnonzero(bad)[0]) + 1} has missing or infinite values and the "
            "project has no Clean node that fills them"
        )
    return arr, None


def _images_in(path: str) -> list[str]:
    files = []
    for root, _d, names in os.walk(path):
        for n in sorted(names):
            if n.lower().endswith(sources.IMAGE_EXTENSIONS):
                files.append(os.path.join(root, n))
    if not files:
        raise DataError(f"{path}: no images found")
    return sorted(files)


def _read_new(src: dict[str, Any], data: Any, record: dict[str, Any]) -> Any:
    cols = src.get("columns")
    kinds = src.get("column_kinds") or {}
    if isinstance(data, (str, os.PathLike)):
        path = str(data)
        if path.endswith(".npz"):
            try:
                with np.load(path, allow_pickle=False) as z:
                    key = "x" if "x" in z else next(iter(z.keys()))
                    data = np.asarray(z[key])
            except Exception as e:
                raise DataError(f"{path}: not a readable .npz archive ({e})") from None
        else:
            try:
                df = pd.read_csv(path, dtype=str, skipinitialspace=True)
            except pd.errors.EmptyDataError:
                raise DataError(f"{path}: the file is empty") from None
            except OSError as e:
                raise DataError(f"{path}: cannot be read ({e.strerror or e})") from None
            if cols is None:
                return (
                    _numeric_frame(df, path)
                    .to_numpy(np.float32)
                    .reshape((len(df), *record["source"]["input_shape"]))
                    if record["source"]["input_shape"]
                    else _numeric_frame(df, path).to_numpy(np.float32)
                )
            missing = [c for c in cols if c not in df.columns]
            if missing:
                raise DataError(
                    f"{path}: no column {missing[0]!r} (the model needs {', '.join(cols)})"
                )
            return _typed(df[cols], kinds, path)
    if isinstance(data, pd.DataFrame):
        return _typed(data[cols] if cols else data, kinds, "<data>") if cols else data.to_numpy()
    if cols is not None:
        if isinstance(data, np.ndarray) and data.dtype != object:
            data = data.tolist()
        rows = [list(r) for r in data]
        if rows and len(rows[0]) != len(cols):
            raise DataError(
                f"each row needs {len(cols)} values ({', '.join(cols)}), got {len(rows[0])}"
            )
        return _typed(pd.DataFrame(rows, columns=cols).astype(object), kinds, "<data>")
    try:
        arr = np.asarray(data, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise DataError(f"the data must be numbers ({e})") from None
    shape = src.get("input_shape")
    if shape and arr.ndim == len(shape):
        arr = arr[None]
    elif shape and arr.ndim == 2 and arr.shape[1] == int(np.prod(shape)) and len(shape) > 1:
        arr = arr.reshape((len(arr), *shape))  # flat rows of pixels
    return arr


def _numeric_frame(df: pd.DataFrame, path: str) -> pd.DataFrame:
    out = {}
    for c in df.columns:
        num, bad = sources._numeric(df[c])
        if bad.any():
            raise sources._bad_value(path, c, df[c], bad, True)
        out[c] = num
    return pd.DataFrame(out)


def _typed(df: pd.DataFrame, kinds: dict[str, str], path: str) -> pd.DataFrame:
    out: dict[str, Any] = {}
    for c in df.columns:
        col = df[c]
        if kinds.get(c) == "category":
            out[c] = col.map(
                lambda v: (
                    None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
                )
            )
        else:
            num, bad = sources._numeric(col.astype(object))
            if bad.any():
                raise sources._bad_value(path, c, col, bad, True)
            out[c] = num.astype(np.float64)
    return pd.DataFrame(out, columns=list(df.columns))
