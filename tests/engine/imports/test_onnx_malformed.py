"""Malformed ONNX files are one ModelImportError naming the file and what is wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from engine.imports import ModelImportError, import_model
from tests.support.onnx_models import tiny_onnx


def test_an_empty_file_is_said_to_be_empty(tmp_path: Path) -> None:
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ModelImportError, match=r"empty\.onnx: .*empty"):
        import_model(empty)


def test_an_initializer_whose_data_does_not_fill_its_shape_names_it(tmp_path: Path) -> None:
    path = tiny_onnx(tmp_path / "m.onnx")
    model = onnx.load(str(path))
    w = model.graph.initializer[0]
    w.dims[:] = [30, 4]  # the data holds 3 x 4
    onnx.save(model, str(path))
    with pytest.raises(ModelImportError, match=r"m\.onnx: initializer 'w'"):
        import_model(path)


def test_a_node_that_feeds_itself_is_named(tmp_path: Path) -> None:
    w = helper.make_tensor("w", TensorProto.FLOAT, [3, 4], np.ones(12, np.float32))
    nodes = [
        helper.make_node("Gemm", ["x", "w"], ["h"], name="fc", transB=1),
        helper.make_node("Add", ["h", "loop"], ["loop"], name="selfish"),
    ]
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("loop", TensorProto.FLOAT, ["n", 3])],
        [w],
    )
    path = tmp_path / "self.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(ModelImportError, match=r"self\.onnx: ONNX node 'selfish' reads 'loop'"):
        import_model(path)


class _CountingSet(set):
    """A set that counts membership tests (the names an identifier search probes)."""

    probes = 0

    def __contains__(self, item: object) -> bool:
        _CountingSet.probes += 1
        return super().__contains__(item)


def test_naming_unnamed_nodes_probes_a_bounded_number_of_names_each() -> None:
    from engine.imports.builder import Builder
    from engine.imports.report import ImportReport

    b = Builder("m", ImportReport(source="m.onnx", format="onnx"))
    b.taken = _CountingSet()
    _CountingSet.probes = 0
    made = [b.name(None, "ReLU") for _ in range(2_000)]
    assert made[:3] == ["relu", "relu_2", "relu_3"] and len(set(made)) == 2_000
    assert _CountingSet.probes < 10 * 2_000  # linear: not one probe per earlier node
