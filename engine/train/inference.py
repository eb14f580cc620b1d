"""Evaluation and prediction with a trained checkpoint, with the training's preprocessing
replayed exactly (the fitted statistics stored in the checkpoint, never refitted).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from engine.analysis.check import check
from engine.build.compile import compile_model
from engine.data.errors import DataError
from engine.data.pipeline import base_dir_of, chain_of, features_for_inference, prepare
from engine.graph import GraphError
from engine.project import ProjectError
from engine.runtime.batches import InMemoryBatches, StreamingBatches
from engine.runtime.device import pick_device
from engine.runtime.loop import evaluate as run_evaluation
from engine.train.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from engine.train.errors import TrainError
from engine.train.graphs import as_graph
from engine.train.specs import make_head


@dataclass
class Prediction:
    """``labels``: class names (classification) or values (regression), one per sample.

    ``warnings``: what the data held that the model could take but not as trained (a
    category training never saw, an infinite value Clean clipped); the prediction stands,
    every surface shows them.
    """

    task: str
    labels: list[Any]
    probabilities: np.ndarray | None
    class_names: list[str]
    values: np.ndarray | None = None  # raw model outputs (regression: in target units)
    sources: list[str] | None = None  # image files, in order, when predicting on a folder
    warnings: list[str] = field(default_factory=list)  # about the data, e.g. unseen categories

    def to_rows(self) -> list[dict[str, Any]]:
        rows = []
        for i, lab in enumerate(self.labels):
            r: dict[str, Any] = {"prediction": lab}
            if self.sources is not None:
                r["file"] = self.sources[i]
            if self.probabilities is not None:
                for j, c in enumerate(self.class_names):
                    r[f"p({c})"] = float(self.probabilities[i, j])
            rows.append(r)
        return rows


def setup(graph_or_path: Any, checkpoint: Any) -> tuple[Any, Any, Any, Checkpoint, Any]:
    try:
        ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)
    except CheckpointError as e:
        raise TrainError(str(e), kind="data", file=e.file) from None
    if graph_or_path is not None:
        g = as_graph(graph_or_path)
    else:
        try:
            g = ckpt.project()
        except ProjectError as e:
            raise _damaged(ckpt, f"its project cannot be read: {e}") from None
    rep = check(g)
    plan = rep.training.plan if rep.training else None
    if plan is None or not rep.ok:
        reasons = (rep.training.messages if rep.training else []) or [d.message for d in rep.errors]
        raise TrainError("the project cannot be used: " + "; ".join(reasons))
    try:
        model = compile_model(g, rep)
    except GraphError as e:
        raise TrainError(str(e)) from None
    try:
        model.load_state_dict(ckpt.state_dict)
    except RuntimeError:
        raise TrainError(
            f"{ckpt.path}: the checkpoint's weights do not fit this project's model",
            file=ckpt.path,
        ) from None
    model.eval()
    return g, rep, plan, ckpt, model


def _damaged(ckpt: Checkpoint, reason: str) -> TrainError:
    """A checkpoint that loaded but whose contents do not add up (edited or damaged)."""
    return TrainError(
        f"{ckpt.path} is not a valid Torchwire checkpoint ({reason})", kind="data", file=ckpt.path
    )


# What replaying a damaged preprocessing record raises (a missing statistic, a wrong type).
_RECORD_ERRORS = (KeyError, TypeError, IndexError, ValueError, AttributeError)


def _head(g: Any, rep: Any, plan: Any, ckpt: Checkpoint, device: torch.device) -> Any:
    lnode = g.nodes[plan.loss]
    tm = ts = None
    for s in ckpt.preprocessing.get("steps", []):
        if s.get("target_mean") is not None:
            tm, ts = s["target_mean"], s.get("target_std")
            if not isinstance(tm, int | float | list) or not isinstance(ts, int | float | list):
                raise _damaged(ckpt, "its target scaling is not numbers")
    try:
        return make_head(
            lnode.type,
            lnode.params,
            ckpt.task,
            len(ckpt.class_names),
            tuple(rep.shapes[plan.output]),
            device,
            tm,
            ts,
        )
    except (TypeError, ValueError, RuntimeError) as e:
        raise _damaged(ckpt, f"its target scaling cannot be used: {type(e).__name__}") from None


def evaluate(
    graph_or_path: Any, checkpoint: Any, split: str = "test", device: str = "cpu"
) -> dict[str, Any]:
    """Metrics of the checkpoint on a split of the project's data ("train", "val", "test")."""
    if split not in ("train", "val", "test"):
        raise TrainError(f"split must be train, val or test, not {split!r}")
    g, rep, plan, ckpt, model = setup(graph_or_path, checkpoint)
    try:
        dev = pick_device(device)
    except RuntimeError as e:
        raise TrainError(str(e)) from None
    try:
        prep = prepare(chain_of(g, plan.data), fitted=ckpt.preprocessing.get("steps", []))
    except DataError as e:
        raise TrainError(str(e)) from None
    except _RECORD_ERRORS as e:
        raise _damaged(ckpt, f"its preprocessing record is damaged: {type(e).__name__}") from None
    info = prep.info
    if len(prep.y[split]) == 0:
        raise TrainError(f"the {split} split is empty (see the Split node)")
    model.to(dev)
    head = _head(g, rep, plan, ckpt, dev)
    if info.streaming:
        loader: Any = StreamingBatches(
            prep.x[split], prep.y[split], prep.image or {}, 256, False, False, dev, prep.fitted
        )
    else:
        ydt = torch.int64 if info.task == "classification" else torch.float32
        loader = InMemoryBatches(
            torch.from_numpy(np.ascontiguousarray(prep.x[split])).to(dev),
            torch.from_numpy(np.ascontiguousarray(prep.y[split])).to(dev, ydt),
            1024,
        )
    n_targets = int(np.prod(info.target_shape)) if info.target_shape else 1
    metrics, samples = run_evaluation(
        model, head, loader, info.task, info.n_classes, dev, n_targets=n_targets,
        confusion=True, samples=2000 if info.task == "regression" else 0,
    )  # fmt: skip
    if samples is not None:
        metrics["y_true"], metrics["y_pred"] = samples
    return metrics


def predict(
    graph_or_path: Any, checkpoint: Any, data: Any, device: str = "cpu", batch_size: int = 1024
) -> Prediction:
    """Predict on new data: a CSV path, an image folder, an .npz, an array or a list of rows.

    A CSV needs the training's feature columns (a target column, if present, is ignored).
    """
    g, rep, plan, ckpt, model = setup(graph_or_path, checkpoint)
    try:
        dev = pick_device(device)
    except RuntimeError as e:
        raise TrainError(str(e)) from None
    model.to(dev)
    if isinstance(data, (str, os.PathLike)) and not os.path.exists(str(data)):
        raise TrainError(f"{data}: no such file or folder")
    warnings: list[str] = []
    try:
        x, files = features_for_inference(ckpt.preprocessing, data, base_dir_of(g), warnings)
    except DataError as e:
        raise TrainError(str(e)) from None
    except _RECORD_ERRORS as e:
        raise _damaged(ckpt, f"its preprocessing record is damaged: {type(e).__name__}") from None
    head = _head(g, rep, plan, ckpt, dev)
    outs = []
    with torch.no_grad():
        xt = torch.from_numpy(np.ascontiguousarray(x))
        for i in range(0, len(xt), batch_size):
            outs.append(model(xt[i : i + batch_size].to(dev)).float())
    out = torch.cat(outs) if outs else torch.zeros(0)
    if ckpt.task == "classification":
        probs = head.probabilities(out).cpu().numpy()
        idx = head.predict(out).cpu().numpy()
        if idx.size and int(idx.max()) >= len(ckpt.class_names):
            raise _damaged(ckpt, f"it names {len(ckpt.class_names)} classes, the model has more")
        labels = [ckpt.class_names[int(i)] for i in idx]
        return Prediction(
            "classification",
            labels,
            probs,
            list(ckpt.class_names),
            out.cpu().numpy(),
            files,
            warnings,
        )
    vals = head.predict(out).cpu().numpy()
    labels = [float(v[0]) if vals.shape[1] == 1 else v.tolist() for v in vals]
    return Prediction("regression", labels, None, [], vals, files, warnings)
