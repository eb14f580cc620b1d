"""Metrics accumulated on the device without synchronizing per batch: a confusion matrix for
classification; error sums for regression. ``compute()`` syncs once, at the end of an epoch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


class Accumulator:
    """Loss and task metrics over many batches."""

    def __init__(self, task: str, n_classes: int, device: torch.device, n_targets: int = 1):
        self.task, self.c, self.device = task, n_classes, device
        self.k = n_targets
        self.reset()

    def reset(self) -> None:
        d = self.device
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=d)
        self.n = torch.zeros((), dtype=torch.int64, device=d)
        if self.task == "classification":
            self.cm = torch.zeros(self.c * self.c, dtype=torch.int64, device=d)
        else:
            z = lambda: torch.zeros(self.k, dtype=torch.float64, device=d)  # noqa: E731
            self.se, self.ae, self.sy, self.syy = z(), z(), z(), z()

    @torch.no_grad()
    def add(self, loss: torch.Tensor, pred: torch.Tensor, y: torch.Tensor) -> None:
        """``pred``: class indices, or values in the targets' units (N, k)."""
        b = y.shape[0]
        self.loss_sum += loss.detach().double() * b
        self.n += b
        if self.task == "classification":
            self.cm += torch.bincount(y * self.c + pred, minlength=self.c * self.c)
        else:
            p = pred.reshape(b, -1).double()
            t = y.reshape(b, -1).double()
            self.se += ((p - t) ** 2).sum(0)
            self.ae += (p - t).abs().sum(0)
            self.sy += t.sum(0)
            self.syy += (t * t).sum(0)

    def state(self) -> dict[str, torch.Tensor]:
        if self.task == "classification":
            return {"loss_sum": self.loss_sum, "n": self.n, "cm": self.cm}
        return {
            "loss_sum": self.loss_sum,
            "n": self.n,
            "se": self.se,
            "ae": self.ae,
            "sy": self.sy,
            "syy": self.syy,
        }

    def load_state(self, s: dict[str, torch.Tensor]) -> None:
        for k, v in s.items():
            getattr(self, k).copy_(v.to(self.device))

    def compute(self, confusion: bool = False) -> dict[str, Any]:
        n = int(self.n.item())
        if n == 0:
            return {}
        out: dict[str, Any] = {"loss": float(self.loss_sum.item() / n)}
        if self.task == "classification":
            cm = self.cm.view(self.c, self.c).cpu().numpy()
            out.update(classification_metrics(cm))
            if confusion:
                out["confusion_matrix"] = cm.tolist()
        else:
            se, ae = self.se.cpu().numpy(), self.ae.cpu().numpy()
            sy, syy = self.sy.cpu().numpy(), self.syy.cpu().numpy()
            var = syy - sy * sy / n
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
