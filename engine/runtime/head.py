"""The loss head and the optimizer, built from plain typed specs.

The engine makes a ``LossSpec`` / ``OptimizerSpec`` from the project's nodes; an exported
script writes the same specs as literals. Both then build the very same torch objects here,
once, so the session and the script cannot disagree about targets, readout or arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .errors import RunError, TorchwireError

TENSOR_KWARGS = ("weight", "pos_weight")


@dataclass(frozen=True)
class LossSpec:
    """A torch loss by its class name in ``torch.nn`` and its plain-valued arguments.

    ``target``: what the loss wants from class labels (``index``, ``onehot``, ``binary``);
    ``readout``: how the model's output turns into probabilities (``logits``,
    ``log_probs``, ``sigmoid``, ``values``). ``weight`` / ``pos_weight`` become tensors.
    """

    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    target: str = "onehot"
    readout: str = "values"

    def build(self, device: torch.device) -> nn.Module:
        cls = getattr(nn, self.type, None)
        if not (
            isinstance(cls, type) and issubclass(cls, nn.Module) and self.type.endswith("Loss")
        ):
            raise TorchwireError(f"{self.type!r} is not a loss of torch.nn")
        kw = dict(self.kwargs)
        for k in TENSOR_KWARGS:
            if k in kw:
                kw[k] = torch.tensor(kw[k], dtype=torch.float32, device=device)
        return cls(**kw).to(device)


@dataclass(frozen=True)
class OptimizerSpec:
    """A ``torch.optim`` optimizer by class name, its arguments, and its schedule's
    parameters (``lr_schedule``, ``warmup_epochs``, ``step_size`` … as the node has them).

    Transfer learning, by the model's submodule (attribute) names: ``frozen`` ones get no
    gradient, are not given to the optimizer and keep their BatchNorm statistics;
    ``lr_scales`` maps a submodule to its learning-rate multiplier (a parameter group at
    ``lr × scale``, which every schedule scales along). Plain names and numbers, so an
    exported script writes them as literals.
    """

    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    schedule: dict[str, Any] = field(default_factory=dict)
    frozen: tuple[str, ...] | list[str] = ()
    lr_scales: dict[str, float] = field(default_factory=dict)

    @property
    def lr(self) -> float:
        return float(self.kwargs["lr"])

    def build(self, params: Any) -> torch.optim.Optimizer:
        """The optimizer on ``params`` (tensors, or parameter groups as torch takes them)."""
        cls = getattr(torch.optim, self.type, None)
        if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
            raise TorchwireError(f"{self.type!r} is not an optimizer of torch.optim")
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in self.kwargs.items()}
        return cls(params, **kw)

    def freeze(self, model: nn.Module) -> None:
        """Turn off the gradients of the frozen submodules' parameters (before DDP wraps)."""
        for p in self._frozen_params(model):
            p.requires_grad_(False)

    def _frozen_params(self, model: nn.Module) -> list[nn.Parameter]:
        out: list[nn.Parameter] = []
        for name in self.frozen:
            sub = getattr(model, name, None)
            if isinstance(sub, nn.Module):
                out.extend(sub.parameters())
        return out

    def param_groups(self, model: nn.Module) -> list[dict[str, Any]]:
        """The model's trainable parameters as groups, one per learning-rate scale.

        Each group carries ``lr_scale``; its ``lr`` is the base rate times that. Frozen
        submodules' parameters are left out (and get ``requires_grad=False``).
        """
        self.freeze(model)
        frozen = {id(p) for p in self._frozen_params(model)}
        groups: dict[float, list[nn.Parameter]] = {}
        for name, p in model.named_parameters():
            if id(p) in frozen or not p.requires_grad:
                continue
            scale = float(self.lr_scales.get(name.split(".", 1)[0], 1.0))
            groups.setdefault(scale, []).append(p)
        if not groups:
            raise RunError(
                "nothing to train: every layer with weights is frozen (unfreeze at least one)",
                kind="project",
            )
        lr = self.lr if "lr" in self.kwargs else None
        return [
            {"params": ps, "lr_scale": s, **({"lr": lr * s} if lr is not None else {})}
            for s, ps in groups.items()
        ]

    def build_for(self, model: nn.Module) -> torch.optim.Optimizer:
        """The optimizer on ``model``'s trainable parameters, grouped by ``param_groups``."""
        if not self.frozen and not self.lr_scales:
            return self.build(model.parameters())  # one group, exactly as before
        return self.build(self.param_groups(model))

    def keep_frozen_eval(self, model: nn.Module) -> None:
        """Put the frozen submodules' BatchNorm layers back in eval mode: after each
        ``model.train()``, so their running statistics stay the loaded ones."""
        for name in self.frozen:
            sub = getattr(model, name, None)
            if isinstance(sub, nn.Module):
                for m in sub.modules():
                    if isinstance(m, nn.modules.batchnorm._BatchNorm):
                        m.eval()


class Head:
    """The loss node at run time: loss function, target conversion and prediction readout.

    A loss that needs more than (output, target), such as distillation with a teacher's
    outputs, is a ``Trainer`` objective built around ``loss``; the loop does not change.
    """

    def __init__(
        self,
        spec: LossSpec,
        task: str,
        n_classes: int,
        out_shape: tuple[int, ...],
        device: torch.device,
        target_mean: list[float] | None = None,
        target_std: list[float] | None = None,
    ) -> None:
        self.spec = spec
        self.type = spec.type
        self.task, self.c = task, n_classes
        self.out_shape = tuple(out_shape)
        self.target = spec.target
        self.readout = spec.readout
        self.fn: nn.Module = spec.build(device)
        self.binary_single = task == "classification" and self.out_shape == (1,)
        self.t_mean = _vec(target_mean, device)
        self.t_std = _vec(target_std, device)

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


def _vec(v: list[float] | None, device: torch.device) -> torch.Tensor | None:
    return torch.tensor(v, dtype=torch.float32, device=device) if v is not None else None
