"""Export: ONNX proven equal by onnxruntime, and readable standalone PyTorch code."""

from __future__ import annotations

from engine.export.errors import ExportError
from engine.export.onnx import export_onnx, onnx_problems
from engine.export.parity import OutputParity, ParityReport
from engine.export.python import export_python

__all__ = [
    "ExportError",
    "OutputParity",
    "ParityReport",
    "export_onnx",
    "export_python",
    "onnx_problems",
]


def __getattr__(name: str) -> object:
    if name == "export_python":
        return export_python
    raise AttributeError(f"module 'engine.export' has no attribute {name!r}")
