"""Training settings, declared once: the GUI builds its editor from ``TRAINING_SETTINGS``.

They live in ``graph.settings["training"]`` (a plain dict saved with the project).
"""

from __future__ import annotations

from typing import Any

from engine.catalog.base import Param, ParamError

MONITORS = (
    "val_loss",
    "val_accuracy",
    "val_f1",
    "val_mse",
    "val_mae",
    "val_r2",
    "train_loss",
)

TRAINING_SETTINGS: tuple[Param, ...] = (
    Param("epochs", "int", 20, "passes over the training split", min=1, max=1_000_000),
    Param(
        "device",
        "choice",
        "auto",
        "auto: CUDA, else Apple MPS, else CPU",
        choices=("auto", "cpu", "cuda", "mps"),
    ),
    Param("seed", "int", 0, "seeds weights, shuffling, dropout and augmentation", min=0),
    Param("amp", "bool", False, "mixed precision on CUDA (bfloat16 where supported)"),
    Param("grad_clip", "float", 0.0, "clip the gradients' total norm to this (0: off)", min=0.0),
    Param(
        "monitor",
        "choice",
        "val_loss",
        "metric that picks the best checkpoint and drives early stopping / plateau schedules "
        "(falls back to train_loss without a validation split)",
        choices=MONITORS,
    ),
    Param("early_stopping", "bool", False, "stop when the monitored metric stops improving"),
    Param("patience", "int", 10, "early stopping: epochs without improvement", min=1),
    Param("min_delta", "float", 0.0, "early stopping: smallest change that counts", min=0.0),
    Param(
        "cpu_threads",
        "int",
        0,
        "threads for training on the CPU (0: torch's default; 1 is often fastest for small "
        "models on a busy machine)",
        min=0,
        max=1024,
    ),
    Param(
        "checkpoint",
        "choice",
        "best_and_last",
        "best_and_last: keep the best (by monitor) and the last model; last: only the last",
        choices=("best_and_last", "last"),
    ),
)


def resolve_settings(values: dict[str, Any] | None, **overrides: Any) -> dict[str, Any]:
    """Defaults, then the project's values, then non-None overrides; each value checked."""
    known = {p.name: p for p in TRAINING_SETTINGS}
    out = {p.name: p.default for p in TRAINING_SETTINGS}
    merged = dict(values or {})
    merged.update({k: v for k, v in overrides.items() if v is not None})
    for k, v in merged.items():
        if k not in known:
            raise ParamError(
                f"training settings: unknown setting {k!r} (known: {', '.join(known)})"
            )
        out[k] = known[k].coerce(v)
    return out


def lower_is_better(metric: str) -> bool:
    return metric.split("_", 1)[-1] in ("loss", "mse", "mae")
