"""Knowledge distillation: a student project trained against a teacher's outputs.

The teacher is another project with its checkpoint, run in eval mode without gradients on
the very batches the student sees (the same preprocessed, augmented inputs). The loss is

- classification: ``α · task + (1 − α) · T² · KL(softmax(teacher/T) ‖ softmax(student/T))``
  (a single-logit binary head counts as the two logits ``[0, z]``);
- regression: ``α · task + (1 − α) · MSE(student, teacher)`` (in the model's output units).

α (``distill_alpha``) and T (``distill_temperature``) are training settings. Both terms
are averaged over each epoch's training samples and recorded in the history as
``train_task_loss`` and ``train_distill_loss``. The loop is the runtime's ``Trainer``
unchanged: this is its ``objective`` and a ``Callback``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from engine.runtime.loop import Callback, EpochEnd, Trainer
from engine.train.errors import TrainError
from engine.train.inference import setup


@dataclass(frozen=True)
class Teacher:
    """A trained project to distill from: its project file (or Graph) and checkpoint."""

    project: Any
    checkpoint: str | os.PathLike[str]


class Distillation(Callback):
    """The distillation objective (``objective``) and the callback that records its terms."""

    def __init__(
        self, teacher: nn.Module, head: Any, task: str, alpha: float, temperature: float
    ) -> None:
        self.teacher = teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.head, self.task = head, task
        self.alpha, self.T = float(alpha), float(temperature)
        self._sums: torch.Tensor | None = None

    def soft_loss(self, out: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if self.task != "classification":
            return F.mse_loss(out.float(), t.float())
        out, t = out.float().reshape(len(out), -1), t.float().reshape(len(t), -1)
        if out.shape[1] == 1:  # one logit: the two classes' logits are [0, z]
            out = torch.cat([torch.zeros_like(out), out], 1)
            t = torch.cat([torch.zeros_like(t), t], 1)
        T = self.T
        kl = F.kl_div(
            F.log_softmax(out / T, 1), F.log_softmax(t / T, 1), log_target=True,
            reduction="batchmean",
        )  # fmt: skip
        return kl * (T * T)

    def objective(self, out: torch.Tensor, y: torch.Tensor, x: Any) -> torch.Tensor:
        task_loss = self.head.loss(out, y)
        was = self.teacher.training
        self.teacher.eval()  # the student's loop calls train() on its own model only
        with torch.no_grad():
            t = self.teacher(x)
        self.teacher.train(was)
        soft = self.soft_loss(out, t)
        n = float(len(y))
        terms = torch.stack([task_loss.detach().float() * n, soft.detach() * n])
        terms = torch.cat([terms, terms.new_tensor([n])])
        self._sums = terms if self._sums is None else self._sums + terms
        return self.alpha * task_loss + (1.0 - self.alpha) * soft

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        self._sums = None

    def on_epoch_end(self, trainer: Trainer, info: EpochEnd) -> None:
        if self._sums is None:
            return
        sums = self._sums
        if trainer.dist.enabled:
            sums = trainer.dist.sum(sums.double())
        task_l, soft_l, n = (float(v) for v in sums.cpu())
        terms = {"task_loss": task_l / max(n, 1.0), "distill_loss": soft_l / max(n, 1.0)}
        info.train.update(terms)  # the EpochEnded event's train metrics
        if trainer.state.history:
            trainer.state.history[-1].update({f"train_{k}": v for k, v in terms.items()})


def load_teacher(
    teacher: Teacher, student_record: dict[str, Any], student_out: tuple[int, ...], device: Any
) -> tuple[nn.Module, str]:
    """The teacher's model on ``device`` (eval, frozen) and its checkpoint's path.

    Refused (``TrainError``) when it cannot be used: its checkpoint does not fit its project,
    its outputs have another shape than the student's, or it was trained on differently
    preprocessed data (the teacher runs on the student's inputs).
    """
    _g, rep, _plan, ckpt, model = setup(teacher.project, teacher.checkpoint)
    t_out = tuple(rep.shapes[rep.outputs[0]]) if rep.outputs else ()
    if tuple(t_out) != tuple(student_out):
        raise TrainError(
            f"the teacher's output is {'×'.join(map(str, t_out))}, the student's "
            f"{'×'.join(map(str, student_out))}: distillation needs the same outputs"
        )
    mine = json.dumps(student_record.get("steps"), sort_keys=True)
    theirs = json.dumps(ckpt.preprocessing.get("steps"), sort_keys=True)
    if mine != theirs or student_record.get("feature_shape") != ckpt.preprocessing.get(
        "feature_shape"
    ):
        raise TrainError(
            f"{ckpt.path}: the teacher was trained on differently preprocessed data (its "
            "fitted preprocessing differs from the student's); distill a teacher trained on "
            "the same data chain",
            file=ckpt.path,
        )
    return model.to(device).eval(), ckpt.path
