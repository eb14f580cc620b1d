"""Import ONNX files and PyTorch modules as editable graphs of catalog nodes, with weights.

``import_onnx(path)`` and ``import_module(module_or_spec, input_shape=...)`` return
``(Graph, state_dict)``; ``compile_model(graph).load_state_dict(state_dict)`` (strict) gives
a model whose outputs equal the original's, which every import checks before it returns
(onnxruntime on the original file, or the original module). What cannot be mapped exactly
fails the import with one ``ModelImportError`` listing every unsupported op.
"""

from __future__ import annotations

import os
from typing import Any

# The rule modules register their ONNX op rules in ``onnx_rules.RULES`` when imported.
from engine.imports import onnx_layer_ops, onnx_tensor_ops  # noqa: F401
from engine.imports.builder import ImportResult
from engine.imports.fx_import import import_module_result
from engine.imports.onnx_import import import_onnx_result
from engine.imports.onnx_rules import RULES
from engine.imports.project_file import (
    OutputExistsError,
    check_import_outputs,
    freeze_all_but_last,
    replaced_by_import,
    save_import,
    weights_path,
)
from engine.imports.report import ImportReport, ModelImportError, UnsupportedOp

__all__ = [
    "ImportReport",
    "ImportResult",
    "ModelImportError",
    "OutputExistsError",
    "UnsupportedOp",
    "check_import_outputs",
    "freeze_all_but_last",
    "import_model",
    "import_module",
    "import_onnx",
    "onnx_op_table",
    "replaced_by_import",
    "save_import",
    "weights_path",
]


def import_onnx(
    path: str | os.PathLike[str], *, input_shape: tuple[int, ...] | None = None
) -> tuple[Any, dict[str, Any]]:
    """ONNX file → ``(Graph, state_dict)``; ``input_shape`` fixes dynamic per-sample sizes."""
    r = import_model(path, input_shape=input_shape)
    return r.graph, r.state_dict


def import_module(
    module_or_spec: Any, input_shape: tuple[int, ...] = (), dtype: str = "float32"
) -> tuple[Any, dict[str, Any]]:
    """``nn.Module`` (or ``"package.module:callable"``) → ``(Graph, state_dict)``.

    ``input_shape`` is one sample's shape, batch excluded."""
    r = import_model(module_or_spec, input_shape=input_shape, dtype=dtype)
    return r.graph, r.state_dict


def import_model(
    source: Any,
    *,
    input_shape: tuple[int, ...] | None = None,
    dtype: str = "float32",
    tolerance: float = 1e-4,
) -> ImportResult:
    """Either import, with the report: an ``.onnx`` path, a module or a module spec."""
    if isinstance(source, (str, os.PathLike)) and (
        str(source).lower().endswith(".onnx") or os.path.isfile(source)
    ):
        return import_onnx_result(source, input_shape=input_shape, tolerance=tolerance)
    return import_module_result(
        source, input_shape=tuple(input_shape or ()), dtype=dtype, tolerance=tolerance
    )


def onnx_op_table() -> list[tuple[str, str, str]]:
    """(ONNX op, node type(s), conditions) for every op the ONNX import maps, sorted."""
    return [(r.op, r.node_types, r.note) for _, r in sorted(RULES.items())]
