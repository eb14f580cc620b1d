"""What session, evaluation and inference share: the loss, how targets reach it, how
predictions are read from the model's output, optimizers and learning-rate schedules.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine import catalog


def pick_device(name: str) -> torch.device:
    """``auto``: CUDA, else MPS, else CPU; an unavailable choice raises with the reason."""
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if name == "cuda" and not cuda:
        raise RuntimeError("device cuda was chosen, but CUDA is not available on this machine")
    if name == "mps" and not mps:
        raise RuntimeError("device mps was chosen, but Apple MPS is not available here")
    return torch.device(name)


class Head:
    """The loss node's runtime: loss function, target conversion and prediction readout."""

    def __init__(
        self,
        loss_type: str,
        params: dict[str, Any],
        task: str,
        n_classes: int,
        out_shape: tuple[int, ...],
        device: torch.device,
        target_mean: list[float] | None = None,
        target_std: list[float] | None = None,
    ) -> None:
        spec = catalog.get(loss_type)
        self.type = loss_type
        self.task, self.c = task, n_classes
        self.out_shape = out_shape
        self.target = spec.extra.get("target", "onehot")
        self.readout = spec.extra.get("outputs", "values")
        kw: dict[str, Any] = {}
        for p in spec.params:
            if p.ctor:
                kw[p.name] = params[p.name]
        kw.update(spec.extra.get("fixed_kw", {}))
        if params.get("weight"):
            kw["weight"] = torch.tensor(params["weight"], dtype=torch.float32, device=device)
        if loss_type == "BCEWithLogitsLoss" and params.get("pos_weight", 1.0) != 1.0:
            kw["pos_weight"] = torch.tensor(params["pos_weight"], device=device)
        assert spec.module is not None
        self.fn: nn.Module = spec.module(**kw).to(device)
        self.binary_single = task == "classification" and out_shape == (1,)
        self.t_mean = (
            torch.tensor(target_mean, dtype=torch.float32, device=device)
            if target_mean is not None
            else None
        )
        self.t_std = (
            torch.tensor(target_std, dtype=torch.float32, device=device)
            if target_std is not None
            else None
        )

    def loss_target(self, y: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        if self.task == "regression":
            return y.reshape(out.shape).to(out.dtype)
        if self.target == "index":
            return y
        if self.binary_single:
            return y.to(out.dtype).unsqueeze(1)
        return F.one_hot(y, self.c).to(out.dtype)

    def loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.fn(out, self.loss_target(y, out))

    def metric_target(self, y: torch.Tensor) -> torch.Tensor:
        """Targets as metrics compare them: labels, or values in original units (N, k)."""
        if self.task == "classification":
            return y
        return self.original_units(y.reshape(len(y), -1).float())

    def predict(self, out: torch.Tensor) -> torch.Tensor:
        """Class indices, or values in the targets' original units (N, k)."""
        if self.task == "classification":
            if self.binary_single:
                return (out.reshape(-1) > 0).long()
            return out.argmax(1)
        return self.original_units(out.reshape(len(out), -1).float())

    def original_units(self, v: torch.Tensor) -> torch.Tensor:
        if self.t_mean is None or self.t_std is None:
            return v
        return v.reshape(len(v), -1) * self.t_std + self.t_mean

    def probabilities(self, out: torch.Tensor) -> torch.Tensor:
        out = out.float()
        if self.binary_single:
            p = torch.sigmoid(out.reshape(-1))
            return torch.stack([1 - p, p], 1)
        if self.readout == "log_probs":
            return out.exp()
        if self.readout == "sigmoid":
            return torch.sigmoid(out)
        return torch.softmax(out, 1)


def build_optimizer(
    opt_type: str, params: dict[str, Any], model: nn.Module
) -> torch.optim.Optimizer:
    spec = catalog.get(opt_type)
    kw: dict[str, Any] = {}
    for p in spec.params:
        if p.ctor:
            v = params[p.name]
            kw[p.name] = tuple(v) if p.type == "floats" else v
    assert spec.module is not None
    return spec.module(model.parameters(), **kw)  # type: ignore[no-any-return]


class LRSchedule:
    """Learning rate per optimizer step: warm-up × (step | cosine | one_cycle | plateau).

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


def to_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().float().cpu().numpy()
