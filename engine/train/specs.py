"""From the project's loss and optimizer nodes to the runtime's typed specs.

The catalog declares each loss and optimizer once (torch's class, its parameters, what the
loss wants as targets); this is the one place that turns a node into the runtime's
``LossSpec`` / ``OptimizerSpec``. The session, evaluation, inference and exported scripts
all build their torch objects from those specs, so none of them re-reads the catalog.
"""

from __future__ import annotations

from typing import Any

import torch

from engine import catalog
from engine.runtime.head import Head, LossSpec, OptimizerSpec
from engine.runtime.loop import LoopSettings


def loss_spec(loss_type: str, params: dict[str, Any]) -> LossSpec:
    """The loss node as a spec: torch's constructor arguments and how targets/readout work."""
    spec = catalog.get(loss_type)
    kw: dict[str, Any] = {p.name: params[p.name] for p in spec.params if p.ctor}
    kw.update(spec.extra.get("fixed_kw", {}))
    if params.get("weight"):
        kw["weight"] = [float(w) for w in params["weight"]]
    if loss_type == "BCEWithLogitsLoss" and params.get("pos_weight", 1.0) != 1.0:
        kw["pos_weight"] = float(params["pos_weight"])
    return LossSpec(
        type=loss_type,
        kwargs=kw,
        target=spec.extra.get("target", "onehot"),
        readout=spec.extra.get("outputs", "values"),
    )


def optimizer_spec(
    opt_type: str,
    params: dict[str, Any],
    graph: Any = None,
    node_of_attr: dict[str, str] | None = None,
) -> OptimizerSpec:
    """The optimizer node as a spec: constructor arguments, then its schedule's parameters.

    With the ``graph`` and the compiled model's ``node_of_attr`` (attribute → node id), the
    nodes' ``frozen`` and ``lr_scale`` become the spec's ``frozen`` / ``lr_scales``, by the
    attribute names the runtime sees (it knows nothing of nodes).
    """
    spec = catalog.get(opt_type)
    kw: dict[str, Any] = {}
    schedule: dict[str, Any] = {}
    for p in spec.params:
        v = params[p.name]
        if p.ctor:
            kw[p.name] = list(v) if isinstance(v, list | tuple) else v
        else:
            schedule[p.name] = v
    frozen, scales = node_training(graph, node_of_attr) if graph is not None else ((), {})
    return OptimizerSpec(
        type=opt_type, kwargs=kw, schedule=schedule, frozen=frozen, lr_scales=scales
    )


def node_training(
    graph: Any, node_of_attr: dict[str, str] | None
) -> tuple[tuple[str, ...], dict[str, float]]:
    """The frozen attributes and the attributes' learning-rate scales (non-default only)."""
    frozen: list[str] = []
    scales: dict[str, float] = {}
    for attr, nid in (node_of_attr or {}).items():
        node = graph.nodes.get(nid)
        if node is None:
            continue
        if node.frozen:
            frozen.append(attr)
        elif node.lr_scale != 1.0:
            scales[attr] = float(node.lr_scale)
    return tuple(frozen), scales


def make_head(
    loss_type: str,
    params: dict[str, Any],
    task: str,
    n_classes: int,
    out_shape: tuple[int, ...],
    device: torch.device | str,
    target_mean: list[float] | None = None,
    target_std: list[float] | None = None,
) -> Head:
    """The runtime's loss head for a loss node."""
    return Head(
        loss_spec(loss_type, params),
        task,
        n_classes,
        out_shape,
        torch.device(device),
        target_mean,
        target_std,
    )


def loop_settings(settings: dict[str, Any]) -> LoopSettings:
    """The loop's typed settings from a project's resolved training settings."""
    return LoopSettings(
        epochs=int(settings["epochs"]),
        monitor=str(settings["monitor"]),
        min_delta=float(settings["min_delta"]),
        early_stopping=bool(settings["early_stopping"]),
        patience=int(settings["patience"]),
        grad_clip=float(settings["grad_clip"]),
        amp=bool(settings["amp"]),
        keep_best=settings["checkpoint"] == "best_and_last",
        sync_batchnorm=bool(settings.get("sync_batchnorm", False)),
    )
