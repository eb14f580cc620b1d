"""The learning rate per optimizer step: warm-up × (step | cosine | one_cycle | plateau)."""

from __future__ import annotations

import math
from typing import Any


class LRSchedule:
    """Learning rate per optimizer step.

    Computed from the step number (plus a plateau factor), so its whole state is a few
    numbers and a resumed run gets exactly the same rates.
    """

    def __init__(self, p: dict[str, Any], base_lr: float, epochs: int, steps_per_epoch: int):
        self.p = p
        self.kind = p.get("lr_schedule", "none")
        self.base = base_lr
        self.spe = max(1, steps_per_epoch)
        self.total = max(1, epochs * self.spe)
        self.factor = 1.0
        self.best: float | None = None
        self.bad = 0

    def lr(self, step: int) -> float:
        """Rate for the (0-based) optimizer step ``step``."""
        p, base = self.p, self.base
        if self.kind == "step":
            lr = base * p["gamma"] ** ((step // self.spe) // p["step_size"])
        elif self.kind == "cosine":
            t = min(1.0, step / self.total)
            lr = p["eta_min"] + (base - p["eta_min"]) * (1 + math.cos(math.pi * t)) / 2
        elif self.kind == "one_cycle":
            lo, final = base / 25.0, base / 25.0 / 1e4
            up = max(1, int(p["pct_start"] * self.total))
            if step < up:
                lr = lo + (base - lo) * (1 - math.cos(math.pi * step / up)) / 2
            else:
                t = min(1.0, (step - up) / max(1, self.total - up))
                lr = final + (base - final) * (1 + math.cos(math.pi * t)) / 2
        elif self.kind == "plateau":
            lr = base * self.factor
        else:
            lr = base
        warm = p.get("warmup_epochs", 0.0) * self.spe
        if warm > 0 and step < warm:
            lr *= (step + 1) / warm
        return lr

    def epoch_end(self, value: float | None, lower_is_better: bool) -> None:
        if self.kind != "plateau" or value is None or not math.isfinite(value):
            return
        better = self.best is None or (
            value < self.best * (1 - 1e-4) if lower_is_better else value > self.best * (1 + 1e-4)
        )
        if better:
            self.best, self.bad = value, 0
            return
        self.bad += 1
        if self.bad > self.p["patience"]:
            self.factor *= self.p["factor"]
            self.bad = 0

    def state(self) -> dict[str, Any]:
        return {"factor": self.factor, "best": self.best, "bad": self.bad}

    def load_state(self, s: dict[str, Any]) -> None:
        self.factor, self.best, self.bad = s["factor"], s["best"], s["bad"]


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of ``metric`` (``val_loss``, ``train_mse`` …) is better."""
    return metric.split("_", 1)[-1] in ("loss", "mse", "mae")
