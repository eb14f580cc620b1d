"""The files a run folder holds besides checkpoints: metrics, history, what was initialised."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from engine.fileio import atomic_write
from engine.train import events


def init_json(r: events.InitReport) -> dict[str, Any]:
    """``init.json`` in the run folder: what ``init_from`` loaded, missed and left out."""
    return {
        "source": r.source,
        "prefix": r.prefix,
        "loaded": list(r.loaded),
        "missing": list(r.missing),
        "unexpected": list(r.unexpected),
        "wrong_shape": [
            {"name": k, "file": list(a), "model": list(b)} for k, a, b in r.wrong_shape
        ],
    }


def write_run_files(
    run_dir: Path,
    test_m: dict[str, Any],
    history: list[dict[str, Any]],
    stopped: bool,
    best_epoch: int,
    epoch: int,
    monitor: str,
) -> None:
    metrics = {k: v for k, v in test_m.items() if k not in ("y_true", "y_pred")}
    metrics.update(
        {
            "epochs_completed": len(history),
            "best_epoch": best_epoch,
            "monitor": monitor,
            "stopped": stopped,
        }
    )
    atomic_write(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    cols: list[str] = []
    for row in history:
        for k in row:
            if k not in cols:
                cols.append(k)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for row in history:
        w.writerow(row)
    atomic_write(run_dir / "history.csv", buf.getvalue())
