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
from typing import Any

import numpy as np

from engine.data import sources
from engine.memo import Memo, freeze
from engine.runtime import sources as raw_sources
from engine.runtime import transforms
from engine.runtime.errors import DataError
from engine.runtime.lazy import is_frame, pd
from engine.runtime.prepare import (
    DEFAULT_BATCH,
    DEFAULT_SPLIT,
    SPLITS,
    DataInfo,
    Prepared,
    Step,
    prepare_steps,
)

__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_SPLIT",
    "SPLITS",
    "DataInfo",
    "Prepared",
    "Step",
    "base_dir_of",
    "chain_of",
    "features_for_inference",
    "prepare",
]


def base_dir_of(graph: Any) -> str | None:
    path = graph.source_path
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
        ins = [e for e in graph.in_edges(nid) if e.dst_port == "data"]
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


_cache: Memo[Prepared] = Memo(32, remember=(DataError,))


def prepare(
    steps: list[Step],
    fit_streaming: bool = True,
    fitted: list[dict[str, Any]] | None = None,
    finite: bool = True,
) -> Prepared:
    """Load, split and transform; cached by the chain (parameters and file stamps).

    ``fitted``: states of already fitted steps (from a checkpoint) to use instead of fitting.
    ``finite``: raise the DataError of features or targets still holding NaN or infinite
    values at the end of the chain (a model trained on them only diverges). The check
    passes False: a chain that stops at a node before Clean is not wrong, only one that
    feeds the model is, so it reports ``Prepared.problem`` itself where it applies.
    """
    import json

    key = (
        tuple(steps),
        tuple(sources.file_stamp(s.path) if s.path else None for s in steps),
        fit_streaming,
        json.dumps(fitted, sort_keys=True) if fitted is not None else None,
    )
    prep = _cache.get(key, lambda: prepare_steps(steps, fit_streaming, fitted, sources.load))
    if finite and prep.problem is not None:
        raise DataError(str(prep.problem), prep.problem.node)
    return prep


# -- new data at inference -------------------------------------------------------------------
def features_for_inference(
    record: dict[str, Any],
    data: Any,
    base_dir: str | None = None,
    warnings: list[str] | None = None,
) -> Any:
    """New data → float32 features via the checkpoint's fitted steps (no refitting).

    ``data``: a CSV path, an image folder, an .npz path, an array, or a list of rows. Returns
    an array, or image paths for streamed images (then use ``image_batch``).
    ``warnings``: gets what the prediction should say about the data without refusing it:
    categories training never saw (one-hot reads them as none of the known ones), infinite
    values Clean clipped (``Transform.warnings``).
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
            if warnings is not None:
                warnings.extend(t.warnings(arr))
            arr = t.apply(arr)
        return np.asarray(arr, np.float32), None
    x = _read_new(src, data, record)
    for t in steps:
        if warnings is not None:
            warnings.extend(t.warnings(x))
        x = t.apply(x)
    if is_frame(x):
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
            data = _npz_features(path)
        else:
            try:
                df = pd.read_csv(path, dtype=str, skipinitialspace=True)
            except pd.errors.EmptyDataError:
                raise DataError(f"{path}: the file is empty") from None
            except UnicodeDecodeError:
                raise DataError(f"{path}: not a text file (not UTF-8)") from None
            except OSError as e:
                raise DataError(f"{path}: cannot be read ({e.strerror or e})") from None
            except Exception as e:  # pandas' ParserError and the like
                last = (str(e).strip().splitlines() or [type(e).__name__])[-1]
                raise DataError(f"{path}: not a readable CSV ({last})") from None
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
    if is_frame(data):
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


def _npz_features(path: str) -> np.ndarray:
    """The features of new data in an .npz (array ``x``, else the first), never unpickled.

    Like ``engine.runtime.sources.load_npz`` (which reads a whole dataset, targets included).
    """
    pickled = (
        f"{path} is not a valid array file (it holds pickled Python objects, which Torchwire "
        "never loads)"
    )
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror or e})") from None
    if head[:1] == b"\x80":
        raise DataError(pickled)
    if not head.startswith(b"PK"):
        raise DataError(f"{path}: not an .npz archive (numpy.savez writes them)")
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.keys())
            if not keys:
                raise DataError(f"{path}: the archive holds no arrays")
            data = np.asarray(z["x" if "x" in keys else keys[0]])
    except DataError:
        raise
    except Exception as e:
        if "pickle" in str(e):
            raise DataError(pickled) from None
        raise DataError(f"{path}: not a readable .npz archive (corrupt or truncated)") from None
    if data.dtype.kind not in "biuf":
        raise DataError(
            pickled if data.dtype.kind == "O" else f"{path}: the features are not numbers"
        )
    return data


def _numeric_frame(df: pd.DataFrame, path: str) -> pd.DataFrame:
    out = {}
    for c in df.columns:
        num, bad = raw_sources.numeric_column(df[c])
        if bad.any():
            raise raw_sources.bad_value_error(path, c, df[c], bad, True)
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
            num, bad = raw_sources.numeric_column(col.astype(object))
            if bad.any():
                raise raw_sources.bad_value_error(path, c, col, bad, True)
            out[c] = num.astype(np.float64)
    return pd.DataFrame(out, columns=list(df.columns))
