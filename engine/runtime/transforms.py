"""Fitted preprocessing steps. Each is fitted on the training split only, then applied to
every split and, at inference, to new data; its ``state()`` is plain JSON so checkpoints,
ONNX export and generated scripts can replay it.

Tables are DataFrames (text columns are categories); arrays have one row per sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .errors import DataError
from .lazy import is_frame, pd


def numeric_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]


def text_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1)


def _list(a: Any) -> Any:
    return np.asarray(a, dtype=np.float64).tolist()


class Transform:
    """fit(x, y) on the training split; apply(x) anywhere; state() round-trips through JSON."""

    type = ""

    def fit(self, x: Any, y: np.ndarray, task: str) -> None:
        pass

    def apply(self, x: Any) -> Any:
        return x

    def apply_y(self, y: np.ndarray) -> np.ndarray:
        return y

    def invert_y(self, y: np.ndarray) -> np.ndarray:
        return y

    def apply_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """The same on a batch already on the device (streamed images)."""
        return x

    def warnings(self, x: Any) -> list[str]:
        """What ``apply(x)`` on new data will do that the user should hear of without the
        data being refused (a category never seen, an infinite value clipped)."""
        return []

    def state(self) -> dict[str, Any]:
        return {"type": self.type}


class Impute(Transform):
    """Clean's fitted part: fill missing values, clip outliers (robust limits, see ``limits``)."""

    type = "Clean"

    def __init__(self, missing: str = "mean", clip_std: float = 0.0) -> None:
        self.missing = missing
        self.clip_std = clip_std
        self.fill: dict[str, Any] = {}
        self.clip: dict[str, list[float]] = {}
        self.fill_array: list[float] | None = None
        self.clip_array: list[list[float]] | None = None

    def fit(self, x: Any, y: np.ndarray, task: str) -> None:
        # Statistics come from the finite values only: an ``inf`` in the file must neither
        # become the fill value nor stretch the clip limits.
        if is_frame(x):
            for c in x.columns:
                col = x[c]
                if pd.api.types.is_numeric_dtype(col):
                    vals = col.to_numpy(dtype=np.float64)
                    vals = vals[np.isfinite(vals)]
                    if self.missing != "drop":
                        self.fill[c] = _stat(vals, self.missing)
                    if self.clip_std > 0 and len(vals):
                        lo, hi = self.limits(vals[:, None], self.clip_std)
                        self.clip[c] = [float(lo[0]), float(hi[0])]
                elif self.missing != "drop":
                    mode = col.dropna().mode()
                    self.fill[c] = str(mode.iloc[0]) if len(mode) else ""
        else:
            f = _flat(np.asarray(x, dtype=np.float64))
            if self.missing != "drop":
                self.fill_array = [_stat(col[np.isfinite(col)], self.missing) for col in f.T]
            if self.clip_std > 0:
                lo, hi = self.limits(f, self.clip_std)
                self.clip_array = [_list(lo), _list(hi)]

    @staticmethod
    def limits(v: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
        """Clip limits per column of ``v`` (rows × columns): median ± k robust σ.

        Mean ± k·std is fitted on data that still holds the outliers, so one huge value
        widens the limits until it is never clipped. The median and the median absolute
        deviation (scaled by 1.4826 to estimate σ of normal data) ignore up to half the
        values being outliers. Where most values are equal the MAD is 0: then the
        interquartile range / 1.349 estimates σ, and where that is 0 too the limits are the
        training range (a column of mostly equal values, e.g. a 0/1 flag, is left as
        trained). A column without any finite value is not clipped (float32's range).
        Non-finite entries are ignored.
        """
        a = np.where(np.isfinite(v), v, np.nan)
        big = float(np.finfo(np.float32).max)
        has = ~np.isnan(a).all(axis=0)
        lo, hi = np.full(a.shape[1], -big), np.full(a.shape[1], big)
        if not has.any():
            return lo, hi
        a = a[:, has]
        med = np.nanmedian(a, axis=0)
        sigma = np.nanmedian(np.abs(a - med), axis=0) * 1.4826
        q25, q75 = np.nanpercentile(a, [25, 75], axis=0)
        sigma = np.where(sigma > 0, sigma, (q75 - q25) / 1.349)
        spread = sigma > 0
        lo[has] = np.where(spread, med - k * sigma, np.nanmin(a, axis=0))
        hi[has] = np.where(spread, med + k * sigma, np.nanmax(a, axis=0))
        return lo, hi

    def apply(self, x: Any) -> Any:
        if is_frame(x):
            x = x.copy()
            for c, v in self.fill.items():
                if c in x.columns:
                    x[c] = x[c].fillna(v) if not isinstance(v, str) else x[c].where(x[c].notna(), v)
            for c, (lo, hi) in self.clip.items():
                if c in x.columns:
                    x[c] = x[c].clip(lo, hi)
            return x
        a = np.array(x, dtype=np.float32, copy=True)
        f = a.reshape(len(a), -1)
        if self.fill_array is not None:
            nan = np.isnan(f)
            if nan.any():
                f[nan] = np.take(np.asarray(self.fill_array, dtype=np.float32), np.nonzero(nan)[1])
        if self.clip_array is not None:
            np.clip(f, self.clip_array[0], self.clip_array[1], out=f)
        return a

    def warnings(self, x: Any) -> list[str]:
        """Infinite values that the clip limits will turn into the limit, per column: a
        prediction is made from the limit, not from what the data said."""
        if is_frame(x):
            cols = [(c, _numbers(x[c])) for c in self.clip if c in x.columns]
            limits = [self.clip[c] for c, _v in cols]
        elif self.clip_array is not None:
            f = _flat(np.asarray(x, dtype=np.float64))
            cols = [(f"feature {k + 1}", f[:, k]) for k in range(f.shape[1])]
            limits = [list(lim) for lim in zip(*self.clip_array, strict=True)]
        else:
            return []
        return [
            ClippedInfinite(
                name, tuple(int(i) + 1 for i in np.flatnonzero(np.isinf(v))), lim
            ).message
            for (name, v), lim in zip(cols, limits, strict=True)
            if np.isinf(v).any()
        ]

    def state(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "missing": self.missing,
            "clip_std": self.clip_std,
            "fill": self.fill,
            "clip": self.clip,
            "fill_array": self.fill_array,
            "clip_array": self.clip_array,
        }

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> Impute:
        t = cls(s["missing"], s["clip_std"])
        t.fill, t.clip = dict(s["fill"]), {k: list(v) for k, v in s["clip"].items()}
        t.fill_array, t.clip_array = s.get("fill_array"), s.get("clip_array")
        return t


def _numbers(col: Any) -> np.ndarray:
    """A column of new data as floats (text that is no number: NaN, not an error here)."""
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)


@dataclass(frozen=True)
class ClippedInfinite:
    """Infinite values of one column of new data that Clean clips to its limits (1-based
    rows); ``message`` says so, naming the column, the rows and the limits."""

    column: str
    rows: tuple[int, ...]
    limits: list[float]

    @property
    def message(self) -> str:
        lo, hi = (f"{v:.6g}" for v in self.limits)
        return (
            f"column {self.column!r}: an infinite value in "
            f"{'row' if len(self.rows) == 1 else 'rows'} {listed([str(r) for r in self.rows])} "
            f"was clipped to the training's limits ({lo} to {hi}); the model read the limit"
        )


def _stat(vals: np.ndarray, how: str) -> float:
    if len(vals) == 0:
        return 0.0
    if how == "median":
        return float(np.median(vals))
    if how == "most_frequent":
        u, n = np.unique(vals, return_counts=True)
        return float(u[np.argmax(n)])
    return float(vals.mean())


class Standardize(Transform):
    type = "Standardize"

    def __init__(self, per: str = "feature", targets: bool = False) -> None:
        self.per = per
        self.targets = targets
        self.columns: list[str] | None = None
        self.mean: Any = None
        self.std: Any = None
        self.y_mean: list[float] | None = None
        self.y_std: list[float] | None = None

    def fit(self, x: Any, y: np.ndarray, task: str) -> None:
        if is_frame(x):
            self.columns = numeric_columns(x)
            v = x[self.columns].to_numpy(dtype=np.float64)
            self.mean, self.std = _list(np.nanmean(v, axis=0)), _list(_safe(np.nanstd(v, axis=0)))
        else:
            a = np.asarray(x, dtype=np.float64)
            if self.per == "channel":
                axes = (0, *range(2, a.ndim))
                self.mean = _list(a.mean(axis=axes))
                self.std = _list(_safe(a.std(axis=axes)))
            else:
                self.mean, self.std = _list(a.mean(axis=0)), _list(_safe(a.std(axis=0)))
        if self.targets and task == "regression":
            yy = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
            self.y_mean, self.y_std = _list(yy.mean(axis=0)), _list(_safe(yy.std(axis=0)))

    def _shaped(self, ndim: int) -> tuple[np.ndarray, np.ndarray]:
        m, s = np.asarray(self.mean, np.float32), np.asarray(self.std, np.float32)
        if self.per == "channel":
            m = m.reshape((-1,) + (1,) * (ndim - 2))
            s = s.reshape((-1,) + (1,) * (ndim - 2))
        return m, s

    def apply(self, x: Any) -> Any:
        if is_frame(x):
            x = x.copy()
            cols = self.columns or []
            x[cols] = (x[cols].to_numpy(dtype=np.float64) - np.asarray(self.mean)) / np.asarray(
                self.std
            )
            return x
        a = np.asarray(x, dtype=np.float32)
        m, s = self._shaped(a.ndim)
        return ((a - m) / s).astype(np.float32)

    def apply_tensor(self, x: torch.Tensor) -> torch.Tensor:
        m, s = self._shaped(x.dim())
        return (x - torch.as_tensor(m, device=x.device)) / torch.as_tensor(s, device=x.device)

    def apply_y(self, y: np.ndarray) -> np.ndarray:
        if self.y_mean is None:
            return y
        shape = y.shape
        if len(y) == 0:  # an empty split (e.g. val = 0): nothing to scale
            return np.asarray(y, np.float32)
        yy = np.asarray(y, np.float32).reshape(len(y), -1)
        return ((yy - np.float32(self.y_mean)) / np.float32(self.y_std)).reshape(shape)

    def invert_y(self, y: np.ndarray) -> np.ndarray:
        if self.y_mean is None:
            return y
        shape = y.shape
        if len(y) == 0:  # an empty split (e.g. val = 0): nothing to scale
            return np.asarray(y, np.float32)
        yy = np.asarray(y, np.float32).reshape(len(y), -1)
        return (yy * np.float32(self.y_std) + np.float32(self.y_mean)).reshape(shape)

    def state(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "per": self.per,
            "columns": self.columns,
            "mean": self.mean,
            "std": self.std,
            "target_mean": self.y_mean,
            "target_std": self.y_std,
        }

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> Standardize:
        t = cls(s["per"], s.get("target_mean") is not None)
        t.columns, t.mean, t.std = s["columns"], s["mean"], s["std"]
        t.y_mean, t.y_std = s.get("target_mean"), s.get("target_std")
        return t


def _safe(std: np.ndarray) -> np.ndarray:
    std = np.asarray(std, dtype=np.float64)
    return np.where(std > 1e-12, std, 1.0)


class MinMaxScale(Transform):
    type = "MinMaxScale"

    def __init__(self, lo: float = 0.0, hi: float = 1.0) -> None:
        self.lo, self.hi = lo, hi
        self.columns: list[str] | None = None
        self.data_min: Any = None
        self.data_max: Any = None

    def fit(self, x: Any, y: np.ndarray, task: str) -> None:
        if is_frame(x):
            self.columns = numeric_columns(x)
            v = x[self.columns].to_numpy(dtype=np.float64)
            self.data_min, self.data_max = _list(np.nanmin(v, 0)), _list(np.nanmax(v, 0))
        else:
            a = np.asarray(x, dtype=np.float64)
            self.data_min, self.data_max = _list(a.min(axis=0)), _list(a.max(axis=0))

    def _scale(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = np.asarray(self.data_min), np.asarray(self.data_max)
        rng = np.where(hi - lo > 1e-12, hi - lo, 1.0)
        scale = (self.hi - self.lo) / rng
        return scale, self.lo - lo * scale

    def apply(self, x: Any) -> Any:
        scale, shift = self._scale()
        if is_frame(x):
            x = x.copy()
            cols = self.columns or []
            x[cols] = x[cols].to_numpy(dtype=np.float64) * scale + shift
            return x
        a = np.asarray(x, dtype=np.float32)
        return (a * scale.astype(np.float32) + shift.astype(np.float32)).astype(np.float32)

    def apply_tensor(self, x: torch.Tensor) -> torch.Tensor:
        scale, shift = self._scale()
        return x * torch.as_tensor(scale, dtype=x.dtype, device=x.device) + torch.as_tensor(
            shift, dtype=x.dtype, device=x.device
        )

    def state(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "min": self.lo,
            "max": self.hi,
            "columns": self.columns,
            "data_min": self.data_min,
            "data_max": self.data_max,
        }

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> MinMaxScale:
        t = cls(s["min"], s["max"])
        t.columns, t.data_min, t.data_max = s["columns"], s["data_min"], s["data_max"]
        return t


@dataclass(frozen=True)
class UnseenCategories:
    """Values of a category column that training never saw, in new data (1-based rows).

    One-hot encoding reads them as none of the known categories (all zeros), so a
    prediction is still made; ``message`` says so, naming the column, values and rows.
    """

    column: str
    values: tuple[str, ...]
    rows: tuple[int, ...]
    known: tuple[str, ...]

    @property
    def message(self) -> str:
        one = len(self.values) == 1
        return (
            f"column {self.column!r}: {'category' if one else 'categories'} "
            f"{listed([repr(v) for v in self.values])} not seen in training, in "
            f"{'row' if len(self.rows) == 1 else 'rows'} {listed([str(r) for r in self.rows])} "
            f"(trained on {listed(list(self.known))}); the model read "
            f"{'it' if one else 'them'} as none of those"
        )


def listed(items: list[str], most: int = 5) -> str:
    """``a, b, c, d, e, … (9 in all)``: a list short enough for one message."""
    shown = ", ".join(items[:most])
    return shown + (f", … ({len(items)} in all)" if len(items) > most else "")


class OneHot(Transform):
    type = "OneHot"

    def __init__(self, columns: list[str] | None = None) -> None:
        self.wanted = list(columns or [])
        self.categories: dict[str, list[str]] = {}

    def fit(self, x: Any, y: np.ndarray, task: str) -> None:
        if not is_frame(x):
            return
        cols = self.wanted or text_columns(x)
        for c in cols:
            if c not in x.columns:
                raise DataError(f"OneHot: no column {c!r} (columns: {', '.join(x.columns)})")
            vals = x[c].dropna().astype(str)
            self.categories[c] = sorted(set(vals.tolist()))

    def apply(self, x: Any) -> Any:
        if not is_frame(x) or not self.categories:
            return x
        parts: dict[str, Any] = {}
        for c in x.columns:
            if c in self.categories:
                vals = x[c].astype(object)
                vals = vals.where(vals.isna(), vals.astype(str))
                for cat in self.categories[c]:
                    parts[f"{c}={cat}"] = (vals == cat).to_numpy(dtype=np.float64)
            else:
                parts[c] = x[c].to_numpy()
        return pd.DataFrame(parts, index=x.index)

    def unseen(self, x: Any) -> list[UnseenCategories]:
        """The categories of new data that the fitted lists lack, per column (missing
        values are not among them: Clean fills those, or they stay all zeros)."""
        found: list[UnseenCategories] = []
        if not is_frame(x):
            return found
        for c, cats in self.categories.items():
            if c not in x.columns:
                continue
            col = x[c]
            text = col.where(col.isna(), col.astype(str))
            new = (col.notna() & ~text.isin(cats)).to_numpy()
            if new.any():
                values = tuple(dict.fromkeys(text[new].tolist()))
                rows = tuple(int(i) + 1 for i in np.flatnonzero(new))
                found.append(UnseenCategories(c, values, rows, tuple(cats)))
        return found

    def warnings(self, x: Any) -> list[str]:
        return [u.message for u in self.unseen(x)]

    def state(self) -> dict[str, Any]:
        return {"type": self.type, "categories": self.categories}

    @classmethod
    def from_state(cls, s: dict[str, Any]) -> OneHot:
        t = cls(list(s["categories"]))
        t.categories = {k: list(v) for k, v in s["categories"].items()}
        return t


FITTED = {"Clean": Impute, "Standardize": Standardize, "MinMaxScale": MinMaxScale, "OneHot": OneHot}


def from_node(type_: str, p: dict[str, Any]) -> Transform | None:
    """The fitted-transform of a preprocessing node (None for Split, Batch, Augment)."""
    if type_ == "Clean":
        if p["missing"] == "drop" and p["clip_std"] == 0:
            return None
        return Impute(p["missing"], p["clip_std"])
    if type_ == "Standardize":
        return Standardize(p["per"], p["targets"])
    if type_ == "MinMaxScale":
        return MinMaxScale(p["min"], p["max"])
    if type_ == "OneHot":
        return OneHot(p["columns"])
    return None


def from_state(s: dict[str, Any]) -> Transform:
    return FITTED[s["type"]].from_state(s)  # type: ignore[attr-defined,no-any-return]
