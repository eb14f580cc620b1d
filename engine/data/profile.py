"""What a table holds, in the user's words: its columns (numeric, text), its missing cells and
its outliers. The designer's Properties and canvas labels and ``torchwire check`` print these
same lines, so the count a user reads is the same everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.data import sources
from engine.data.pipeline import DataInfo, base_dir_of, chain_of
from engine.runtime.errors import DataError
from engine.runtime.lazy import is_frame, pd
from engine.runtime.transforms import Impute

# the clip width the hint suggests when a Clean node's clipping is off (clip_std 0)
SUGGESTED_CLIP_STD = 3.0
_SHOWN = 4  # columns named in one line before "…"


@dataclass(frozen=True)
class TableCounts:
    """Per column: cells missing, and numeric values beyond median ± ``k`` robust σ."""

    rows: int
    missing: Mapping[str, int]
    outliers: Mapping[str, int]
    k: float

    @property
    def missing_cells(self) -> int:
        return sum(self.missing.values())

    @property
    def outlier_values(self) -> int:
        return sum(self.outliers.values())


def feature_line(info: DataInfo) -> str:
    """The features a data node gives, counted honestly: ``4 columns: 3 numeric, 1 text
    (color) — …`` for a table with text columns (a model takes numbers only, so text columns
    need a OneHot node), else the feature shape (``4``, ``1×28×28``)."""
    shape = "×".join(map(str, info.feature_shape)) or "scalar"
    names, texts = info.feature_names, info.text_columns
    if not names or not texts:
        return shape
    numeric = len(names) - len(texts)
    return (
        f"{len(names)} columns: {numeric} numeric, {len(texts)} text ({_names(texts)}) — "
        "text is not a number a model can take: add a OneHot node to encode it "
        f"(until then the model gets the {numeric} numeric columns)"
    )


def count_table(x: Any, k: float = SUGGESTED_CLIP_STD) -> TableCounts:
    """Missing cells of every column and outliers of the numeric ones (the robust limits a
    Clean node clips to, ``Impute.limits``, with ``k`` standard deviations)."""
    frame = x if is_frame(x) else pd.DataFrame(np.asarray(x, np.float64).reshape(len(x), -1))
    missing = {str(c): int(v) for c, v in frame.isna().sum().items() if v}
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    outliers: dict[str, int] = {}
    if numeric and len(frame):
        values = frame[numeric].to_numpy(np.float64)
        lo, hi = Impute.limits(values, k)
        with np.errstate(invalid="ignore"):
            beyond = ((values < lo) | (values > hi)).sum(axis=0)
        outliers = {str(c): int(n) for c, n in zip(numeric, beyond, strict=True) if n}
    return TableCounts(len(frame), missing, outliers, k)


def clean_lines(counts: TableCounts, missing: str, clip_std: float) -> list[str]:
    """What a Clean node finds and does: the missing cells and the outliers, and a hint when
    outliers are there but clipping is off."""
    out = []
    if counts.missing_cells:
        how = "rows holding them are dropped" if missing == "drop" else f"filled ({missing})"
        out.append(f"{counts.missing_cells} missing cells ({_counted(counts.missing)}): {how}")
    else:
        out.append("no missing cells")
    k = f"{counts.k:g}"
    if not counts.outlier_values:
        out.append(f"no outliers beyond median ± {k} robust SD")
    elif clip_std > 0:
        out.append(
            f"{counts.outlier_values} outliers beyond median ± {k} robust SD "
            f"({_counted(counts.outliers)}): clipped"
        )
    else:
        out.append(
            f"{counts.outlier_values} outliers beyond median ± {k} robust SD "
            f"({_counted(counts.outliers)}): kept, clipping is off — set clip_std to {k} "
            "to clip them"
        )
    return out


def clean_profile(graph: Any, node_id: str) -> list[str]:
    """:func:`clean_lines` for a Clean node of ``graph``, counted on its dataset's table
    (nothing when the dataset cannot be read: the check reports that on the dataset)."""
    node = graph.nodes[node_id]
    try:
        first = chain_of(graph, node_id)[0]
        raw = sources.load(first.type, first.p, first.path)
    except DataError:
        return []
    if raw.kind == "files":
        return []
    k = float(node.params.get("clip_std") or 0.0)
    counts = count_table(raw.x, k if k > 0 else SUGGESTED_CLIP_STD)
    return clean_lines(counts, str(node.params.get("missing")), k)


def table_columns(graph: Any, node_id: str) -> list[str]:
    """The column names of a table dataset node's file (its header, or 0, 1, … without one);
    empty when the file cannot be read yet. The designer offers these for the target."""
    node = graph.nodes[node_id]
    p = node.params
    if not p.get("path"):
        return []
    try:
        path = sources.resolve_path(p["path"], base_dir_of(graph))
        head = pd.read_csv(
            path,
            sep=p.get("delimiter") or ",",
            header=0 if p.get("header", True) else None,
            dtype=str,
            nrows=1,
            skipinitialspace=True,
            engine="python" if len(p.get("delimiter") or ",") > 1 else "c",
        )
    except Exception:  # a missing or unreadable file: the check says why, on the node
        return []
    return [str(c).strip() for c in head.columns]


def _names(cols: Any) -> str:
    cols = list(cols)
    return ", ".join(map(str, cols[:_SHOWN])) + (" …" if len(cols) > _SHOWN else "")


def _counted(by_column: Mapping[str, int]) -> str:
    items = list(by_column.items())
    shown = ", ".join(f"{c} {n}" for c, n in items[:_SHOWN])
    return shown + (" …" if len(items) > _SHOWN else "")
