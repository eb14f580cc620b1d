"""A project's data chain (dataset → preprocessing … → the model's Input), run in three stages
so that nothing leaks across splits wherever the Split node sits:

1. row operations on the whole dataset (drop rows with missing values, drop duplicates);
2. the split (seeded, stratified);
3. fitted transforms in chain order, each fitted on the training split, applied to all.

This is the runtime's copy, the only one: the engine caches its results (``engine.data.pipeline``)
and exported training scripts call it as it stands.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from . import sources, transforms
from .errors import DataError
from .lazy import is_frame, pd

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
        """The parameters as a plain dict (they may be stored frozen, for hashing)."""
        if isinstance(self.params, dict):
            return dict(self.params)
        return _thaw(self.params)


def _thaw(v: Any) -> Any:
    if isinstance(v, tuple) and all(isinstance(i, tuple) and len(i) == 2 for i in v):
        return {k: _thaw_value(x) for k, x in v}
    return v


def _thaw_value(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


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
    problem: DataError | None = None  # NaN/inf left after the chain; ``prepare`` raises it


def _subset(x: Any, idx: np.ndarray) -> Any:
    if is_frame(x):
        return x.iloc[idx].reset_index(drop=True)
    return x[idx]


def prepare_steps(
    steps: list[Step],
    fit_streaming: bool = True,
    given: list[dict[str, Any]] | None = None,
    load: Callable[..., sources.Raw] = sources.load_raw,
) -> Prepared:
    """Load, clean, split, then fit each step on the training split and apply it to all.

    ``given``: fitted states (from a checkpoint) to replay instead of fitting; ``load``: how
    a dataset node's raw data is read (the engine passes its cached loader).
    """
    src = steps[0]
    raw = load(src.type, src.p, src.path)
    notes = list(raw.notes)
    x, y, rows = _clean(steps, raw, notes)  # 1. row operations on the whole dataset
    idx = _split_chain(steps, y, raw.task, notes)  # 2. split
    xs = {k: _subset(x, i) for k, i in idx.items()}
    ys = {k: y[i] for k, i in idx.items()}
    fit = _fit_chain(steps, raw, xs, ys, given, fit_streaming)  # 3. fitted transforms
    xs, ys = fit.xs, fit.ys
    streaming = raw.kind == "files"
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
    problem = None if streaming else _not_finite(xf, ys, names, texts, raw, steps)
    problem = _infinite_cells(raw, steps, problem, notes)
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
    return Prepared(
        info=info,
        x=xf,
        y=ys,
        fitted=fit.fitted,
        record=_record(src, steps[-1], raw, fit.fitted, names, feature_shape),
        batch=fit.batch,
        augment=fit.augment,
        image=raw.image,
        target_transform=fit.target_tf,
        indices={k: rows[i] for k, i in idx.items()},
        problem=problem,
    )


def _clean(
    steps: list[Step], raw: sources.Raw, notes: list[str]
) -> tuple[Any, np.ndarray, np.ndarray]:
    """Stage 1, the Clean nodes' row operations on the whole dataset: the features, the
    target and the original row numbers left (``notes`` says what was dropped)."""
    x, y = raw.x, raw.y
    rows = np.arange(len(y))
    for s in steps[1:]:
        if s.type != "Clean":
            continue
        p = s.p
        if raw.kind == "files":
            raise DataError("Clean works on tables and arrays, not on image files", s.node)
        if p["missing"] == "drop":
            if is_frame(x):
                keep = ~x.isna().any(axis=1).to_numpy()
            else:
                keep = ~np.isnan(np.asarray(x, np.float64).reshape(len(x), -1)).any(axis=1)
            if not keep.all():
                notes.append(f"dropped {int((~keep).sum())} rows with missing values")
            x, y, rows = _subset(x, np.flatnonzero(keep)), y[keep], rows[keep]
        if p["drop_duplicates"]:
            flat = x if is_frame(x) else pd.DataFrame(np.asarray(x).reshape(len(x), -1))
            flat = flat.assign(__target__=list(map(str, y.tolist())))
            keep = ~flat.duplicated().to_numpy()
            if not keep.all():
                notes.append(f"dropped {int((~keep).sum())} duplicate rows")
            x, y, rows = _subset(x, np.flatnonzero(keep)), y[keep], rows[keep]
    if len(y) == 0:
        raise DataError(f"{raw.source}: no samples left after cleaning", steps[0].node)
    return x, y, rows


def _split_chain(
    steps: list[Step], y: np.ndarray, task: str, notes: list[str]
) -> dict[str, np.ndarray]:
    """Stage 2: the rows of each split, as the chain's one Split node (or the default) says."""
    split_steps = [s for s in steps if s.type == "Split"]
    if len(split_steps) > 1:
        raise DataError("the chain has more than one Split node", split_steps[1].node)
    sp = split_steps[0].p if split_steps else DEFAULT_SPLIT
    return _split(y, task, sp, notes, split_steps[0].node if split_steps else None)


@dataclass
class _Fitted:
    """What stage 3 leaves: the transformed splits and the chain's fitted steps."""

    xs: dict[str, Any]
    ys: dict[str, np.ndarray]
    fitted: list[transforms.Transform] = field(default_factory=list)
    target_tf: transforms.Standardize | None = None
    augment: dict[str, Any] | None = None
    batch: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_BATCH))


def _fit_chain(
    steps: list[Step],
    raw: sources.Raw,
    xs: dict[str, Any],
    ys: dict[str, np.ndarray],
    given: list[dict[str, Any]] | None,
    fit_streaming: bool,
) -> _Fitted:
    """Stage 3: fitted transforms in chain order, each fitted on the training split (or
    replayed from ``given``) and applied to every split; image files are only fitted on a
    sample, their transforms run when batches are read."""
    out = _Fitted(xs, ys)
    streaming = raw.kind == "files"
    for s in steps[1:]:
        p = s.p
        if s.type == "Batch":
            out.batch = {k: p[k] for k in DEFAULT_BATCH}
            continue
        if s.type == "Augment":
            out.augment = p
            continue
        t = transforms.from_node(s.type, p)
        if t is None:
            continue
        if given is not None:
            if len(out.fitted) >= len(given) or given[len(out.fitted)]["type"] != t.type:
                raise DataError(
                    "the checkpoint's preprocessing does not match the project's data nodes", s.node
                )
            t = transforms.from_state(given[len(out.fitted)])
            if not streaming:
                _apply(out, t)
            out.fitted.append(t)
            continue
        if streaming:
            if s.type in ("Clean", "OneHot"):
                raise DataError(f"{s.type} works on tables, not on images", s.node)
            if fit_streaming:
                sample = _image_sample(out.xs["train"], raw.image or {})
                t.fit(sample, out.ys["train"], raw.task)
            out.fitted.append(t)
            continue
        try:
            t.fit(out.xs["train"], out.ys["train"], raw.task)
        except DataError as e:
            raise DataError(str(e), s.node) from None
        _apply(out, t)
        out.fitted.append(t)
    return out


def _apply(out: _Fitted, t: transforms.Transform) -> None:
    """Apply a fitted transform to every split (and to the target, when it scales it)."""
    out.xs = {k: t.apply(v) for k, v in out.xs.items()}
    if isinstance(t, transforms.Standardize) and t.y_mean is not None:
        out.ys = {k: t.apply_y(v) for k, v in out.ys.items()}
        out.target_tf = t


def _record(
    src: Step,
    last: Step,
    raw: sources.Raw,
    fitted: list[transforms.Transform],
    names: list[str] | None,
    feature_shape: tuple[int, ...],
) -> dict[str, Any]:
    """The preprocessing record a checkpoint keeps: enough to replay the chain on new data."""
    return {
        "format": "torchwire-preprocessing",
        "version": 1,
        "source": {
            "type": src.type,
            "kind": raw.kind,
            "columns": list(raw.x.columns) if is_frame(raw.x) else None,
            "column_kinds": {
                c: ("number" if pd.api.types.is_numeric_dtype(raw.x[c]) else "category")
                for c in raw.x.columns
            }
            if is_frame(raw.x)
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


def _not_finite(
    xf: dict[str, np.ndarray],
    ys: dict[str, np.ndarray],
    names: list[str] | None,
    texts: tuple[str, ...],
    raw: sources.Raw,
    steps: list[Step],
) -> DataError | None:
    """The first feature (or the target) holding NaN or ±inf in any split, said for the user.

    Without this, such data passes the check and training stops after a step or two with a
    loss of NaN, blamed on the learning rate. CSV columns are named; arrays get the array's
    name in the .npz and the feature's index.
    """
    src = steps[0]
    cleaned = any(s.type == "Clean" for s in steps[1:])
    after = " after cleaning" if cleaned else ""
    parts = [a.reshape(len(a), -1) for a in xf.values() if len(a)]
    if parts and parts[0].shape[1]:
        a = np.concatenate(parts)
        nan, inf = np.isnan(a), np.isinf(a)
        cols = np.flatnonzero((nan | inf).any(axis=0))
        if len(cols):
            j = int(cols[0])
            where = _feature_name(j, names, texts, raw, src)
            rows = int((nan[:, j] | inf[:, j]).sum())
            return DataError(
                f"{where} holds {_what(nan[:, j].any(), inf[:, j].any())} in {rows} of {len(a)} "
                f"samples{after}; {_advice(nan[:, j].any(), inf[:, j].any(), cleaned)}",
                src.node,
            )
    if raw.task == "regression":
        ya = [np.asarray(v, np.float64).reshape(len(v), -1) for v in ys.values() if len(v)]
        y = np.concatenate(ya) if ya else np.zeros((0, 1))
        nan, inf = np.isnan(y).any(axis=1), np.isinf(y).any(axis=1)
        if (nan | inf).any():
            key = src.p.get("targets_key") if src.type == "NpzDataset" else None
            what = f"array {key!r}" if key else f"column {raw.target_name!r}"
            return DataError(
                f"{raw.source}: the target ({what}) holds {_what(nan.any(), inf.any())} in "
                f"{int((nan | inf).sum())} of {len(y)} samples; a model cannot learn from them "
                "(remove those rows from the file)",
                src.node,
            )
    return None


def _infinite_cells(
    raw: sources.Raw, steps: list[Step], problem: DataError | None, notes: list[str]
) -> DataError | None:
    """CSV cells read as infinite (``1e400``): the error naming the first one's row and
    line where no Clean node clips them; where one does, a note saying how many it clipped.

    ``problem`` (what ``_not_finite`` found at the end of the chain) is returned as it is
    when the file has no such cells.
    """
    if not raw.infinite:
        return problem
    clipped = any(s.type == "Clean" and float(s.p["clip_std"]) > 0 for s in steps[1:])
    if not clipped:
        c = raw.infinite[0]
        return DataError(
            f"{raw.source}: column {c.column!r} holds infinite values in {len(c.rows)} of "
            f"{len(raw.y)} samples (the first in {c.where}: beyond the range of numbers); "
            "a model cannot train on them: fix them in the file, or clip them with a Clean "
            "node's clip_std",
            steps[0].node,
        )
    if problem is None:
        for c in raw.infinite:
            n = len(c.rows)
            notes.append(
                f"column {c.column!r}: {n} infinite value{'s' if n != 1 else ''} (the first in "
                f"{c.where}) clipped by Clean's clip_std"
            )
    return problem


def _feature_name(
    j: int, names: list[str] | None, texts: tuple[str, ...], raw: sources.Raw, src: Step
) -> str:
    """``table.csv: column 'income'`` or ``a.npz: array 'x', feature (0, 3, 2)``."""
    numeric = [c for c in names if c not in texts] if names else None
    name = numeric[j] if numeric and j < len(numeric) else None
    if src.type == "NpzDataset":
        key = src.p.get("features_key", "x")
        if raw.kind == "array" and raw.feature_shape:
            idx = tuple(int(i) for i in np.unravel_index(j, raw.feature_shape))
            return f"{raw.source}: array {key!r}, feature {idx if len(idx) > 1 else idx[0]}"
        if name and name[:1] == "x" and name[1:].isdigit():
            return f"{raw.source}: array {key!r}, feature {int(name[1:])}"
        return f"{raw.source}: array {key!r}, column {name or j!r}"
    if name is not None:
        return f"{raw.source}: column {name!r}"
    return f"{raw.source}: feature {j}"


def _what(nan: Any, inf: Any) -> str:
    if nan and inf:
        return "missing (NaN) and infinite values"
    return "missing values (NaN)" if nan else "infinite values"


def _advice(nan: Any, inf: Any, cleaned: bool) -> str:
    if nan and not cleaned:
        return "a model cannot train on them: add a Clean node to fill or drop them"
    if inf:
        return (
            "a model cannot train on them: fix them in the file, or clip them with a Clean "
            "node's clip_std"
        )
    return "a model cannot train on them"


def _finish(x: Any, raw: sources.Raw) -> tuple[np.ndarray, list[str] | None, tuple[str, ...]]:
    """Features as float32; text columns left over make the data unusable by a model."""
    if is_frame(x):
        texts = tuple(transforms.text_columns(x))
        num = [c for c in x.columns if c not in texts]
        arr = x[num].to_numpy(dtype=np.float32) if num else np.zeros((len(x), 0), np.float32)
        return arr, [str(c) for c in x.columns], texts
    return np.asarray(x, dtype=np.float32), None, ()


def _approximate_mode(counts: np.ndarray, n_draws: int, rng: np.random.RandomState) -> np.ndarray:
    """scikit-learn's ``utils.extmath._approximate_mode``, step for step (same draws)."""
    continuous = counts / counts.sum() * n_draws
    floored = np.floor(continuous)
    need = int(n_draws - floored.sum())
    if need > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need)
            inds = rng.choice(inds, size=add_now, replace=False)
            floored[inds] += 1
            need -= add_now
            if need == 0:
                break
    return floored.astype(int)


def train_test_split(
    ids: np.ndarray, *, test_size: int, random_state: int, stratify: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's ``train_test_split(ids, test_size=k, random_state=seed, stratify=…)``
    for a whole-number ``test_size``, reproduced draw for draw (tests compare the two), so
    splits stay what they always were without importing scikit-learn (seconds) to check
    or train a project. A class too small to stratify raises ValueError, as there."""
    n = len(ids)
    n_test, n_train = int(test_size), n - int(test_size)
    if not 0 < n_test < n:
        raise ValueError(f"test_size={test_size} must be between 1 and {n - 1}")
    rng = np.random.RandomState(random_state)
    if stratify is None:
        perm = rng.permutation(n)
        return ids[perm[n_test:]], ids[perm[:n_test]]
    y = np.asarray(stratify)
    if y.ndim == 2:
        y = np.array([" ".join(row.astype("str")) for row in y])
    classes, y_indices, counts = np.unique(y, return_inverse=True, return_counts=True)
    if counts.min() < 2:
        raise ValueError("the least populated class has only 1 member")
    if n_train < len(classes) or n_test < len(classes):
        raise ValueError("fewer samples on one side than there are classes")
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(counts)[:-1])
    n_i = _approximate_mode(counts, n_train, rng)
    t_i = _approximate_mode(counts - n_i, n_test, rng)
    train: list[Any] = []
    test: list[Any] = []
    for i in range(len(classes)):
        perm_i = class_indices[i].take(rng.permutation(counts[i]), mode="clip")
        train.extend(perm_i[: n_i[i]])
        test.extend(perm_i[n_i[i] : n_i[i] + t_i[i]])
    return ids[rng.permutation(train)], ids[rng.permutation(test)]


def _split(
    y: np.ndarray, task: str, p: dict[str, Any], notes: list[str], node: str | None
) -> dict[str, np.ndarray]:
    n = len(y)
    val, test = float(p["val"]), float(p["test"])
    if val + test >= 1.0:
        raise DataError(
            f"Split: validation ({val:g}) and test ({test:g}) leave nothing for training", node
        )
    idx = np.arange(n)
    strat_ok = task == "classification" and p["stratify"]
    # scikit-learn takes seeds 0 … 2**32 - 1 and says otherwise in its own terms; the
    # validation cut uses the next seed, wrapped so that the largest seed stays valid.
    seed = p["seed"]
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise DataError(
            f"Split: seed must be a whole number from 0 to {2**32 - 1}, got {seed!r}", node
        )
    seed = int(seed)

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
            try:
                a, b = train_test_split(ids, test_size=k, random_state=seed, stratify=strat)
            except ValueError:
                if strat is None:
                    raise
                notes.append("some classes are too small to stratify; split without stratifying")
                a, b = train_test_split(ids, test_size=k, random_state=seed)
        except ValueError as e:
            raise DataError(f"Split: cannot split the data ({e})", node) from None
        return np.sort(a), np.sort(b)

    rest, test_idx = cut(idx, test, seed)
    rel = val / (1.0 - test) if test < 1 else 0.0
    train_idx, val_idx = cut(rest, rel, (seed + 1) % 2**32)
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
