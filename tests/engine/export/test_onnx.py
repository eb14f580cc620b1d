"""ONNX export: every exportable node type, real architectures, dynamic batch, metadata,
and failures that leave no file and name the node."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from engine import ExportError, Graph, catalog, compile_model, export_onnx, load_project
from engine.catalog import registry
from engine.export.parity import ParityReport
from tests.support import graphs
from tests.support.catalog_cases import model_specs, single_node_graph
from tests.support.paths import ROOT

EXAMPLES = sorted(ROOT.joinpath("resources", "examples").glob("*.json"))


def leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


def run_ort(path: Path, *xs: np.ndarray) -> list[np.ndarray]:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {i.name: x for i, x in zip(sess.get_inputs(), xs, strict=True)})


EXPORTABLE = [t for t in model_specs() if catalog.get(t).exportable]


def test_every_model_node_type_is_covered_or_declared_unexportable() -> None:
    declared = [t for t in model_specs() if not catalog.get(t).exportable]
    for t in declared:
        assert catalog.get(t).export_note, f"{t} is unexportable without saying why"
    assert len(EXPORTABLE) + len(declared) == len(model_specs())
    assert len(EXPORTABLE) >= 50  # the catalog has 56 model node types today


@pytest.mark.parametrize("type_name", EXPORTABLE)
def test_node_type_exports_with_parity(type_name: str, tmp_path: Path) -> None:
    g, _ = single_node_graph(type_name)
    out = tmp_path / f"{type_name}.onnx"
    rep = export_onnx(g, out)
    assert rep.ok, str(rep)
    assert rep.batch_sizes == [1, 7]
    assert rep.max_abs <= 1e-4
    assert out.exists() and leftovers(tmp_path) == [out.name]


@pytest.mark.parametrize(
    "build", [graphs.resnet_small, graphs.lstm_classifier, graphs.transformer_encoder]
)
def test_architectures_export_within_1e_4(build, tmp_path: Path) -> None:
    model = compile_model(build()).eval()
    out = tmp_path / "m.onnx"
    rep = export_onnx(model, out)
    assert rep.ok and rep.max_abs <= 1e-4, str(rep)
    # the file runs on its own, at a batch size neither the trace nor the report used
    xs = model.torchwire.example_inputs(5)
    if xs[0].dtype == torch.int64:
        xs = (torch.randint(0, 50, xs[0].shape),)
    with torch.no_grad():
        want = model(*xs).numpy()
    got = run_ort(out, *(x.numpy() for x in xs))[0]
    assert np.abs(want - got).max() <= 1e-4


def test_multi_input_multi_output_graph(tmp_path: Path) -> None:
    g = graphs.two_towers()
    out = tmp_path / "two.onnx"
    rep = export_onnx(g, out)
    assert rep.ok, str(rep)
    info = compile_model(g).torchwire
    assert sorted(info.output_names) == ["class_probs", "value"]
    assert rep.outputs == info.output_names
    m = onnx.load(str(out))
    assert [i.name for i in m.graph.input] == ["seq", "img"]
    assert [o.name for o in m.graph.output] == info.output_names
    for vi in [*m.graph.input, *m.graph.output]:
        assert vi.type.tensor_type.shape.dim[0].dim_param, f"{vi.name}: batch is not dynamic"
    # per output, per batch size: 2 × 2 rows
    a, b = info.output_names
    assert [(r.output, r.batch) for r in rep.rows] == [(a, 1), (b, 1), (a, 7), (b, 7)]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_bundled_examples_export(path: Path, tmp_path: Path) -> None:
    g = load_project(path)
    out = tmp_path / f"{path.stem}.onnx"
    rep = export_onnx(g, out)
    assert rep.ok and rep.max_abs <= 1e-4, str(rep)


def test_report_metadata_and_opset(tmp_path: Path) -> None:
    g = graphs.resnet_small()
    out = tmp_path / "r.onnx"
    calls: list[str] = []
    rep = export_onnx(g, out, opset=20, progress=calls.append)
    assert any("onnxruntime" in c for c in calls) and any("checker" in c for c in calls)
    m = onnx.load(str(out))
    assert {o.version for o in m.opset_import if o.domain == ""} == {20}
    props = {p.key: p.value for p in m.metadata_props}
    assert props["source_graph"] == "resnet_small"
    assert props["preprocessing_baked"] == "false"
    io = json.loads(props["io"])
    assert io["inputs"] == [{"name": "image", "shape": ["batch", 3, 16, 16], "dtype": "float32"}]
    stored = json.loads(props["parity"])
    assert stored["ok"] and stored["max_abs"] == pytest.approx(rep.max_abs)
    text = str(rep)
    assert "logits" in text and "max abs" in text and "passed" in text
    d = rep.to_dict()
    assert d["ok"] is True and d["rows"][0]["output"] == "logits"
    assert d["info"]["opset"] == 20


def test_old_opset_goes_through_torchscript_exporter(tmp_path: Path) -> None:
    out = tmp_path / "lstm13.onnx"
    rep = export_onnx(graphs.lstm_classifier(), out, opset=13)
    assert rep.ok and rep.info["exporter"] == "torchscript"
    m = onnx.load(str(out))
    assert {o.version for o in m.opset_import if o.domain == ""} == {13}


def test_bad_opset_is_refused_before_anything(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="opset 7 is not supported"):
        export_onnx(graphs.resnet_small(), tmp_path / "x.onnx", opset=7)
    with pytest.raises(ExportError, match="dynamo exporter writes opset 18"):
        export_onnx(graphs.resnet_small(), tmp_path / "x.onnx", opset=15, exporter="dynamo")
    assert leftovers(tmp_path) == []


def test_unexportable_node_is_named_before_export(tmp_path: Path, monkeypatch) -> None:
    g = graphs.two_towers()
    spec = catalog.get("GRU")
    monkeypatch.setitem(
        registry._REGISTRY,
        "GRU",
        dataclasses.replace(spec, exportable=False, export_note="no ONNX GRU in this test"),
    )

    def must_not_run(*a, **k):
        raise AssertionError("the exporter ran")

    monkeypatch.setattr(torch.onnx, "export", must_not_run)
    with pytest.raises(ExportError) as ei:
        export_onnx(g, tmp_path / "x.onnx")
    assert "'gru' (GRU)" in str(ei.value) and "no ONNX GRU in this test" in str(ei.value)
    assert ei.value.node == "gru"
    assert leftovers(tmp_path) == []


def test_torchscript_exporter_limits_are_named_before_export(tmp_path: Path) -> None:
    g, _ = single_node_graph("Bilinear")
    with pytest.raises(ExportError, match=r"'bilinear' \(Bilinear\).*opset 18 or later"):
        export_onnx(g, tmp_path / "b.onnx", opset=17)
    assert leftovers(tmp_path) == []
    from engine.export import onnx_problems

    assert onnx_problems(g) == []  # the dynamo exporter (opset 18) converts it
    [(nid, msg)] = onnx_problems(g, opset=17)
    assert nid == "bilinear" and "TorchScript exporter has no aten::bilinear" in msg


def test_failure_inside_the_onnx_translation_names_the_node(tmp_path: Path, monkeypatch) -> None:
    from torch.onnx._internal.exporter import _dispatching

    real = _dispatching.dispatch

    def failing(node, registry):
        if "convolution" in str(node.target) or "conv2d" in str(node.target):
            raise RuntimeError("forced failure in the ONNX translation")
        return real(node, registry)

    monkeypatch.setattr(_dispatching, "dispatch", failing)
    g = graphs.resnet_small()
    out = tmp_path / "r.onnx"
    out.write_bytes(b"previous export")  # an existing file must survive a failed export
    with pytest.raises(ExportError) as ei:
        export_onnx(g, out)
    assert ei.value.node == g.by_name("stem").id  # the first convolution in the graph
    assert "at node 'stem' (Conv2d)" in str(ei.value)
    assert "forced failure" in str(ei.value)
    assert leftovers(tmp_path) == ["r.onnx"] and out.read_bytes() == b"previous export"


def test_failure_while_tracing_names_the_node(tmp_path: Path) -> None:
    g = graphs.resnet_small()
    model = compile_model(g)

    def broken(*a, **k):
        raise ValueError("forced failure while tracing")

    model.fc.forward = broken
    with pytest.raises(ExportError) as ei:
        export_onnx(model, tmp_path / "t.onnx")
    assert ei.value.node == g.by_name("fc").id and "'fc' (Linear)" in str(ei.value)
    assert leftovers(tmp_path) == []


def test_parity_over_tolerance_is_an_error_not_a_file(tmp_path: Path) -> None:
    # erf, exp and the reductions of GELU / LayerNorm / Softmax never round exactly alike
    # in torch and onnxruntime, so a zero tolerance must fail
    g = Graph(name="mlp")
    x = g.add("Input", name="x", shape=[32])
    graphs.chain(
        g,
        x,
        ("Linear", {"name": "fc", "out_features": 64}),
        ("GELU", {"name": "act"}),
        ("LayerNorm", {"name": "norm"}),
        ("Softmax", {"name": "probs"}),
        ("Output", {"name": "p"}),
    )
    out = tmp_path / "t.onnx"
    with pytest.raises(ExportError) as ei:
        export_onnx(g, out, tolerance=0.0, rtol=0.0)
    rep = ei.value.report
    assert isinstance(rep, ParityReport) and not rep.ok and rep.max_abs > 0
    assert "differs from torch's" in str(ei.value) and "FAIL" in str(ei.value)
    assert leftovers(tmp_path) == []


def test_module_mode_and_weights_are_kept(tmp_path: Path) -> None:
    model = compile_model(graphs.resnet_small())  # BatchNorm: eval mode matters
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    export_onnx(model, tmp_path / "l.onnx")
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_plain_modules_and_bad_graphs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="compile_model"):
        export_onnx(torch.nn.Linear(2, 2), tmp_path / "x.onnx")
    g = graphs.resnet_small()
    g.connect(g.add("Linear", name="dangling", out_features=3), g.add("Output", name="o2"))
    with pytest.raises(ExportError, match="cannot be compiled"):
        export_onnx(g, tmp_path / "x.onnx")
    assert leftovers(tmp_path) == []
