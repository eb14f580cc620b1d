"""ONNX LSTM/GRU as torch.onnx exports batch_first layers → the catalog's LSTM/GRU nodes.

The models are exported in the test (torch's own exporter), imported and compared with
onnxruntime on the file at batch 1 and 5; the weights must be torch's own, gate for gate.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from engine import compile_model
from engine.imports import ModelImportError, import_model


class Seq(nn.Module):
    """A recurrent layer (batch_first) and a Linear head, on the last step or every step."""

    def __init__(self, kind: str, layers: int, bidirectional: bool, last: bool) -> None:
        super().__init__()
        self.last = last
        rnn = getattr(nn, kind)
        self.rnn = rnn(5, 6, num_layers=layers, batch_first=True, bidirectional=bidirectional)
        self.fc = nn.Linear(12 if bidirectional else 6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.rnn(x)
        return self.fc(y[:, -1] if self.last else y)


class FinalState(nn.Module):
    """Classifies from h_n (ONNX's Y_h): no node output is the final hidden state."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.LSTM(5, 6, batch_first=True)
        self.fc = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.rnn(x)
        return self.fc(h[-1])


def _export(m: nn.Module, path: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            m.eval(),
            (torch.randn(2, 7, 5),),
            str(path),
            dynamo=False,
            input_names=["x"],
            dynamic_axes={"x": {0: "batch"}},
        )
    return path


CASES = [  # kind, layers, bidirectional, head on the last step only
    ("LSTM", 1, False, True),  # a classifier: y[:, -1] becomes the node's output='last'
    ("GRU", 1, True, False),
    ("GRU", 2, True, False),
]


@pytest.mark.parametrize(("kind", "layers", "bi", "last"), CASES)
def test_exported_recurrent_model_matches_onnxruntime(
    kind: str, layers: int, bi: bool, last: bool, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    m = Seq(kind, layers, bi, last)
    path = _export(m, tmp_path / "rnn.onnx")
    result = import_model(path)
    rnns = [n for n in result.graph.nodes.values() if n.type == kind]
    assert len(rnns) == layers  # one node per ONNX op: torch exports a layer per op
    assert all(n.params["bidirectional"] == bi for n in rnns)
    assert [n.params["output"] for n in rnns][-1] == ("last" if last else "sequence")
    model = compile_model(result.graph)
    model.load_state_dict(result.state_dict, strict=True)
    model.eval()
    # torch's weights, gate for gate (ONNX iofc / zrh regrouped back to ifgo / rzn)
    attr = {nid: a for a, nid in model.torchwire.node_of_attr.items()}
    for layer, node in enumerate(rnns):
        ours = getattr(model, attr[node.id])
        for d in ("", "_reverse") if bi else ("",):
            for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                want = getattr(m.rnn, f"{w}_l{layer}{d}")
                assert torch.equal(getattr(ours, f"{w}_l0{d}"), want), (layer, w, d)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (1, 5):
        x = np.random.default_rng(batch).standard_normal((batch, 7, 5)).astype(np.float32)
        (want,) = sess.run(None, {"x": x})
        with torch.no_grad():
            got = model(torch.from_numpy(x)).numpy()
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1e-4


def test_final_state_output_is_reported_not_guessed(tmp_path: Path) -> None:
    with pytest.raises(ModelImportError) as e:
        import_model(_export(FinalState(), tmp_path / "h.onnx"))
    (u,) = [u for u in e.value.report.unsupported if u.op == "LSTM"]
    assert "output 1" in u.reason and u.location.startswith("ONNX node")


def test_sequence_lengths_are_reported(tmp_path: Path) -> None:
    """A batch-first wrapper, but with computed sequence lengths: not the node's job."""
    gen = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(gen.standard_normal((1, 24, 5)).astype(np.float32), "W"),
        numpy_helper.from_array(gen.standard_normal((1, 24, 6)).astype(np.float32), "R"),
    ]
    nodes = [
        helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
        helper.make_node("LSTM", ["xt", "W", "R", "", "lens"], ["y"], name="lstm", hidden_size=6),
        helper.make_node("Squeeze", ["y", "one"], ["ys"]),
        helper.make_node("Transpose", ["ys"], ["out"], perm=[1, 0, 2]),
    ]
    inits.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "one"))
    g = helper.make_graph(
        nodes,
        "lens",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 7, 5]),
            helper.make_tensor_value_info("lens", TensorProto.INT32, [2]),
        ],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 7, 6])],
        inits,
    )
    path = tmp_path / "lens.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(ModelImportError) as e:
        import_model(path)
    (u,) = [u for u in e.value.report.unsupported if u.op == "LSTM"]
    assert "sequence_lens" in u.reason and "ONNX node 'lstm'" in str(e.value)
