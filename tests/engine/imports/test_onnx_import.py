"""ONNX import: the onnx package's test models, hand-built graphs in several opsets, errors.

Every supported model is imported, compiled, loaded strictly and compared with onnxruntime
on the original file (and with the case's own reference output where it ships one).
The light_* models carry constant placeholder weights (ConstantOfShape): the test gives
them random weights first, so a mix-up of weights cannot hide behind equal values.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from engine import compile_model
from engine.imports import ModelImportError, import_model, import_onnx

DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"
CONVERTED = DATA / "pytorch-converted"

# Cases whose ops have no node type yet: the report must name this op.
UNSUPPORTED = {
    "test_AvgPool3d": "AveragePool",
    "test_AvgPool3d_stride": "AveragePool",
    "test_AvgPool3d_stride1_pad0_gpu_input": "AveragePool",
    "test_BatchNorm3d_eval": "BatchNormalization",
    "test_BatchNorm3d_momentum_eval": "BatchNormalization",
    "test_ConstantPad2d": "Pad",
    "test_ReflectionPad2d": "Pad",
    "test_ReplicationPad2d": "Pad",
    "test_ZeroPad2d": "Pad",
    "test_GLU": "Split",
    "test_GLU_dim": "Split",
    "test_MaxPool3d": "MaxPool",
    "test_MaxPool3d_stride": "MaxPool",
    "test_MaxPool3d_stride_padding": "MaxPool",
    "test_PoissonNLLLLoss_no_reduce": "Exp",
    "test_Softmin": "Neg",
    "test_Softsign": "Abs",
}
CASES = sorted(p.name for p in CONVERTED.iterdir() if (p / "model.onnx").exists())


def _pb(path: Path) -> np.ndarray:
    t = onnx.TensorProto()
    t.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(t)


def _ours(graph, sd, *xs: np.ndarray) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    model = compile_model(graph)
    model.load_state_dict(sd, strict=True)
    model.eval()
    with torch.no_grad():
        out = model(*[torch.from_numpy(np.ascontiguousarray(x)) for x in xs])
    return [o.numpy() for o in (out if isinstance(out, tuple) else (out,))]


def _ort(path: str | Path, *xs: np.ndarray) -> list[np.ndarray]:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    return sess.run(None, dict(zip(names, xs, strict=False)))


@pytest.mark.parametrize("case", CASES)
def test_pytorch_converted_case_matches_its_reference_output(case: str) -> None:
    folder = CONVERTED / case
    if case in UNSUPPORTED:
        with pytest.raises(ModelImportError) as e:
            import_onnx(folder / "model.onnx")
        ops = {u.op for u in e.value.report.unsupported}
        assert UNSUPPORTED[case] in ops, e.value
        assert "cannot be imported" in str(e.value) and "--list-ops" in str(e.value)
        return
    graph, sd = import_onnx(folder / "model.onnx")
    x = _pb(folder / "test_data_set_0" / "input_0.pb")
    want = _pb(folder / "test_data_set_0" / "output_0.pb")
    (got,) = _ours(graph, sd, x)
    assert got.shape == want.shape
    assert np.abs(got.astype(np.float64) - want).max() <= 1e-4


def _randomized(name: str, tmp_path: Path) -> Path:
    """The light model with its placeholder weights replaced by random tensors."""
    m = onnx.load(str(DATA / "light" / f"{name}.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    gen = np.random.default_rng(0)
    kept, new = [], []
    for node in m.graph.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in inits:
            shape = [int(v) for v in inits[node.input[0]]]
            if len(shape) > 1:
                fan_in = int(np.prod(shape[1:]))
                w = gen.standard_normal(shape) * (1.0 / np.sqrt(fan_in))
            else:  # biases, batch-norm scales and variances: positive and near 1
                w = gen.uniform(0.5, 1.5, shape)
            new.append(numpy_helper.from_array(w.astype(np.float32), node.output[0]))
            continue
        kept.append(node)
    del m.graph.node[:]
    m.graph.node.extend(kept)
    m.graph.initializer.extend(new)
    out = tmp_path / f"{name}.onnx"
    onnx.save(m, str(out))
    return out


def _light_matches(name: str, tmp_path: Path) -> None:
    path = _randomized(name, tmp_path)
    result = import_model(path)
    assert result.report.max_abs_diff is not None and result.report.max_abs_diff <= 1e-4
    x = np.random.default_rng(1).standard_normal((1, 3, 224, 224)).astype(np.float32)
    (got,) = _ours(result.graph, result.state_dict, x)
    (want,) = _ort(path, x)  # the batch of these models is fixed at 1
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1e-4
    assert np.abs(want).max() > 0 and np.std(want) > 0  # not a constant output


ALL = pytest.mark.skipif(
    not os.environ.get("TORCHWIRE_IMPORT_ALL"), reason="TORCHWIRE_IMPORT_ALL=1"
)
LIGHT_FAST = ["light_squeezenet"]  # CI's representative: Conv, Relu, MaxPool, Concat, GAP
# Large (25-140 M parameters, 10-40 s each on 2 cores), and ShuffleNet (a 5 s one whose ops
# the hand-built graphs and SqueezeNet already cover): TORCHWIRE_IMPORT_ALL=1 runs them.
LIGHT_LARGE = [
    "light_resnet50",
    "light_bvlc_alexnet",
    "light_zfnet512",
    "light_vgg19",
    "light_shufflenet",
]
LIGHT_UNSUPPORTED = {
    "light_densenet121": "Mul",  # batch-norm's scale as a broadcast Mul by a constant
    "light_inception_v2": "Mul",
    "light_inception_v1": "AveragePool",  # end-only padding torch's ceil_mode cannot make
}
LIGHT_UNSUPPORTED_ALL = {"light_densenet121"}  # the same Mul as inception_v2, twice the time


@pytest.mark.parametrize("name", LIGHT_FAST)
def test_light_model_matches_onnxruntime(name: str, tmp_path: Path) -> None:
    _light_matches(name, tmp_path)


@ALL
@pytest.mark.slow
@pytest.mark.parametrize("name", LIGHT_LARGE)
def test_large_light_model_matches_onnxruntime(name: str, tmp_path: Path) -> None:
    _light_matches(name, tmp_path)


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=ALL) if n in LIGHT_UNSUPPORTED_ALL else n for n in LIGHT_UNSUPPORTED],
)
def test_light_model_with_unmapped_ops_lists_them_all(name: str) -> None:
    with pytest.raises(ModelImportError) as e:
        import_onnx(DATA / "light" / f"{name}.onnx")
    rep = e.value.report
    assert rep is not None and rep.unsupported
    assert LIGHT_UNSUPPORTED[name] in {u.op for u in rep.unsupported}
    assert all(u.location.startswith("ONNX node") for u in rep.unsupported)
    if name != "light_inception_v1":  # one per batch norm: every one is listed, not the first
        assert len(rep.unsupported) > 50


# -- hand-built graphs ------------------------------------------------------------------
def _f(*shape: int) -> np.ndarray:
    return np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32) * 0.3


def _vision_model(opset: int, path: Path) -> Path:
    """Conv-BN-Clip, a branch Concat, a resize, GAP, the exporter's Shape→Gather→Concat→
    Reshape flatten, MatMul+Add, LRN, Dropout, Softmax — with a dynamic batch."""
    init = [
        numpy_helper.from_array(_f(8, 3, 3, 3), "w1"),
        numpy_helper.from_array(_f(8), "b1"),
        numpy_helper.from_array(np.abs(_f(8)) + 0.5, "scale"),
        numpy_helper.from_array(_f(8), "shift"),
        numpy_helper.from_array(_f(8), "mean"),
        numpy_helper.from_array(np.abs(_f(8)) + 0.5, "var"),
        numpy_helper.from_array(_f(4, 8, 1, 1), "w2"),
        numpy_helper.from_array(_f(12, 5), "fc_w"),
        numpy_helper.from_array(_f(5), "fc_b"),
        numpy_helper.from_array(np.array(0, np.int64), "zero"),
        numpy_helper.from_array(np.array([-1], np.int64), "minus1"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node(
            "BatchNormalization",
            ["c1", "scale", "shift", "mean", "var"],
            ["bn"],
            epsilon=1e-3,
            name="bn1",
        ),
    ]
    if opset >= 11:
        init += [
            numpy_helper.from_array(np.array(0, np.float32), "lo"),
            numpy_helper.from_array(np.array(6, np.float32), "hi"),
        ]
        nodes.append(helper.make_node("Clip", ["bn", "lo", "hi"], ["act"], name="clip"))
    else:
        nodes.append(helper.make_node("Clip", ["bn"], ["act"], min=0.0, max=6.0, name="clip"))
    nodes += [
        helper.make_node(
            "LRN", ["act"], ["lrn"], size=3, alpha=1e-3, beta=0.75, bias=2.0, name="lrn"
        ),
        helper.make_node("Conv", ["lrn", "w2"], ["c2"], name="conv2"),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("Concat", ["lrn", "r2"], ["cat"], axis=1, name="cat"),
        helper.make_node(
            "MaxPool", ["cat"], ["pool"], kernel_shape=[2, 2], strides=[2, 2], name="pool"
        ),
    ]
    if opset >= 13:
        init.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"))
        nodes.append(
            helper.make_node(
                "Resize",
                ["pool", "", "scales"],
                ["up"],
                mode="nearest",
                coordinate_transformation_mode="asymmetric",
                nearest_mode="floor",
                name="up",
            )
        )
    else:
        nodes.append(helper.make_node("Identity", ["pool"], ["up"]))
    nodes += [
        helper.make_node("GlobalAveragePool", ["up"], ["gap"], name="gap"),
        helper.make_node("Shape", ["gap"], ["shp"]),
        helper.make_node("Gather", ["shp", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n"], ["n1"], axes=[0])
        if opset < 13
        else helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["newshape"], axis=0),
        helper.make_node("Reshape", ["gap", "newshape"], ["flat"], name="flatten"),
        helper.make_node("MatMul", ["flat", "fc_w"], ["mm"], name="fc"),
        helper.make_node("Add", ["mm", "fc_b"], ["logits"], name="fc_bias"),
        helper.make_node("Dropout", ["logits"], ["drop"], name="drop"),
        helper.make_node("Softmax", ["drop"], ["y"], axis=1, name="softmax"),
    ]
    if opset >= 13:
        init.append(numpy_helper.from_array(np.array([0], np.int64), "ax0"))
    g = helper.make_graph(
        nodes,
        "vision",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 5])],
        init,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, str(path))
    return path


@pytest.mark.parametrize("opset", [9, 11, 13, 18])
def test_hand_built_model_matches_onnxruntime_at_batch_1_and_5(opset: int, tmp_path: Path) -> None:
    path = _vision_model(opset, tmp_path / "m.onnx")
    graph, sd = import_onnx(path)
    types = {n.type for n in graph.nodes.values()}
    assert {"Conv2d", "BatchNorm2d", "ReLU6", "LocalResponseNorm", "Concat", "Linear"} <= types
    assert "Flatten" in types or "Reshape" in types
    assert graph.by_name("bn1").params["eps"] == pytest.approx(1e-3)  # never fused
    linear = next(n for n in graph.nodes.values() if n.type == "Linear")
    assert linear.params["bias"] is True  # MatMul+Add became one Linear
    for batch in (1, 5):
        x = np.random.default_rng(batch).standard_normal((batch, 3, 8, 8)).astype(np.float32)
        (got,) = _ours(graph, sd, x)
        (want,) = _ort(path, x)
        assert np.abs(got - want).max() <= 1e-4


def test_lrn_matches_torch_and_onnxruntime(tmp_path: Path) -> None:
    """ONNX's alpha and torch's alpha are the same formula (alpha/size · Σx²)."""
    g = helper.make_graph(
        [helper.make_node("LRN", ["x"], ["y"], size=5, alpha=0.01, beta=0.6, bias=1.5)],
        "lrn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 7, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 7, 4, 4])],
    )
    path = tmp_path / "lrn.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    x = np.random.default_rng(0).standard_normal((2, 7, 4, 4)).astype(np.float32) * 3
    (want,) = _ort(path, x)
    ref = torch.nn.LocalResponseNorm(5, alpha=0.01, beta=0.6, k=1.5)(torch.from_numpy(x)).numpy()
    assert np.abs(ref - want).max() <= 1e-5
    graph, sd = import_onnx(path)
    (got,) = _ours(graph, sd, x)
    assert np.abs(got - want).max() <= 1e-5


def test_asymmetric_conv_padding_and_unknown_ops_are_reported_together(tmp_path: Path) -> None:
    g = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w"], ["c"], pads=[0, 0, 1, 1], name="odd_conv"),
            helper.make_node("Erf", ["c"], ["e"], name="erf1"),
            helper.make_node("Relu", ["e"], ["y"], name="relu"),
        ],
        "bad",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(_f(3, 2, 2, 2), "w")],
    )
    path = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    with pytest.raises(ModelImportError) as e:
        import_onnx(path)
    got = {(u.name, u.op) for u in e.value.report.unsupported}
    assert got == {("odd_conv", "Conv"), ("erf1", "Erf")}
    assert "asymmetric padding" in str(e.value) and "ONNX node 'erf1'" in str(e.value)
    assert e.value.file == str(path)


def test_unreadable_file_is_an_import_error(tmp_path: Path) -> None:
    p = tmp_path / "x.onnx"
    p.write_bytes(b"not a model")
    with pytest.raises(ModelImportError, match="not a readable ONNX model"):
        import_onnx(p)
