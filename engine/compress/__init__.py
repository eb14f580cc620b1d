"""Model compression: pruning, quantization and distillation, with the accuracy cost measured.

Qt-free. ``compress`` runs the steps on a trained project and returns (and writes as
``report.json``) a ``CompressionReport``: per variant its parameters, ONNX file size, CPU
latency at batch 1 and 32 (onnxruntime) and test metric, with the agreement against the
fp32 original. The pieces are usable alone: ``prune_structured`` / ``prune_unstructured``
(``torch.nn.utils.prune``), ``quantize`` (``onnxruntime.quantization`` and its fp16
converter); distillation is a training option (``engine.train.distill``).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DEFAULT_MAX_DROP",
    "CompressError",
    "CompressionReport",
    "Recipe",
    "Variant",
    "VariantKind",
    "compress",
    "load_report",
    "prunable_layers",
    "prune_structured",
    "prune_unstructured",
    "quantize",
]

_WHERE = {
    "CompressError": "engine.compress.errors",
    "CompressionReport": "engine.compress.core",
    "DEFAULT_MAX_DROP": "engine.compress.options",
    "Recipe": "engine.compress.core",
    "Variant": "engine.compress.core",
    "VariantKind": "engine.compress.core",
    "compress": "engine.compress.core",
    "load_report": "engine.compress.core",
    "prunable_layers": "engine.compress.prune",
    "prune_structured": "engine.compress.prune",
    "prune_unstructured": "engine.compress.prune",
    "quantize": "engine.compress.quantize",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'engine.compress' has no attribute {name!r}")
