"""One ONNX model on onnxruntime, with Torchwire's metadata: the tensors it takes and gives,
the readout of ``torchwire predict`` in numpy (no torch), and raw rows → the model's input.

A model exported with ``--bake-preprocessing`` takes raw features: the fitted Clean fill
values and clipping, Standardize and MinMaxScale run inside the graph. What stays outside
(text is not a tensor) is done here exactly as ``engine.data.pipeline`` does for
``predict``: category columns become one-hot 0/1 columns (Clean's fill value first for a
missing one; a category training never saw is all zeros and answered with a warning naming
it), numbers are parsed, and a row whose features would still be missing or infinite after the
baked steps is refused.
"""

from __future__ import annotations

import csv
import io
import math
import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import RequestError, ServeError, shown
from .metadata import read_metadata

DEFAULT_MAX_BODY = 64 * 1024 * 1024  # bytes of one request body
DEFAULT_MAX_BATCH = 4096  # rows (samples) of one request
DEFAULT_HEADER_TIMEOUT = 10.0  # seconds a client has to send a request's head
DEFAULT_BODY_TIMEOUT = 60.0  # seconds for a request's body to arrive, once its head has
CONFIG_ENV = "TORCHWIRE_SERVE_CONFIG"  # the settings a worker process reads (--workers N)

Unseen = dict[str, dict[str, list[int]]]  # category column → value training never saw → rows

# Open Inference Protocol data types ↔ numpy (BYTES has no ONNX model of ours).
V2_TO_NUMPY = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
}
ORT_TO_V2 = {
    "tensor(bool)": "BOOL",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(float16)": "FP16",
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
}


@dataclass(frozen=True)
class TensorSpec:
    """A model input or output: its name, v2 datatype and shape (-1: any size, the batch)."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    @property
    def dtype(self) -> Any:
        return V2_TO_NUMPY[self.datatype]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


def _dims(shape: Any) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) and d >= 0 else -1 for d in shape)


def _width(tensors: list[TensorSpec]) -> int | None:
    """Values per sample of a model's one tensor (``None``: several, or a size not fixed)."""
    if len(tensors) != 1 or not all(d > 0 for d in tensors[0].shape[1:]):
        return None
    return math.prod(tensors[0].shape[1:])


def default_threads(workers: int = 1) -> int:
    """onnxruntime's intra-op threads per session: the cores shared among the workers, at
    most 4 (requests run concurrently, each on its own thread; more threads per run only
    make them fight)."""
    cpus = os.cpu_count() or 1
    return max(1, min(4, cpus // max(1, workers)))


class ServedModel:
    """An ONNX model ready to serve. ``run(feeds)`` is thread-safe (onnxruntime sessions are)."""

    def __init__(self, path: str | os.PathLike[str], name: str, threads: int | None = None):
        import onnxruntime as ort

        self.path = str(path)
        self.name = name
        if not os.path.isfile(self.path):
            raise ServeError(f"{self.path}: no such model file")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or default_threads()
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(self.path, opts, providers=["CPUExecutionProvider"])
        except Exception as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise ServeError(f"{self.path}: not a model onnxruntime can load ({first})") from None
        self.inputs = [self._spec(t) for t in self.session.get_inputs()]
        self.outputs = [self._spec(t) for t in self.session.get_outputs()]
        meta = dict(self.session.get_modelmeta().custom_metadata_map)
        self.metadata = meta
        info = read_metadata(self.path, meta, _width(self.inputs), _width(self.outputs))
        self.task = info.task
        self.class_names = info.class_names
        self.preprocessing = info.preprocessing
        self.baked = info.baked
        self.readout = info.readout
        self.lock = threading.Lock()
        self.features = Features.of(self)

    def _spec(self, t: Any) -> TensorSpec:
        dt = ORT_TO_V2.get(t.type)
        if dt is None:
            raise ServeError(f"{self.path}: tensor {t.name!r} has type {t.type}, not served")
        return TensorSpec(t.name, dt, _dims(t.shape))

    def input(self, name: str) -> TensorSpec | None:
        return next((t for t in self.inputs if t.name == name), None)

    def run(self, feeds: dict[str, np.ndarray], outputs: list[str] | None = None) -> list[Any]:
        return self.session.run(outputs, feeds)

    # -- /predict -------------------------------------------------------------------------
    @property
    def predict_error(self) -> str | None:
        """Why ``/predict`` cannot serve this model (it then speaks only the v2 protocol)."""
        if len(self.inputs) != 1 or self.inputs[0].datatype not in ("FP32", "FP64", "FP16"):
            return "/predict serves models with one floating-point input; use /v2/…/infer"
        if self.task not in ("classification", "regression"):
            return "the model carries no Torchwire task metadata; use /v2/models/NAME/infer"
        if self.preprocessing and self.preprocessing.get("steps") and not self.baked:
            return (
                "the model takes preprocessed features (exported without "
                "--bake-preprocessing); use /v2/models/NAME/infer"
            )
        return None

    def readout_of(self, out: np.ndarray) -> dict[str, Any]:
        """``torchwire predict``'s answer for the model's raw outputs, in numpy."""
        return readout(self.task, self.readout, self.class_names, out)

    def predict_rows(self, rows: np.ndarray) -> dict[str, Any]:
        spec = self.inputs[0]
        (out, *_) = self.run({spec.name: rows.astype(spec.dtype, copy=False)})
        return self.readout_of(out)


def readout(task: str, how: str, class_names: list[str], out: np.ndarray) -> dict[str, Any]:
    """``torchwire predict``'s answer for raw model outputs, in numpy, as
    ``engine.runtime.head.Head`` reads them: one logit → sigmoid (binary), else per the
    loss's readout (``log_probs`` → exp, ``sigmoid``, else softmax); labels by argmax."""
    out = np.asarray(out, dtype=np.float32)
    n = len(out)
    if task == "classification":
        flat = out.reshape(n, -1)
        if flat.shape[1] == 1:  # one logit: binary with a sigmoid
            p = _sigmoid(flat[:, 0])
            probs = np.stack([1 - p, p], 1)
            idx = (flat[:, 0] > 0).astype(np.int64)
        else:
            if how == "log_probs":
                probs = np.exp(flat)
            elif how == "sigmoid":
                probs = _sigmoid(flat)
            else:
                probs = _softmax(flat)
            idx = flat.argmax(1)
        names = class_names or [str(i) for i in range(probs.shape[1])]
        if idx.size and int(idx.max()) >= len(names):
            raise ServeError(f"the model names {len(names)} classes, its output has more")
        labels = [names[int(i)] for i in idx]
        rows = []
        for i, lab in enumerate(labels):
            r: dict[str, Any] = {"prediction": lab}
            for j, c in enumerate(names):
                r[f"p({c})"] = _finite(probs[i, j])
            rows.append(r)
        return {"task": "classification", "class_names": names, "predictions": rows}
    vals = out.reshape(n, -1)
    rows = [
        {"prediction": _finite(v[0]) if vals.shape[1] == 1 else [_finite(a) for a in v]}
        for v in vals
    ]
    return {"task": "regression", "predictions": rows}


def _finite(x: Any) -> float | None:
    """A model output as JSON has it: a number, or null where the model gave NaN or ∞."""
    f = float(x)
    return f if math.isfinite(f) else None


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(np.float32)


def _softmax(x: np.ndarray) -> np.ndarray:
    z = x.astype(np.float64) - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


class Features:
    """Raw rows (objects by column, lists, CSV) → the model's float input, as ``predict``."""

    def __init__(
        self,
        columns: list[str] | None,
        kinds: dict[str, str],
        feature_names: list[str],
        feature_shape: tuple[int, ...],
        categories: dict[str, list[str]],
        fill: dict[str, Any],
        nan_ok: np.ndarray,
        inf_ok: np.ndarray,
    ) -> None:
        self.columns = columns
        self.kinds = kinds
        self.feature_names = feature_names
        self.feature_shape = feature_shape
        self.categories = categories
        self.fill = fill
        self.nan_ok = nan_ok
        self.inf_ok = inf_ok

    @classmethod
    def of(cls, model: ServedModel) -> Features:
        rec = model.preprocessing if isinstance(model.preprocessing, dict) else {}
        shape = tuple(rec.get("feature_shape") or ())
        if not shape and model.inputs:
            shape = tuple(d for d in model.inputs[0].shape[1:])
        src = rec.get("source") or {}
        columns = src.get("columns") if src.get("kind") == "table" else None
        names = list(rec.get("feature_names") or [])
        n = int(np.prod(shape)) if shape and all(d > 0 for d in shape) else 0
        if not names and columns is None:
            names = [f"x{i}" for i in range(n)]
        categories: dict[str, list[str]] = {}
        fill: dict[str, Any] = {}
        nan_ok = np.zeros(max(n, len(names)), bool)
        inf_ok = np.zeros(max(n, len(names)), bool)
        for step in rec.get("steps") or []:
            if step.get("type") == "OneHot":
                categories.update({k: [str(c) for c in v] for k, v in step["categories"].items()})
            elif step.get("type") == "Clean":
                fill.update(step.get("fill") or {})
                for i, f in enumerate(names):
                    if f in (step.get("fill") or {}):
                        nan_ok[i] = True
                    if f in (step.get("clip") or {}):
                        inf_ok[i] = True
                if step.get("fill_array") is not None:
                    nan_ok[:] = True
                if step.get("clip_array") is not None:
                    inf_ok[:] = True
        return cls(
            list(columns) if columns is not None else None,
            dict(src.get("column_kinds") or {}),
            names,
            shape,
            categories,
            fill,
            nan_ok,
            inf_ok,
        )

    # -- examples for the OpenAPI page ----------------------------------------------------
    def example_object(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for c in self.columns or self.feature_names:
            cats = self.categories.get(c)
            out[c] = cats[0] if cats else 0.0
        return out

    def example_list(self) -> list[Any]:
        return list(self.example_object().values())

    # -- parsing --------------------------------------------------------------------------
    def from_json(
        self, rows: Any, max_rows: int = DEFAULT_MAX_BATCH, unseen: Unseen | None = None
    ) -> np.ndarray:
        if isinstance(rows, dict) and "rows" in rows:
            rows = rows["rows"]
        if isinstance(rows, dict):
            rows = [rows]
        if not isinstance(rows, list):
            raise RequestError(
                "the body must be a row (an object by feature name), a list of rows, or "
                '{"rows": [...]}'
            )
        if not rows:
            raise RequestError("the batch is empty: send at least one row")
        if len(rows) > max_rows:
            raise _too_many(max_rows)
        return self._rows([self._row(r, i, unseen=unseen) for i, r in enumerate(rows)])

    def from_csv(
        self, text: str, max_rows: int = DEFAULT_MAX_BATCH, unseen: Unseen | None = None
    ) -> np.ndarray:
        """The rows of a CSV body, read no further than row ``max_rows + 1`` (refused)."""
        reader = csv.reader(io.StringIO(text), skipinitialspace=True)
        table: list[list[str]] = []
        try:
            for r in reader:
                if r and any(c.strip() for c in r):
                    table.append(r)
                    if len(table) > max_rows + 1:  # the header and max_rows rows
                        raise _too_many(max_rows)
        except csv.Error as e:
            raise RequestError(f"the CSV body cannot be read ({e})") from None
        if not table:
            raise RequestError("the CSV body is empty: send a header line and at least one row")
        header, body = [h.strip() for h in table[0]], table[1:]
        if not body:
            raise RequestError("the batch is empty: the CSV has a header but no rows")
        rows = []
        for i, r in enumerate(body):
            if len(r) != len(header):
                raise RequestError(f"CSV row {i + 1} has {len(r)} values, the header {len(header)}")
            rows.append(self._row(dict(zip(header, r)), i, csv_text=True, unseen=unseen))
        return self._rows(rows)

    def _names(self) -> list[str]:
        return self.columns if self.columns is not None else self.feature_names

    def _row(
        self, r: Any, i: int, csv_text: bool = False, unseen: Unseen | None = None
    ) -> np.ndarray:
        names = self._names()
        if isinstance(r, dict):
            extra = [k for k in r if k not in names and k != "id"]
            if extra:
                raise RequestError(
                    f"row {i + 1}: no feature {shown(extra[0])} (the model takes "
                    f"{', '.join(names)})"
                )
            missing = [c for c in names if c not in r]
            if missing:
                raise RequestError(
                    f"row {i + 1}: feature {missing[0]!r} is missing (the model takes "
                    f"{', '.join(names)})"
                )
            return self._encode([r[c] for c in names], i, csv_text, unseen)
        if isinstance(r, list):
            if self.columns is not None and len(r) == len(self.columns):
                return self._encode(r, i, csv_text, unseen)
            flat = _flatten(r)
            if len(flat) == len(self.feature_names) and self.feature_names:
                return self._numbers(flat, i, self.feature_names)
            want = len(self.columns) if self.columns is not None else len(self.feature_names)
            raise RequestError(
                f"row {i + 1} has {len(flat)} values, the model takes {want} ({', '.join(names)})"
            )
        raise RequestError(f"row {i + 1} is {type(r).__name__}, not an object or a list")

    def _encode(
        self, values: list[Any], i: int, csv_text: bool, unseen: Unseen | None = None
    ) -> np.ndarray:
        """Raw column values (numbers, category text) → one feature vector; a category
        training never saw is all zeros, and goes into ``unseen`` (column → value → rows)."""
        if self.columns is None:
            return self._numbers(_flatten(values), i, self.feature_names)
        out: list[float] = []
        for c, v in zip(self.columns, values):
            if self.kinds.get(c) == "category" or c in self.categories:
                s = None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                s = s.strip() if s is not None else None
                if s == "" and csv_text:
                    s = None
                if s is None and isinstance(self.fill.get(c), str):
                    s = self.fill[c]
                cats = self.categories.get(c)
                if cats is None:
                    raise RequestError(f"row {i + 1}: feature {c!r} is text the model cannot take")
                if s is not None and s not in cats and unseen is not None:
                    unseen.setdefault(c, {}).setdefault(s, []).append(i + 1)
                out.extend(1.0 if s == cat else 0.0 for cat in cats)
            else:
                out.append(_number(v, c, i))
        return self._numbers(out, i, self.feature_names, parsed=True)

    def warnings(self, unseen: Unseen) -> list[str]:
        """The unseen categories said as ``torchwire predict`` says them (the same words)."""
        out = []
        for c, cats in self.categories.items():
            found = unseen.get(c)
            if not found:
                continue
            one = len(found) == 1
            rows = sorted({r for rs in found.values() for r in rs})
            out.append(
                f"column {c!r}: {'category' if one else 'categories'} "
                f"{_listed([repr(v) for v in found])} not seen in training, in "
                f"{'row' if len(rows) == 1 else 'rows'} {_listed([str(r) for r in rows])} "
                f"(trained on {_listed(cats)}); the model read {'it' if one else 'them'} "
                "as none of those"
            )
        return out

    def _numbers(
        self, flat: list[Any], i: int, names: list[str], parsed: bool = False
    ) -> np.ndarray:
        vals = flat if parsed else [_number(v, names[j] if j < len(names) else f"x{j}", i)
                                    for j, v in enumerate(flat)]  # fmt: skip
        a = np.asarray(vals, dtype=np.float64)
        n = len(a)
        with np.errstate(over="ignore"):
            out = a.astype(np.float32)
        over = np.isinf(out) & np.isfinite(a)
        if over.any():
            j = int(np.flatnonzero(over)[0])
            name = names[j] if j < len(names) else f"value {j + 1}"
            raise RequestError(f"row {i + 1}: feature {name!r}: {a[j]:g} is out of float32's range")
        nan, inf = np.isnan(a), np.isinf(a)
        ok_nan = self.nan_ok[:n] if len(self.nan_ok) >= n else np.zeros(n, bool)
        ok_inf = self.inf_ok[:n] if len(self.inf_ok) >= n else np.zeros(n, bool)
        bad = (nan & ~ok_nan) | (inf & ~ok_inf)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            name = names[j] if j < len(names) else f"value {j + 1}"
            raise RequestError(
                f"row {i + 1}: feature {name!r} is {'missing' if nan[j] else 'infinite'} and "
                "the model's preprocessing does not fill it"
            )
        return out

    def _rows(self, rows: list[np.ndarray]) -> np.ndarray:
        x = np.stack(rows)
        if self.feature_shape and all(d > 0 for d in self.feature_shape):
            want = int(np.prod(self.feature_shape))
            if x.shape[1] != want:
                raise RequestError(f"each row needs {want} values, got {x.shape[1]}")
            x = x.reshape((len(x), *self.feature_shape))
        return x


def _too_many(max_rows: int) -> RequestError:
    return RequestError(
        f"the request has more than {max_rows} rows: this server takes at most {max_rows} "
        f"at once (--max-batch {max_rows})",
        413,
    )


def _listed(items: list[str], most: int = 5) -> str:
    shown = ", ".join(items[:most])
    return shown + (f", … ({len(items)} in all)" if len(items) > most else "")


def _flatten(v: Any) -> list[Any]:
    if isinstance(v, list):
        out: list[Any] = []
        for a in v:
            out.extend(_flatten(a))
        return out
    return [v]


def _number(v: Any, name: str, i: int) -> float:
    """One feature value as ``predict`` reads it: a number, text holding one, or missing."""
    if v is None:
        return math.nan
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, int | float):
        try:
            return float(v)
        except OverflowError:
            raise RequestError(
                f"row {i + 1}: feature {name!r}: {shown(v)} is out of float32's range"
            ) from None
    if isinstance(v, str):
        s = v.strip()
        if s == "":
            return math.nan
        try:
            f = float(s)
        except ValueError:
            f = None
        if f is not None and math.isinf(f) and "inf" not in s.lower():
            raise RequestError(
                f"row {i + 1}: feature {name!r}: {shown(v)} is out of float32's range"
            )
        if f is not None and not math.isnan(f):
            return f
    raise RequestError(f"row {i + 1}: feature {name!r}: {shown(v)} is not a number")


def model_name(text: str, fallback: str = "model") -> str:
    """A name safe for URLs, folders and Triton: letters, digits, ``_ - .``; at most 64."""
    out = "".join(c if (c.isascii() and c.isalnum()) or c in "_-." else "_" for c in text)
    out = out.strip("._-")[:64].strip("._-")
    return out or fallback


def default_name(path: str | os.PathLike[str], metadata: dict[str, str]) -> str:
    base = metadata.get("source_graph") or os.path.splitext(os.path.basename(str(path)))[0]
    return model_name(base)
