"""Baking a checkpoint's fitted preprocessing into the exported graph.

The baked model takes the features as they come *before* the fitted numeric steps
(missing values as NaN, numbers in their own units) and replays, inside the graph, what
training fitted on the train split: Clean's fill values and clipping, Standardize,
MinMaxScale, in chain order. For regression trained on standardized targets it also turns
the output back into target units. Text is not a tensor, so one-hot encoding stays
outside: the baked model takes one-hot columns as 0/1, in ``feature_names`` order, and the
categories are listed in the ONNX metadata (``preprocessing``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from engine.export.errors import ExportError
from engine.export.source import Source


class Preprocessed(nn.Module):
    """``model`` behind the fitted preprocessing of input ``index``; same inputs otherwise."""

    def __init__(
        self,
        model: nn.Module,
        index: int,
        ops: list[tuple[str, torch.Tensor, torch.Tensor]],
        target: tuple[torch.Tensor, torch.Tensor] | None,
    ) -> None:
        super().__init__()
        self.model = model
        self.index = index
        self.kinds = [k for k, _, _ in ops]
        for i, (_, a, b) in enumerate(ops):
            self.register_buffer(f"a{i}", a)
            self.register_buffer(f"b{i}", b)
        self.unscale = target is not None
        if target is not None:
            self.register_buffer("target_std", target[0])
            self.register_buffer("target_mean", target[1])
        self.torchwire = getattr(model, "torchwire", None)

    def forward(self, *inputs: torch.Tensor) -> Any:
        xs = list(inputs)
        x = xs[self.index]
        for i, kind in enumerate(self.kinds):
            a, b = getattr(self, f"a{i}"), getattr(self, f"b{i}")
            if kind == "fill":  # a: fill values (NaN where none), b unused
                x = torch.where(torch.isnan(x), a, x)
            elif kind == "clip":  # a: lower, b: upper bounds
                x = torch.minimum(torch.maximum(x, a), b)
            elif kind == "standardize":  # a: mean, b: std
                x = (x - a) / b
            else:  # "affine": a: scale, b: shift
                x = x * a + b
        xs[self.index] = x
        out = self.model(*xs)
        if self.unscale:
            out = out * self.target_std + self.target_mean
        return out


def baked_model(src: Source) -> nn.Module:
    """The compiled model with the checkpoint's preprocessing in front of it."""
    rec = src.preprocessing
    if src.checkpoint is None or not isinstance(rec, dict):
        raise ExportError(
            "baking the preprocessing needs a checkpoint: its statistics are fitted on the "
            "training split when the project is trained"
        )
    info = src.info
    index = _data_input(src)
    shape = tuple(info.input_shapes[index])
    if not info.input_dtypes[index].is_floating_point:
        raise ExportError("the preprocessing feeds an integer input; there is nothing to bake")
    names = rec.get("feature_names")
    if rec.get("feature_shape") and tuple(rec["feature_shape"]) != shape:
        raise ExportError(
            f"the checkpoint's features have shape {tuple(rec['feature_shape'])}, the model's "
            f"input {shape}; was the checkpoint trained on another version of the project?"
        )
    ops: list[tuple[str, torch.Tensor, torch.Tensor]] = []
    target = None
    baked: list[str] = []
    for step in rec.get("steps", []):
        t = step.get("type")
        new = _ops_of(step, shape, names)
        if new:
            ops += new
            baked.append(t)
        if t == "Standardize" and step.get("target_mean") is not None:
            target = _target(src, step)
    model = Preprocessed(src.module, index, ops, target)
    model.baked_steps = baked  # type: ignore[assignment]
    return model


def _data_input(src: Source) -> int:
    info = src.info
    if src.graph is not None:
        for i, name in enumerate(info.input_names):
            nid = info.node_of_attr.get(name)
            if nid and any(e.dst_port == "data" for e in src.graph.in_edges(nid)):
                return i
    if len(info.input_names) == 1:
        return 0
    raise ExportError("cannot tell which model input the preprocessing feeds")


def _t(values: Any, shape: tuple[int, ...]) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float32).reshape(shape))


def _per_column(
    values: dict[str, float] | None, names: list[str] | None, shape: tuple[int, ...], default: float
) -> torch.Tensor | None:
    """A feature vector holding ``values`` at their columns' places, ``default`` elsewhere."""
    if not values:
        return None
    if not names or len(shape) != 1 or len(names) != shape[0]:
        raise ExportError("the checkpoint's table preprocessing does not match the model's input")
    out = np.full(shape, default, dtype=np.float32)
    hit = False
    for c, v in values.items():
        if c in names and not isinstance(v, str):
            out[names.index(c)] = float(v)
            hit = True
    return torch.as_tensor(out) if hit else None


def _ops_of(
    step: dict[str, Any], shape: tuple[int, ...], names: list[str] | None
) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    t = step.get("type")
    nan = torch.full(shape, float("nan"))
    if t == "Clean":
        ops = []
        if step.get("fill_array") is not None:
            ops.append(("fill", _t(step["fill_array"], shape), nan))
        else:
            fill = _per_column(step.get("fill"), names, shape, float("nan"))
            if fill is not None:
                ops.append(("fill", fill, nan))
        if step.get("clip_array") is not None:
            lo, hi = step["clip_array"]
            ops.append(("clip", _t(lo, shape), _t(hi, shape)))
        elif step.get("clip"):
            clip = step["clip"]
            lo = _per_column({c: v[0] for c, v in clip.items()}, names, shape, -np.inf)
            hi = _per_column({c: v[1] for c, v in clip.items()}, names, shape, np.inf)
            if lo is not None and hi is not None:
                ops.append(("clip", lo, hi))
        return ops
    if t == "Standardize":
        if step.get("columns") is not None:
            cols = step["columns"]
            mean = _per_column(dict(zip(cols, step["mean"], strict=True)), names, shape, 0.0)
            std = _per_column(dict(zip(cols, step["std"], strict=True)), names, shape, 1.0)
            if mean is None or std is None:
                return []
            return [("standardize", mean, std)]
        m = np.asarray(step["mean"], dtype=np.float32)
        s = np.asarray(step["std"], dtype=np.float32)
        if step.get("per") == "channel":
            view = (-1,) + (1,) * (len(shape) - 1)
            return [
                ("standardize", torch.as_tensor(m.reshape(view)), torch.as_tensor(s.reshape(view)))
            ]
        return [("standardize", _t(m, shape), _t(s, shape))]
    if t == "MinMaxScale":
        lo_out, hi_out = float(step["min"]), float(step["max"])
        dmin = np.asarray(step["data_min"], dtype=np.float64)
        dmax = np.asarray(step["data_max"], dtype=np.float64)
        rng = np.where(dmax - dmin > 1e-12, dmax - dmin, 1.0)
        scale = (hi_out - lo_out) / rng
        shift = lo_out - dmin * scale
        if step.get("columns") is not None:
            cols = step["columns"]
            a = _per_column(dict(zip(cols, scale.tolist(), strict=True)), names, shape, 1.0)
            b = _per_column(dict(zip(cols, shift.tolist(), strict=True)), names, shape, 0.0)
            if a is None or b is None:
                return []
            return [("affine", a, b)]
        return [("affine", _t(scale, shape), _t(shift, shape))]
    return []  # OneHot (text stays outside the graph), and steps without statistics


def _target(src: Source, step: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor] | None:
    info = src.info
    mean = np.asarray(step["target_mean"], dtype=np.float32)
    std = np.asarray(step["target_std"], dtype=np.float32)
    if len(info.output_names) != 1 or tuple(info.output_shapes[0]) != (len(mean),):
        raise ExportError(
            "the targets were standardized for training, but the model's output "
            f"{tuple(info.output_shapes[0])} does not match the {len(mean)} target(s)"
        )
    return torch.as_tensor(std), torch.as_tensor(mean)
