"""Small ONNX files written with onnx.helper (no export, milliseconds), for import tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def tiny_onnx(path: Path, op: str = "Relu") -> Path:
    """x[?, 4] → Gemm (3 outputs) → ``op``: a small model (an unsupported ``op`` fails)."""
    gen = np.random.default_rng(0)
    w = numpy_helper.from_array(gen.standard_normal((3, 4)).astype(np.float32), "w")
    b = numpy_helper.from_array(gen.standard_normal(3).astype(np.float32), "b")
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["h"], name="fc", transB=1),
        helper.make_node(op, ["h"], ["y"], name="act"),
    ]
    g = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])],
        [w, b],
    )
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path
