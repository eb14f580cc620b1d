"""The Torchwire metadata an ONNX model carries (task, class names, preprocessing, readout),
read strictly when the model is loaded.

Why strict, and at load: the server and ``bundle`` trust these fields on every request; a
file whose metadata is wrong (hand-edited, truncated, hostile) must fail once, at start-up,
with a message naming the file and the field, not with a raw TypeError or RecursionError,
nor start and then answer 500 to every ``/predict``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from .errors import ServeError, shown

TASKS = ("", "classification", "regression")
READOUTS = ("", "logits", "log_probs", "sigmoid", "values")


@dataclass(frozen=True)
class Metadata:
    """The metadata fields the server uses, each checked."""

    task: str
    class_names: list[str]
    preprocessing: dict[str, Any] | None
    baked: bool
    readout: str


class _Field:
    """Raises the error for one field of one file."""

    def __init__(self, path: str, key: str) -> None:
        self.path, self.key = path, key

    def bad(self, why: str) -> ServeError:
        return ServeError(f"{self.path}: the model's metadata {self.key!r} {why}")


def read_metadata(
    path: str, meta: dict[str, str], in_width: int | None, out_width: int | None
) -> Metadata:
    """``meta`` (the ONNX custom metadata) checked against itself and the model's tensors:
    ``in_width`` values per sample in, ``out_width`` out (``None``: not one known size)."""
    task = _choice(path, meta, "task", TASKS)
    readout = _choice(path, meta, "readout", READOUTS)
    baked = _choice(path, meta, "preprocessing_baked", ("", "true", "false")) == "true"
    names = _class_names(_Field(path, "class_names"), _json(path, meta, "class_names", []))
    if task == "classification" and names and out_width is not None:
        want = 2 if out_width == 1 else out_width
        if len(names) != want:
            raise _Field(path, "class_names").bad(
                f"names {len(names)} classes, the model's output has {want}"
            )
    rec = _json(path, meta, "preprocessing", None)
    if rec is not None:
        _preprocessing(_Field(path, "preprocessing"), rec, in_width)
    return Metadata(task, names, rec, baked, readout)


def _json(path: str, meta: dict[str, str], key: str, default: Any) -> Any:
    raw = meta.get(key)
    if not raw:
        return default
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise _Field(path, key).bad("is not valid JSON (or nests too deep)") from None


def _choice(path: str, meta: dict[str, str], key: str, allowed: tuple[str, ...]) -> str:
    value = meta.get(key) or ""
    if value not in allowed:
        one_of = ", ".join(a for a in allowed if a)
        raise _Field(path, key).bad(f"is {shown(value)}, not one of {one_of}")
    return value


def _class_names(f: _Field, value: Any) -> list[str]:
    if not isinstance(value, list):
        raise f.bad(f"must be a list of names, not {type(value).__name__}")
    for v in value:
        if not _scalar(v):
            raise f.bad(f"holds {shown(v)}, not a name")
    return [str(v) for v in value]


def _scalar(v: Any) -> bool:
    if isinstance(v, float):
        return math.isfinite(v)
    return isinstance(v, str | int)


def _str_list(f: _Field, value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise f.bad(f"{what} must be a list of names")
    return value


def _preprocessing(f: _Field, rec: Any, in_width: int | None) -> None:
    """The preprocessing record as ``Features`` reads it: types, and the feature count
    agreeing with the model's input."""
    if not isinstance(rec, dict):
        raise f.bad(f"must be an object, not {type(rec).__name__}")
    shape = rec.get("feature_shape")
    if shape is not None and not (
        isinstance(shape, list)
        and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)
    ):
        raise f.bad("feature_shape must be a list of sizes > 0")
    src = rec.get("source") or {}
    if not isinstance(src, dict):
        raise f.bad("source must be an object")
    columns = src.get("columns")
    if columns is not None:
        _str_list(f, columns, "source.columns")
    kinds = src.get("column_kinds") or {}
    if not isinstance(kinds, dict) or not all(isinstance(k, str) for k in kinds.values()):
        raise f.bad("source.column_kinds must map columns to kinds")
    names = _str_list(f, rec.get("feature_names") or [], "feature_names")
    steps = rec.get("steps") or []
    if not isinstance(steps, list):
        raise f.bad("steps must be a list")
    categories: dict[str, list[Any]] = {}
    for k, step in enumerate(steps):
        categories.update(_step(f, k, step))
    width = math.prod(shape) if shape else None
    for what, n in (("feature_names", len(names) or None), ("feature_shape", width)):
        if n is not None and in_width is not None and n != in_width:
            raise f.bad(f"{what} gives {n} features, the model's input takes {in_width}")
    if columns is not None and src.get("kind") == "table" and in_width is not None:
        n = sum(len(categories.get(c, [])) or 1 for c in columns)
        if n != in_width:
            raise f.bad(f"the columns make {n} features, the model's input takes {in_width}")


def _step(f: _Field, k: int, step: Any) -> dict[str, list[Any]]:
    """One preprocessing step checked; a OneHot step's categories."""
    if not isinstance(step, dict) or not isinstance(step.get("type"), str):
        raise f.bad(f"step {k + 1} must be an object with a type")
    if step["type"] == "OneHot":
        cats = step.get("categories")
        if not isinstance(cats, dict) or not all(
            isinstance(v, list) and all(_scalar(c) for c in v) for v in cats.values()
        ):
            raise f.bad(f"step {k + 1} (OneHot): categories must map columns to lists")
        return cats
    if step["type"] == "Clean":
        for key in ("fill", "clip"):
            value = step.get(key) or {}
            if not isinstance(value, dict) or not all(
                v is None or _scalar(v) or isinstance(v, list) for v in value.values()
            ):
                raise f.bad(f"step {k + 1} (Clean): {key} must map columns to values")
    return {}
