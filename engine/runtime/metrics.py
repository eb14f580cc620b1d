"""Metrics accumulated on the device without synchronizing per batch: a confusion matrix for
classification; error sums for regression. ``compute()`` syncs once, at the end of an epoch.

Everything ``compute`` needs is a vector of sums (counts, squared errors, target moments), so
under data-parallel training the ranks add their vectors with one all-reduce and every rank
gets the metrics of the whole split.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

Reduce = Callable[[torch.Tensor], torch.Tensor]


class Accumulator:
    """Loss and task metrics over many batches.

    Per batch it only keeps references (predictions, targets, the loss); the confusion
    matrix or error sums are computed once per epoch, so the training loop pays almost
    nothing and the device is never synchronized per batch.
    """

    def __init__(self, task: str, n_classes: int, device: torch.device, n_targets: int = 1):
        self.task, self.c, self.device = task, n_classes, device
        self.k = n_targets
        self.reset()

    def reset(self) -> None:
        self.loss_sum = 0.0  # python float where the loss was already synced (CPU)
        self.loss_t: list[torch.Tensor] = []
        self.n = 0
        self.preds: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []

    @torch.no_grad()
    def add(
        self,
        loss: torch.Tensor,
        pred: torch.Tensor,
        y: torch.Tensor,
        loss_value: float | None = None,
    ) -> None:
        """``pred``: class indices, or values in the targets' units (N, k)."""
        b = int(y.shape[0])
        if loss_value is not None:
            self.loss_sum += loss_value * b
        else:
            self.loss_t.append(loss.detach().float() * b)
        self.n += b
        self.preds.append(pred)
        self.targets.append(y)

    def _loss_total(self) -> float:
        total = self.loss_sum
        if self.loss_t:
            total += float(torch.stack(self.loss_t).cpu().double().sum().item())
        return total

    def state(self) -> dict[str, torch.Tensor]:
        """Everything so far as tensors (for a checkpoint in the middle of an epoch)."""
        return {
            "loss_sum": torch.tensor(self._loss_total(), dtype=torch.float64),
            "n": torch.tensor(self.n),
            "preds": torch.cat(self.preds).cpu() if self.preds else torch.zeros(0),
            "targets": torch.cat(self.targets).cpu() if self.targets else torch.zeros(0),
        }

    def load_state(self, s: dict[str, torch.Tensor]) -> None:
        self.reset()
        self.loss_sum = float(s["loss_sum"])
        self.n = int(s["n"])
        if len(s["preds"]):
            self.preds = [s["preds"].to(self.device)]
            self.targets = [s["targets"].to(self.device)]

    def sums(self) -> torch.Tensor:
        """The sufficient statistics as one float64 vector (CPU): [n, loss, …task sums]."""
        head = [float(self.n), self._loss_total()]
        if self.task == "classification":
            if self.preds:
                pred, y = torch.cat(self.preds).cpu().long(), torch.cat(self.targets).cpu().long()
                cm = torch.bincount(y * self.c + pred, minlength=self.c * self.c).double()
            else:
                cm = torch.zeros(self.c * self.c, dtype=torch.float64)
            return torch.cat([torch.tensor(head, dtype=torch.float64), cm])
        k = self.k
        if self.preds:
            p = torch.cat(self.preds).cpu().reshape(self.n, -1).double()
            t = torch.cat(self.targets).cpu().reshape(self.n, -1).double()
            k = p.shape[1]
            body = torch.cat([((p - t) ** 2).sum(0), (p - t).abs().sum(0), t.sum(0), (t**2).sum(0)])
        else:
            body = torch.zeros(4 * k, dtype=torch.float64)
        return torch.cat([torch.tensor(head, dtype=torch.float64), body])

    def compute(self, confusion: bool = False, reduce: Reduce | None = None) -> dict[str, Any]:
        """The metrics; ``reduce`` adds the sums of all ranks (data-parallel training)."""
        s = self.sums()
        if reduce is not None:
            s = reduce(s)
        n = int(s[0].item())
        if n == 0:
            return {}
        out: dict[str, Any] = {"loss": float(s[1]) / n}
        body = s[2:].numpy()
        if self.task == "classification":
            cm = body.reshape(self.c, self.c).round().astype(np.int64)
            out.update(classification_metrics(cm))
            if confusion:
                out["confusion_matrix"] = cm.tolist()
            return out
        se, ae, st, st2 = body.reshape(4, -1)
        var = st2 - st * st / n  # Σ(t - mean)², from the moments every rank can add
        r2 = np.where(
            var > 1e-12 * np.maximum(st2, 1.0), 1.0 - se / np.where(var > 0, var, 1.0), 0.0
        )
        out["mse"] = float(se.mean() / n)
        out["mae"] = float(ae.mean() / n)
        out["rmse"] = float(np.sqrt(se.mean() / n))
        out["r2"] = float(r2.mean())
        return out


def classification_metrics(cm: np.ndarray) -> dict[str, float]:
    """Accuracy and macro precision/recall/F1 from a confusion matrix (rows: true class).

    Classes absent from both truth and predictions are left out of the macro average,
    like scikit-learn with ``labels`` set to the present ones.
    """
    cm = cm.astype(np.float64)
    tp = np.diag(cm)
    pred = cm.sum(0)
    true = cm.sum(1)
    present = (pred + true) > 0
    precision = np.divide(tp, pred, out=np.zeros_like(tp), where=pred > 0)
    recall = np.divide(tp, true, out=np.zeros_like(tp), where=true > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    total = cm.sum()
    m = present if present.any() else np.ones_like(present)
    return {
        "accuracy": float(tp.sum() / total) if total else 0.0,
        "precision": float(precision[m].mean()),
        "recall": float(recall[m].mean()),
        "f1": float(f1[m].mean()),
    }
