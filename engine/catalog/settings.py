"""Training settings, declared once: the GUI builds its editor from ``TRAINING_SETTINGS``.

They live in ``graph.settings["training"]`` (a plain dict saved with the project).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.catalog.base import Param, ParamError
from engine.runtime.device import DEVICE_CHOICES

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
        choices=DEVICE_CHOICES,
        tune=False,
    ),
    Param(
        "seed",
        "int",
        0,
        "seeds weights, shuffling, dropout and augmentation (0 … 4294967295)",
        min=0,
        max=2**32 - 1,  # numpy's range; torch's is larger, and seed + 1 must stay valid
    ),
    Param("amp", "bool", False, "mixed precision on CUDA (bfloat16 where supported)"),
    Param("grad_clip", "float", 0.0, "clip the gradients' total norm to this (0: off)", min=0.0),
    Param(
        "monitor",
        "choice",
        "val_loss",
        "metric that picks the best checkpoint and drives early stopping / plateau schedules "
        "(falls back to train_loss without a validation split)",
        choices=MONITORS,
        tune=False,  # the study's objective: tuning it would compare unlike numbers
    ),
    Param("early_stopping", "bool", False, "stop when the monitored metric stops improving"),
    Param(
        "patience",
        "int",
        10,
        "early stopping: epochs without improvement",
        min=1,
        enabled_if=("early_stopping", (True,)),
    ),
    Param(
        "min_delta",
        "float",
        0.0,
        "early stopping: smallest change that counts",
        min=0.0,
        enabled_if=("early_stopping", (True,)),
    ),
    Param(
        "cpu_threads",
        "int",
        0,
        "threads for training on the CPU (0: torch's default; 1 is often fastest for small "
        "models on a busy machine)",
        min=0,
        max=1024,
        tune=False,
    ),
    Param(
        "checkpoint",
        "choice",
        "best_and_last",
        "best_and_last: keep the best (by monitor) and the last model; last: only the last",
        choices=("best_and_last", "last"),
        tune=False,
    ),
    Param(
        "sync_batchnorm",
        "bool",
        False,
        "several processes on CUDA: BatchNorm statistics over the whole global batch "
        "(SyncBatchNorm) instead of each process's part",
        tune=False,
    ),
    Param(
        "distill_alpha",
        "float",
        0.5,
        "distillation (with a teacher): weight of the task loss; 1 - alpha weighs the "
        "teacher's term",
        min=0.0,
        max=1.0,
    ),
    Param(
        "distill_temperature",
        "float",
        4.0,
        "distillation: temperature T softening both models' class probabilities (the KL "
        "term is scaled by T²)",
        min=0.05,
        max=100.0,
    ),
    Param(
        "init_from",
        "path",
        "",
        "transfer learning: start from these weights (a run folder, a checkpoint, a "
        ".safetensors or a PyTorch state_dict .pt), matched to the nodes by name; layers "
        "the file lacks start fresh (relative paths: from the project file's folder; empty: "
        "fresh weights)",
    ),
    Param(
        "max_model_memory_gb",
        "float",
        0.0,
        "the check refuses a model whose weights need more memory than this, in GB, before "
        "anything is allocated (0: automatic, this machine's memory, or the GPU's when "
        "training would use CUDA)",
        min=0.0,
        tune=False,
    ),
)


class SettingsError(ParamError):
    """A training setting that cannot be used; ``param`` names it (None: the whole section).

    A ParamError (so a TorchwireError and a ValueError): callers that catch either keep
    working, and nothing about the project's settings escapes as a TypeError.
    """


def settings_problems(values: Any, **overrides: Any) -> list[SettingsError]:
    """Every problem of the project's training settings (``values``) and the overrides.

    ``values`` comes from the project file as written, so it may be anything JSON holds.
    """
    if values is not None and not isinstance(values, Mapping):
        return [
            SettingsError(
                "training settings: expected named settings (an object), got "
                f"{_kind(values)}; reset the training settings"
            )
        ]
    known = {p.name: p for p in TRAINING_SETTINGS}
    merged = dict(values or {})
    merged.update({k: v for k, v in overrides.items() if v is not None})
    out: list[SettingsError] = []
    for k, v in merged.items():
        if k not in known:
            out.append(
                SettingsError(
                    f"training settings: unknown setting {k!r} (known: {', '.join(known)})",
                    param=str(k),
                )
            )
            continue
        try:
            known[k].coerce(v)
        except (TypeError, ValueError) as e:  # ParamError, or a value no declaration expects
            why = str(e) if isinstance(e, ParamError) else f"{k}: {v!r} cannot be used"
            out.append(SettingsError(f"training settings: {why}", param=k))
    return out


def resolve_settings(values: Any, **overrides: Any) -> dict[str, Any]:
    """Defaults, then the project's values, then non-None overrides; each value checked.

    Raises SettingsError (the first problem) for anything ``settings_problems`` finds.
    """
    problems = settings_problems(values, **overrides)
    if problems:
        raise problems[0]
    known = {p.name: p for p in TRAINING_SETTINGS}
    out = {p.name: p.default for p in TRAINING_SETTINGS}
    merged = dict(values or {})
    merged.update({k: v for k, v in overrides.items() if v is not None})
    for k, v in merged.items():
        out[k] = known[k].coerce(v)
    return out


def _kind(v: Any) -> str:
    if isinstance(v, str):
        return f"the text {v[:40]!r}"
    if isinstance(v, (list, tuple)):
        return "a list"
    return f"a {type(v).__name__}"


def lower_is_better(metric: str) -> bool:
    return metric.split("_", 1)[-1] in ("loss", "mse", "mae")
