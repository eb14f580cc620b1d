"""Standalone pieces of an exported training script (numpy, pandas, scikit-learn and torch
only): they are copied into the script verbatim with ``inspect.getsource``, next to the
engine's own data-loading and preprocessing functions, so this module imports nothing
from the engine and every function here must run on its own.

The names they use at run time (``DATASET``, ``STEPS``, ``TRAINING``, ``LOSS_TARGET``,
``make_loss``, ``make_optimizer``, the model class) are written by
``engine.export.training_code`` into the script.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

# Filled in by the generated script; defined here so this module can be linted and tested.
DATASET: dict[str, Any] = {}
STEPS: list[dict[str, Any]] = []
TRAINING: dict[str, Any] = {}
LOSS_TARGET: dict[str, Any] = {}


class DataError(ValueError):
    """A problem with the data; the message names the file, column or row."""

    def __init__(self, message: str, node: Any = None) -> None:
        super().__init__(message)
        self.node = node


def load_raw() -> Any:
    """The dataset as the project loads it (before any preprocessing)."""
    kind, p, path = DATASET["type"], DATASET["params"], DATASET["path"]
    if path is not None and not os.path.isabs(path):
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), path)
    if kind in ("Iris", "Digits", "Wine", "BreastCancer", "Diabetes"):
        return _sklearn(kind)  # noqa: F821  (copied into the script)
    if kind in ("Moons", "Circles", "Blobs", "Regression"):
        return _generator(kind, p)  # noqa: F821
    if kind == "CSVDataset":
        return load_csv(p, path)  # noqa: F821
    return load_npz(p, path)  # noqa: F821


def prepare_data() -> dict[str, Any]:
    """Load, clean, split, then fit each preprocessing step on the training split only.

    Returns the float32 features and targets of each split ("train", "val", "test"), the
    fitted steps, and the batching settings.
    """
    raw = load_raw()
    x, y = raw.x, raw.y
    for s in STEPS:  # 1. row operations on the whole dataset
        if s["type"] != "Clean":
            continue
        if s["params"]["missing"] == "drop":
            if isinstance(x, pd.DataFrame):
                keep = ~x.isna().any(axis=1).to_numpy()
            else:
                keep = ~np.isnan(np.asarray(x, np.float64).reshape(len(x), -1)).any(axis=1)
            x, y = _subset(x, np.flatnonzero(keep)), y[keep]  # noqa: F821
        if s["params"]["drop_duplicates"]:
            flat = (
                x
                if isinstance(x, pd.DataFrame)
                else pd.DataFrame(np.asarray(x).reshape(len(x), -1))
            )
            keep = ~flat.assign(__target__=list(map(str, y.tolist()))).duplicated().to_numpy()
            x, y = _subset(x, np.flatnonzero(keep)), y[keep]  # noqa: F821
    split = next((s["params"] for s in STEPS if s["type"] == "Split"), None)  # 2. the split
    split = split or {"val": 0.15, "test": 0.15, "stratify": True, "seed": 0}
    idx = _split(y, raw.task, split, [], None)  # noqa: F821
    xs = {k: _subset(x, i) for k, i in idx.items()}  # noqa: F821
    ys = {k: y[i] for k, i in idx.items()}
    fitted, target_transform, augment = [], None, None
    batch = {"batch_size": 64, "shuffle": True, "drop_last": False}
    for s in STEPS:  # 3. fitted steps, in chain order, fitted on the training split
        if s["type"] == "Batch":
            batch = {k: s["params"][k] for k in batch}
            continue
        if s["type"] == "Augment":  # random flips/crops/rotations of training batches
            augment = s["params"]
            continue
        t = from_node(s["type"], s["params"])  # noqa: F821
        if t is None:
            continue
        t.fit(xs["train"], ys["train"], raw.task)
        xs = {k: t.apply(v) for k, v in xs.items()}
        if getattr(t, "y_mean", None) is not None:  # standardized regression targets
            ys = {k: t.apply_y(v) for k, v in ys.items()}
            target_transform = t
        fitted.append(t)
    for k, v in xs.items():  # the features as float32 arrays
        if isinstance(v, pd.DataFrame):
            texts = text_columns(v)  # noqa: F821
            if texts:
                raise DataError(f"columns {', '.join(texts)} hold text the model cannot take")
            v = v.to_numpy(dtype=np.float32)
        xs[k] = np.asarray(v, dtype=np.float32)
    return {
        "x": xs,
        "y": ys,
        "task": raw.task,
        "class_names": list(raw.class_names),
        "fitted": fitted,
        "batch": batch,
        "augment": augment,
        "target_transform": target_transform,
    }


def loss_target(y: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Targets in the form the loss wants: class indices, one-hot rows or values."""
    if LOSS_TARGET["task"] == "regression":
        return y.reshape(out.shape).to(out.dtype)
    if LOSS_TARGET["target"] == "index":
        return y
    if tuple(out.shape[1:]) == (1,):  # one logit for two classes
        return y.to(out.dtype).unsqueeze(1)
    return nn.functional.one_hot(y, LOSS_TARGET["classes"]).to(out.dtype)


def predicted(out: torch.Tensor) -> torch.Tensor:
    """Class indices (classification) or the outputs as values (regression)."""
    if LOSS_TARGET["task"] == "regression":
        return out.reshape(len(out), -1)
    if tuple(out.shape[1:]) == (1,):
        return (out.reshape(-1) > 0).long()
    return out.argmax(1)


@torch.no_grad()
def evaluate(model: nn.Module, loss_fn: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict:
    """Mean loss, and accuracy (classification) or mean squared error (regression)."""
    was = model.training
    model.eval()
    total, hits, sq, n = 0.0, 0.0, 0.0, 0
    for i in range(0, len(x), 512):
        xb, yb = x[i : i + 512], y[i : i + 512]
        out = model(xb)
        total += float(loss_fn(out, loss_target(yb, out))) * len(yb)
        pred = predicted(out)
        if LOSS_TARGET["task"] == "regression":
            sq += float(((pred - yb.reshape(pred.shape)) ** 2).mean(1).sum())
        else:
            hits += float((pred == yb).sum())
        n += len(yb)
    model.train(was)
    key = "mse" if LOSS_TARGET["task"] == "regression" else "accuracy"
    return {"loss": total / max(n, 1), key: (sq if key == "mse" else hits) / max(n, 1)}


def train(weights: str | None = None, epochs: int | None = None, log: Any = print) -> nn.Module:
    """Train as the project does: same data, split, fitted preprocessing, seed, model,
    loss, optimizer, learning-rate schedule, batching and stopping rule. Returns the model
    with the best weights by the monitored metric (else the last)."""
    data = prepare_data()
    epochs = epochs or TRAINING["epochs"]
    seed = TRAINING["seed"]
    if TRAINING["cpu_threads"] > 0:  # as the project trains: this also fixes float rounding
        torch.set_num_threads(TRAINING["cpu_threads"])
    torch.manual_seed(seed)
    model = build_model(weights).train()  # noqa: F821  (the script's builder)
    loss_fn = make_loss()  # noqa: F821
    optimizer = make_optimizer(model)  # noqa: F821
    ydt = torch.int64 if data["task"] == "classification" else torch.float32
    x = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in data["x"].items()}
    y = {k: torch.from_numpy(np.ascontiguousarray(v)).to(ydt) for k, v in data["y"].items()}
    n = len(x["train"])
    bs = max(1, min(data["batch"]["batch_size"], n))
    drop_last = data["batch"]["drop_last"] and n >= bs
    n_batches = n // bs if drop_last else math.ceil(n / bs)
    opt_params = OPTIMIZER["params"]  # noqa: F821
    schedule = LRSchedule(opt_params, opt_params["lr"], epochs, n_batches)  # noqa: F821
    monitor = TRAINING["monitor"]
    if monitor.startswith("val_") and len(y["val"]) == 0:
        monitor = "train_" + monitor[4:]
    lower = monitor.split("_", 1)[-1] in ("loss", "mse", "mae")
    data_gen = torch.Generator().manual_seed(seed)  # batch order, apart from the model's RNG
    aug_gen = torch.Generator().manual_seed(seed + 1)  # augmentation draws
    best, best_state, bad_epochs, step = None, None, 0, 0
    for epoch in range(1, epochs + 1):
        model.train()
        xs, ys = x["train"], y["train"]
        if data["batch"]["shuffle"]:
            perm = torch.randperm(n, generator=data_gen)
            xs, ys = xs.index_select(0, perm), ys.index_select(0, perm)
        for b in range(n_batches):
            xb, yb = xs[b * bs : (b + 1) * bs], ys[b * bs : (b + 1) * bs]
            lr = schedule.lr(step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            if data["augment"] is not None:
                xb = augment_batch(xb, data["augment"], aug_gen)  # noqa: F821
            out = model(xb)
            loss = loss_fn(out, loss_target(yb, out))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if TRAINING["grad_clip"] > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), TRAINING["grad_clip"])
            optimizer.step()
            step += 1
        row = {f"train_{k}": v for k, v in evaluate(model, loss_fn, x["train"], y["train"]).items()}
        if len(y["val"]):
            row.update(
                {f"val_{k}": v for k, v in evaluate(model, loss_fn, x["val"], y["val"]).items()}
            )
        log(f"epoch {epoch}/{epochs}  " + "  ".join(f"{k} {v:.4f}" for k, v in row.items()))
        value = row.get(monitor, row.get("val_loss", row["train_loss"]))
        schedule.epoch_end(value, lower)
        delta = TRAINING["min_delta"]
        if best is None or (value < best - delta if lower else value > best + delta):
            best, bad_epochs = value, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
        if TRAINING["early_stopping"] and bad_epochs >= TRAINING["patience"]:
            log(f"early stopping: {monitor} has not improved for {bad_epochs} epochs")
            break
    last_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if TRAINING["keep_best"] and best_state is not None:
        model.load_state_dict(best_state)
    split = "test" if len(y["test"]) else "val" if len(y["val"]) else "train"
    metrics = evaluate(model, loss_fn, x[split], y[split])
    log(f"{split}: " + "  ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    model.last_state = last_state  # the weights after the last epoch, for comparison
    return model.eval()
