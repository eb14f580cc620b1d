"""ONNX value names: a node named like a value the exporter generates (``linear`` after an
LSTM or a TransformerEncoderLayer, ``val_0``, ``onnx::MatMul_1``) still exports a graph in
SSA form with the declared input and output names."""

from __future__ import annotations

from pathlib import Path

import onnx
import onnxruntime as ort
import pytest

from engine import Graph, export_onnx
from engine.names import identifier

NAMES = [
    "linear", "lstm", "gru", "input", "output", "x", "weight", "bias", "add", "matmul",
    "MatMul", "onnx::MatMul_1", "val_0", "self_attn", "layers", "linear_1", "transpose",
]  # fmt: skip


def graph(kind: str, name: str, input_name: str = "seq") -> Graph:
    """Input → recurrent/attention layer → Linear named ``name`` (the model's output)."""
    g = Graph(name="names")
    x = g.add("Input", shape=[3, 4], name=input_name)
    if kind == "LSTM":
        r = g.add("LSTM", hidden_size=4, name="rnn")
    elif kind == "GRU":
        r = g.add("GRU", hidden_size=4, num_layers=2, output="last", name="rnn")
    else:
        r = g.add("TransformerEncoderLayer", nhead=2, dim_feedforward=8, dropout=0.0, name="enc")
    g.connect(x, r)
    f = g.add("Linear", out_features=2, name=name)
    g.connect(r, f)
    return g


def exported(g: Graph, path: Path, opset: int = 18) -> onnx.ModelProto:
    rep = export_onnx(g, path, opset=opset, batch_sizes=(2,))
    assert rep.ok, str(rep)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    produced = [o for n in proto.graph.node for o in n.output if o]
    produced += [t.name for t in proto.graph.initializer]
    assert len(produced) == len(set(produced)), "not SSA"
    return proto


def io_names(path: Path) -> tuple[list[str], list[str]]:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [i.name for i in sess.get_inputs()], [o.name for o in sess.get_outputs()]


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["LSTM", "TransformerEncoderLayer"])
def test_linear_named_like_an_exporter_value(kind: str, name: str, tmp_path: Path) -> None:
    g = graph(kind, name)
    out = tmp_path / "m.onnx"
    exported(g, out)
    assert io_names(out) == (["seq"], [identifier(name, set())])


@pytest.mark.parametrize("name", ["linear", "val_0", "onnx::MatMul_1"])
def test_gru_stack(name: str, tmp_path: Path) -> None:
    exported(graph("GRU", name), tmp_path / "m.onnx")


@pytest.mark.parametrize("input_name", ["val_0", "lstm", "onnx::MatMul_1", "x"])
def test_input_named_like_an_exporter_value(input_name: str, tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    exported(graph("LSTM", "linear", input_name=input_name), out)
    assert io_names(out)[0] == [identifier(input_name, set())]


@pytest.mark.parametrize("name", ["linear", "onnx::MatMul_1", "input", "lstm"])
def test_torchscript_exporter_at_opset_17(name: str, tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    exported(graph("LSTM", name), out, opset=17)
    exported(graph("TransformerEncoderLayer", name), tmp_path / "t.onnx", opset=17)
