"""``RunState``: everything that makes a stopped run continue exactly, as one typed record.

Checkpoints keep it as JSON (numbers, history) plus tensors (random generators, this
epoch's order, running metrics), so they load with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import torch

from .errors import StateError

# Keys of the JSON half that a resumable checkpoint must hold.
REQUIRED = ("epoch", "step", "history", "best_value", "best_epoch", "bad_epochs", "schedule")


@dataclass
class RunState:
    """The position and bookkeeping of a run; the loop updates it in place."""

    epoch: int = 0  # epochs completed
    step: int = 0  # optimizer steps taken
    history: list[dict[str, Any]] = field(default_factory=list)
    best_value: float | None = None
    best_epoch: int = 0
    bad_epochs: int = 0
    schedule: dict[str, Any] = field(default_factory=dict)
    resume_epoch: int = 1
    resume_batch: int = 0
    in_epoch: bool = False
    finished: bool = False
    stopped: bool = False
    early_stopped: bool = False
    world_size: int = 1
    scaler: dict[str, Any] | None = None
    # tensors
    rng: dict[str, torch.Tensor] = field(default_factory=dict)
    perm: torch.Tensor | None = None
    acc: dict[str, torch.Tensor] = field(default_factory=dict)

    def improved(self, value: float | None, lower: bool, min_delta: float) -> bool:
        """Whether ``value`` of the monitored metric beats the best so far."""
        if value is None or not math.isfinite(value):
            return False
        if self.best_value is None:
            return True
        if lower:
            return value < self.best_value - min_delta
        return value > self.best_value + min_delta

    def to_checkpoint(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """(JSON-able meta, tensors) for a checkpoint file."""
        meta: dict[str, Any] = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("rng", "perm", "acc", "scaler")
        }
        meta["history"] = list(self.history)
        if self.scaler is not None:
            meta["scaler"] = self.scaler
        tensors: dict[str, torch.Tensor] = {f"rng_{k}": v for k, v in self.rng.items()}
        if self.perm is not None:
            tensors["perm"] = self.perm.cpu()
        for k, v in self.acc.items():
            tensors[f"acc_{k}"] = v.detach().cpu().clone()
        return meta, tensors

    @classmethod
    def from_checkpoint(
        cls, meta: dict[str, Any], tensors: dict[str, Any], where: str = "the checkpoint"
    ) -> RunState:
        """Read a position back; a missing or malformed field is a ``StateError``."""
        if not isinstance(meta, dict):
            raise StateError(f"{where} holds no training position")
        missing = [k for k in REQUIRED if k not in meta]
        if missing:
            raise StateError(
                f"{where} holds no training position (missing {', '.join(missing)}); "
                "resume from a last.pt written by training"
            )
        try:
            s = cls(
                epoch=int(meta["epoch"]),
                step=int(meta["step"]),
                history=[dict(r) for r in meta["history"]],
                best_value=None if meta["best_value"] is None else float(meta["best_value"]),
                best_epoch=int(meta["best_epoch"]),
                bad_epochs=int(meta["bad_epochs"]),
                schedule=dict(meta["schedule"]),
                resume_epoch=int(meta.get("resume_epoch", int(meta["epoch"]) + 1)),
                resume_batch=int(meta.get("resume_batch", 0)),
                in_epoch=bool(meta.get("in_epoch", False)),
                finished=bool(meta.get("finished", False)),
                world_size=int(meta.get("world_size", 1)),
                scaler=meta.get("scaler"),
            )
        except (TypeError, ValueError, KeyError) as e:
            raise StateError(f"{where}: malformed training position ({e})") from None
        for k, v in tensors.items():
            if not isinstance(v, torch.Tensor):
                continue
            if k.startswith("rng_"):
                s.rng[k[4:]] = v
            elif k.startswith("acc_"):
                s.acc[k[4:]] = v
            elif k == "perm":
                s.perm = v
        for need in ("torch", "data", "aug"):
            if need not in s.rng:
                raise StateError(f"{where} holds no random-generator state ({need})")
        return s
