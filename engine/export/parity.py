"""Parity between torch and an exported model: a report per output and batch size, not a yes/no.

Like ``torch.onnx``'s verification, every output gets its largest absolute and relative
difference; the export passes when every element is within ``tolerance + rtol·|expected|``
(``numpy.allclose``'s rule) and NaNs sit in the same places.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DEFAULT_TOLERANCE = 1e-4
DEFAULT_RTOL = 1e-4
# |expected| below this counts as this in the relative difference, so exact zeros
# (ReLU, padding) do not turn a 1e-9 error into an infinite relative one.
REL_FLOOR = 1e-6


@dataclass(frozen=True)
class OutputParity:
    """One output at one batch size."""

    output: str
    batch: int
    shape: tuple[int, ...]
    max_abs: float
    max_rel: float
    ok: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "output": self.output,
            "batch": self.batch,
            "shape": list(self.shape),
            "max_abs": self.max_abs,
            "max_rel": self.max_rel,
            "ok": self.ok,
        }
        if self.note:
            d["note"] = self.note
        return d


@dataclass
class ParityReport:
    """What an export was checked against: each output at each batch size tried."""

    target: str  # "onnxruntime" or "python"
    path: str = ""
    tolerance: float = DEFAULT_TOLERANCE
    rtol: float = DEFAULT_RTOL
    rows: list[OutputParity] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(r.ok for r in self.rows)

    @property
    def max_abs(self) -> float:
        return max((r.max_abs for r in self.rows), default=0.0)

    @property
    def max_rel(self) -> float:
        return max((r.max_rel for r in self.rows), default=0.0)

    @property
    def outputs(self) -> list[str]:
        return list(dict.fromkeys(r.output for r in self.rows))

    @property
    def batch_sizes(self) -> list[int]:
        return sorted({r.batch for r in self.rows})

    def worst(self) -> dict[str, OutputParity]:
        """Per output, the row with the largest absolute difference."""
        out: dict[str, OutputParity] = {}
        for r in self.rows:
            if r.output not in out or r.max_abs > out[r.output].max_abs or not r.ok:
                out[r.output] = r
        return out

    def failures(self) -> list[OutputParity]:
        return [r for r in self.rows if not r.ok]

    def __str__(self) -> str:
        head = f"parity: torch vs {self.target}" + (f" ({self.path})" if self.path else "")
        rows = [("output", "batch", "shape", "max abs diff", "max rel diff", "")]
        for r in self.rows:
            rows.append(
                (
                    r.output,
                    str(r.batch),
                    "×".join(map(str, r.shape)) or "scalar",
                    f"{r.max_abs:.3g}",
                    f"{r.max_rel:.3g}",
                    ("ok" if r.ok else "FAIL") + (f" {r.note}" if r.note else ""),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(6)]
        lines = [head]
        for row in rows:
            cells = [
                c.rjust(w) if i in (1, 3, 4) else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ]
            lines.append("  " + "  ".join(cells).rstrip())
        verdict = "passed" if self.ok else "FAILED"
        lines.append(
            f"{verdict}: max abs {self.max_abs:.3g}, max rel {self.max_rel:.3g} "
            f"(tolerance: abs {self.tolerance:g} + rel {self.rtol:g})"
        )
        for k, v in self.info.items():
            if k in ("export_seconds", "check_seconds"):
                lines.append(f"{k.replace('_', ' ')}: {v:.2f}")
            elif isinstance(v, (str, int, float)):
                lines.append(f"{k.replace('_', ' ')}: {v}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "path": self.path,
            "ok": self.ok,
            "tolerance": self.tolerance,
            "rtol": self.rtol,
            "max_abs": self.max_abs,
            "max_rel": self.max_rel,
            "rows": [r.to_dict() for r in self.rows],
            "info": dict(self.info),
        }


def compare(
    name: str,
    batch: int,
    expected: Any,
    actual: Any,
    tolerance: float = DEFAULT_TOLERANCE,
    rtol: float = DEFAULT_RTOL,
) -> OutputParity:
    """Compare one output; integer outputs must match exactly."""
    e = np.asarray(expected)
    a = np.asarray(actual)
    if e.shape != a.shape:
        return OutputParity(
            name, batch, tuple(e.shape), float("inf"), float("inf"), False,
            f"shape {tuple(a.shape)} instead of {tuple(e.shape)}",
        )  # fmt: skip
    if e.size == 0:
        return OutputParity(name, batch, tuple(e.shape), 0.0, 0.0, True)
    e64 = e.astype(np.float64)
    a64 = a.astype(np.float64)
    nan_e, nan_a = np.isnan(e64), np.isnan(a64)
    if (nan_e != nan_a).any():
        n = int((nan_e != nan_a).sum())
        return OutputParity(
            name, batch, tuple(e.shape), float("inf"), float("inf"), False,
            f"NaN in {n} place(s) where the other has a number",
        )  # fmt: skip
    both = ~nan_e
    diff = np.zeros_like(e64)
    same_inf = np.isinf(e64) & (e64 == a64)
    sel = both & ~same_inf
    diff[sel] = np.abs(e64[sel] - a64[sel])
    rel = diff / np.maximum(np.abs(np.where(sel, e64, 1.0)), REL_FLOOR)
    max_abs = float(diff.max())
    max_rel = float(rel.max())
    if np.issubdtype(e.dtype, np.integer) or e.dtype == bool:
        ok = max_abs == 0.0
    else:
        ok = bool((diff <= tolerance + rtol * np.abs(np.where(sel, e64, 0.0))).all())
    return OutputParity(name, batch, tuple(e.shape), max_abs, max_rel, ok)


def as_tuple(out: Any) -> tuple[Any, ...]:
    if isinstance(out, (tuple, list)):
        return tuple(out)
    return (out,)


def report_rows(
    names: Sequence[str],
    batch: int,
    expected: Sequence[Any],
    actual: Sequence[Any],
    tolerance: float,
    rtol: float,
) -> list[OutputParity]:
    return [
        compare(n, batch, e, a, tolerance, rtol)
        for n, e, a in zip(names, expected, actual, strict=True)
    ]
