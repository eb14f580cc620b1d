"""Metrics accumulated on the device without synchronizing per batch: a confusion matrix for
classification; error sums for regression. ``compute()`` syncs once, at the end of an epoch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


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

    def compute(self, confusion: bool = False) -> dict[str, Any]:
        n = self.n
        if n == 0:
            return {}
        out: dict[str, Any] = {"loss": self._loss_total() / n}
        # once per epoch, on the CPU (float64 sums; MPS has no float64)
        pred, y = torch.cat(self.preds).cpu(), torch.cat(self.targets).cpu()
        if self.task == "classification":
            cm_t = torch.bincount(y.long() * self.c + pred.long(), minlength=self.c * self.c)
            cm = cm_t.view(self.c, self.c).cpu().numpy()
            out.update(classification_metrics(cm))
            if confusion:
                out["confusion_matrix"] = cm.tolist()
        else:
            p = pred.reshape(n, -1).double()
            t = y.reshape(n, -1).double()
            se = ((p - t) ** 2).sum(0).cpu().numpy()
            ae = (p - t).abs().sum(0).cpu().numpy()
            var = ((t - t.mean(0)) ** 2).sum(0).cpu().numpy()
            r2 = np.where(var > 0, 1.0 - se / np.where(var > 0, var, 1.0), 0.0)
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
