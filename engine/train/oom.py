"""Out of memory: what training needs beyond the weights, and advice that names the cause."""

from __future__ import annotations

import os
from typing import Any

import torch

# Tensors of optimizer state per parameter tensor (Adam: two moments; SGD with momentum: one).
_OPTIMIZER_STATES = {"Adam": 2, "AdamW": 2, "RMSprop": 1, "Adagrad": 1, "SGD": 1}
# The model "alone" does not fit when its fixed memory takes this much of the device: what is
# left (allocator slack, the CUDA context, any activations at all) cannot hold a batch.
MODEL_TOO_LARGE_FRACTION = 0.9


def is_oom(e: BaseException) -> bool:
    if isinstance(e, torch.OutOfMemoryError | MemoryError):
        return True
    text = str(e).lower()
    return "out of memory" in text or "can't allocate memory" in text


def training_memory_bytes(model: torch.nn.Module, optimizer_type: str = "") -> int:
    """Bytes a model needs before any batch: its parameters and buffers, a gradient per
    trainable parameter, and the optimizer's state (e.g. Adam keeps two moments each).

    An unknown optimizer counts as Adam (two states), the larger estimate.
    """
    states = _OPTIMIZER_STATES.get(optimizer_type, 2)
    total = 0
    for p in model.parameters():
        size = p.numel() * p.element_size()
        total += size * (1 + (1 + states if p.requires_grad else 0))
    for b in model.buffers():
        total += b.numel() * b.element_size()
    return total


def device_memory_bytes(device: Any) -> int | None:
    """Total memory of a training device (the machine's RAM for the CPU), None if unknown."""
    try:
        dev = torch.device(device)
        if dev.type == "cuda":
            return int(torch.cuda.get_device_properties(dev).total_memory)
        if dev.type == "mps":
            return int(torch.mps.recommended_max_memory())
        if dev.type == "cpu" and hasattr(os, "sysconf"):
            return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except Exception:  # unknown device, or a platform that does not say
        return None
    return None


def _size(n: float) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.1f} GB"
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB"
    return f"{max(n, 0) / 1e3:.1f} KB"


def oom_advice(
    device: str,
    step: int,
    batch_size: int | None,
    model_bytes: int | None,
    device_bytes: int | None,
) -> str:
    """Why memory ran out, in the user's terms: the model itself, or the batch.

    When the parameters, gradients and optimizer state alone (``model_bytes``) take nearly
    all of the device (``device_bytes``), no batch size helps: say how much the model
    needs. Otherwise the batch's activations are what overflowed: suggest half the batch.
    """
    where = f"out of memory on {device} at step {step}"
    if (
        model_bytes is not None
        and device_bytes
        and (model_bytes >= MODEL_TOO_LARGE_FRACTION * device_bytes)
    ):
        return (
            f"{where}: the model is too large for {device}: its parameters, gradients and "
            f"optimizer state alone need ~{_size(model_bytes)} of its {_size(device_bytes)}; "
            "a smaller batch will not help, make the model smaller (fewer or narrower layers) "
            "or train on a device with more memory"
        )
    if batch_size:
        need = f" (the model itself needs ~{_size(model_bytes)})" if model_bytes else ""
        return (
            f"{where} with batch size {batch_size}{need}: the batch does not fit; set a "
            f"smaller batch_size in the Batch node (e.g. {max(1, batch_size // 2)})"
        )
    return f"{where}: set a smaller batch_size in the Batch node or make the model smaller"


# What a resume needs from last.pt beyond any checkpoint's contents.
