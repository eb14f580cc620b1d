"""Memory: a model whose weights (and training state) cannot fit is an error before anything
is allocated; the check reports each node's parameter memory."""

from __future__ import annotations

import functools
import math
import os

import torch

from engine.analysis.report import CheckContext, fmt_shape
from engine.catalog.settings import TRAINING_SETTINGS
from engine.graph import Graph

_TRAINING_FACTOR = {"Adam": 4, "AdamW": 4, "RMSprop": 3, "Adagrad": 3}
GB = 1024**3


def check_memory(ctx: CheckContext) -> None:
    """Weights over the memory limit: an error on the biggest nodes, before allocating.

    Training needs the weights' gradients and the optimizer's state too; that total over
    the limit is only a warning (activations and the batch are not counted at all).
    """
    rep, g = ctx.report, ctx.graph
    total = rep.total_param_bytes
    limit, where = memory_limit(g)
    for nid in rep.model_nodes:  # one sample's output alone too big (e.g. 10^8 channels)
        shape, dtype = rep.shapes[nid], rep.dtypes[nid]
        out = math.prod(shape) * dtype.itemsize
        if out > limit:
            rep.error(
                nid,
                f"{g.nodes[nid].name}: its output for one sample {fmt_shape(shape)} needs "
                f"{format_bytes(out)}, more than the {format_bytes(limit)} {where}",
            )
    if total == 0:
        return
    biggest = sorted(rep.param_bytes, key=rep.param_bytes.__getitem__, reverse=True)
    if total > limit:
        # blame the few nodes that make most of it (each alone over the limit, or the
        # top ones until they are half the total), never fewer than one
        blamed, acc = [], 0
        for nid in biggest:
            b = rep.param_bytes[nid]
            if blamed and b <= limit and (acc >= total / 2 or len(blamed) >= 5):
                break
            blamed.append(nid)
            acc += b
        for nid in blamed:
            node = g.nodes[nid]
            alone = rep.param_bytes[nid]
            rep.error(
                nid,
                f"{node.name}: its weights need {format_bytes(alone)}"
                + ("" if alone == total else f" of the model's {format_bytes(total)}")
                + f", more than the {format_bytes(limit)} {where}; make it smaller",
            )
        return
    factor, opt = _training_factor(g)
    if total * factor > limit:
        nid = biggest[0]
        rep.warn(
            nid,
            f"{g.nodes[nid].name}: training this model needs about "
            f"{format_bytes(total * factor)} (weights {format_bytes(total)} × {factor} "
            f"with gradients and {opt} state), more than the {format_bytes(limit)} {where}",
        )


def _training_factor(g: Graph) -> tuple[int, str]:
    for n in g.nodes.values():
        if n.spec.kind == "optimizer":
            if n.type in _TRAINING_FACTOR:
                return _TRAINING_FACTOR[n.type], n.type
            momentum = n.params.get("momentum", 0) or 0
            return (3 if momentum > 0 else 2), n.type
    return 4, "Adam-like optimizer"


def memory_limit(g: Graph) -> tuple[int, str]:
    """The most bytes a model's weights may take, and the words naming that limit.

    ``max_model_memory_gb`` in the training settings; 0 (the default) means this
    machine's memory, or the GPU's if smaller when training would run on CUDA.
    """
    training = g.settings.get("training") if isinstance(g.settings, dict) else None
    device, gb = "auto", 0.0
    if isinstance(training, dict):
        for p in TRAINING_SETTINGS:
            if p.name in ("max_model_memory_gb", "device") and p.name in training:
                try:
                    value = p.coerce(training[p.name])
                except (TypeError, ValueError):
                    continue  # reported by the training settings' own check
                if p.name == "device":
                    device = value
                else:
                    gb = value
    if gb > 0 and math.isfinite(gb * GB):
        return int(min(gb * GB, 2**62)), "allowed (max_model_memory_gb)"
    ram, gpu = _machine_memory(device in ("auto", "cuda"))
    if gpu and gpu < ram:
        return gpu, "the GPU has"
    return ram, "this machine has"


@functools.lru_cache(maxsize=4)
def _machine_memory(cuda: bool) -> tuple[int, int]:
    """(physical memory, first CUDA device's memory or 0); asked once per process."""
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a small machine
        ram = 16 * GB
    gpu = 0
    if cuda:
        try:
            if torch.cuda.is_available():
                gpu = int(torch.cuda.get_device_properties(0).total_memory)
        except Exception:  # a broken driver is the training's problem, not the check's
            gpu = 0
    return int(ram), gpu


def format_bytes(n: float) -> str:
    """Bytes for people: 512 B, 3.2 MB, 40.0 GB, 7.3 TB (powers of 1024)."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PB"  # pragma: no cover


# -- evaluation on meta -------------------------------------------------------------------
