"""torch.fx import: small ResNet, a CNN with cat branches, an LSTM classifier, a spec, errors."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from engine import compile_model
from engine.cli import main
from engine.cli.imports import op_table_markdown
from engine.imports import ModelImportError, import_model, import_module
from engine.project import load_project
from tests.support.paths import ROOT


class Block(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x
        return torch.relu(out)


class SmallResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.layer1 = nn.Sequential(Block(8), Block(8))
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer1(F.relu(self.stem(x)))
        return self.fc(x.mean((2, 3)))


class Branches(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.LeakyReLU(0.2))
        self.pool = nn.MaxPool2d(2)
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(8 * 4 * 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([self.a(x), self.b(x)], dim=1)
        y = self.pool(torch.sigmoid(y))
        y = y.view(y.size(0), -1)
        return F.log_softmax(self.head(self.drop(y)), dim=1)


class LSTMClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(50, 8)
        self.lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True)
        self.fc = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.emb(x))
        return self.fc(out[:, -1])


def _randomize_bn(m: nn.Module) -> nn.Module:
    g = torch.Generator().manual_seed(0)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.copy_(torch.rand(mod.num_features, generator=g) - 0.5)
            mod.running_var.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
    return m.eval()


def _same(module: nn.Module, shape: tuple[int, ...], dtype: str = "float32") -> dict:
    graph, sd = import_module(module, input_shape=shape, dtype=dtype)
    model = compile_model(graph)
    model.load_state_dict(sd, strict=True)
    model.eval()
    for batch in (1, 5):
        if dtype == "int64":
            x = torch.randint(0, 50, (batch, *shape))
        else:
            x = torch.randn(batch, *shape)
        with torch.no_grad():
            assert (model(x) - module(x)).abs().max().item() <= 1e-4
    return {n.name: n for n in graph.nodes.values()}


def test_small_resnet_keeps_module_names_and_batch_norm() -> None:
    nodes = _same(_randomize_bn(SmallResNet()), (3, 16, 16))
    assert nodes["layer1_0_conv1"].type == "Conv2d"
    assert nodes["layer1_0_conv1"].params["bias"] is False
    assert nodes["layer1_1_bn2"].type == "BatchNorm2d"
    assert sum(n.type == "Add" for n in nodes.values()) == 2
    assert nodes["mean"].type == "AdaptiveAvgPool2d"  # x.mean((2, 3)) is a global pool


def test_cnn_with_cat_branches_and_view() -> None:
    nodes = _same(Branches().eval(), (3, 8, 8))
    cat = next(n for n in nodes.values() if n.type == "Concat")
    assert cat.params["dim"] == 1
    assert nodes["b_1"].type == "LeakyReLU" and nodes["b_1"].params["negative_slope"] == 0.2
    assert any(n.type == "Flatten" for n in nodes.values())


def test_lstm_classifier_last_step() -> None:
    nodes = _same(LSTMClassifier().eval(), (7,), dtype="int64")
    assert nodes["lstm"].type == "LSTM"
    assert nodes["lstm"].params["output"] == "last" and nodes["lstm"].params["num_layers"] == 2


class Unsupported(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.gate = nn.Softmin(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.gate(self.fc(x))
        return torch.clamp(y, 0.1, 0.5)  # the second unsupported op


def test_unsupported_ops_are_all_reported_with_their_source_line() -> None:
    with pytest.raises(ModelImportError) as e:
        import_module(Unsupported(), input_shape=(4,))
    ops = {u.name: u for u in e.value.report.unsupported}
    assert set(ops) == {"gate", "clamp"}
    assert ops["gate"].op == "torch.nn.modules.activation.Softmin"
    assert ops["clamp"].op == "torch.clamp"
    assert ops["clamp"].location.startswith(__file__)
    line = int(ops["clamp"].location.rsplit(":", 1)[1])
    assert "torch.clamp" in Path(__file__).read_text().splitlines()[line - 1]


def _write_pkg(tmp_path: Path) -> None:
    pkg = tmp_path / "tw_models"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "nets.py").write_text(
        textwrap.dedent(
            """
            from torch import nn

            def tiny():
                return nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.Tanh(), nn.Linear(6, 2))
            """
        )
    )


def test_module_spec_is_imported_and_called(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_pkg(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    r = import_model("tw_models.nets:tiny", input_shape=(3, 4))
    assert [n.type for n in r.graph.nodes.values()] == [
        "Input", "Flatten", "Linear", "Tanh", "Linear", "Output"
    ]  # fmt: skip
    assert r.report.max_abs_diff is not None and r.report.max_abs_diff <= 1e-4
    with pytest.raises(ModelImportError, match="has no nope"):
        import_model("tw_models.nets:nope", input_shape=(3, 4))
    with pytest.raises(ModelImportError, match="one input sample"):
        import_model("tw_models.nets:tiny")
    sys.modules.pop("tw_models.nets", None)
    sys.modules.pop("tw_models", None)


def test_cli_import_writes_project_and_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from safetensors.torch import load_file

    _write_pkg(tmp_path)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "proj" / "tiny.json"
    out.parent.mkdir()
    assert main(["import", "tw_models.nets:tiny", "-o", str(out), "--input-shape", "3,4"]) == 0
    text = capsys.readouterr().out
    assert "6 nodes" in text and "parameters" in text and "tiny.safetensors" in text
    graph = load_project(out)
    model = compile_model(graph)
    model.load_state_dict(load_file(str(out.with_suffix(".safetensors"))), strict=True)
    assert json.loads(out.read_text())["nodes"]
    sys.modules.pop("tw_models.nets", None)
    sys.modules.pop("tw_models", None)
    # an unsupported model: exit 1, every op listed, nothing written
    bad = tmp_path / "bad.onnx"
    assert main(["import", str(tmp_path / "missing.onnx"), "-o", str(bad)]) == 2
    assert not bad.exists()


def test_guide_op_table_is_the_importers() -> None:
    guide = ROOT / "docs" / "guide" / "import-and-transfer-learning.md"
    page = guide.read_text(encoding="utf-8")
    assert op_table_markdown() in page, "run `torchwire import --list-ops --markdown`"


def test_layout_is_layered_not_one_row() -> None:
    graph, _ = import_module(_randomize_bn(SmallResNet()), input_shape=(3, 16, 16))
    ys = {n.pos[1] for n in graph.nodes.values()}
    xs = {n.pos[0] for n in graph.nodes.values()}
    assert len(ys) > 1 and len(xs) > 1


class _TensorOps(nn.Module):
    """The functions the tensor node types map: broadcasting arithmetic, matmul, reductions,
    indexing, split/chunk, the element-wise menu, hardsigmoid and interpolate by size."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 6, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)  # (B, 6, 5, 5)
        a, b = torch.split(y, [2, 4], dim=1)
        c, d = b.chunk(2, dim=1)
        m = y.mean(dim=1, keepdim=True)  # not a global pool: a Reduce
        z = (y - m) / (y.amax(dim=(2, 3), keepdim=True).abs() + 1.0)
        z = torch.exp(-z.abs()) * 0.5 - 1.0 + F.hardsigmoid(a).sum(1, keepdim=True)
        g = torch.matmul(c[:, 0], d[:, 1].transpose(1, 2)) @ z[:, 2]  # (B, 5, 5)
        up = F.interpolate(z[:, 1:3], size=(7, 9), mode="bilinear", align_corners=True)
        return g.flatten(1).sum(-1, keepdim=True) + up[..., ::2].mean((2, 3))


def test_tensor_functions_map_to_the_tensor_nodes_and_match_at_batch_1_and_5() -> None:
    m = _TensorOps().eval()
    graph, sd = import_module(m, input_shape=(4, 5, 5))
    types = {n.type for n in graph.nodes.values()}
    expected = {"SplitTensor", "Chunk", "Reduce", "Sub", "Div", "Elementwise", "Hardsigmoid"}
    assert expected | {"MatMul", "Select", "Slice", "Upsample"} <= types
    assert {"mean", "amax", "sum"} <= {
        n.params["op"] for n in graph.nodes.values() if n.type == "Reduce"
    }
    model = compile_model(graph)
    model.load_state_dict(sd, strict=True)
    model.eval()
    for batch in (1, 5):
        x = torch.randn(batch, 4, 5, 5)
        with torch.no_grad():
            assert (model(x) - m(x)).abs().max() <= 1e-4


def test_a_number_divided_by_a_tensor_is_reported() -> None:
    class M(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2.0 / x

    with pytest.raises(ModelImportError, match="a number over a tensor"):
        import_module(M(), input_shape=(3,))
