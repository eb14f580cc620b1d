"""The compiler writes plain PyTorch: readable names, straight-line forward, same numbers."""

from __future__ import annotations

import ast

import pytest
import torch
from torch import nn

from engine import Graph, GraphError, compile_model, load_project
from engine.build.compile import node_at, node_for_exception
from tests.support.paths import EXAMPLES


class HandLeNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(400, 120)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(120, 84)
        self.relu4 = nn.ReLU()
        self.fc3 = nn.Linear(84, 10)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.conv1(image)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.flatten(x)
        return self.fc3(self.relu4(self.fc2(self.relu3(self.fc1(x)))))


def test_lenet_matches_a_hand_written_module() -> None:
    model = compile_model(load_project(EXAMPLES / "lenet.json"))
    hand = HandLeNet()
    hand.load_state_dict(model.state_dict())  # same attribute names, same shapes
    x = torch.randn(4, 1, 28, 28)
    assert torch.equal(model(x), hand(x))


def test_generated_forward_is_straight_line_code() -> None:
    model = compile_model(load_project(EXAMPLES / "lenet.json"))
    tree = ast.parse(model.code)
    forward = next(
        n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "forward"
    )
    assert [a.arg for a in forward.args.args] == ["self", "image"]
    assert not any(isinstance(n, (ast.For, ast.While, ast.If)) for n in ast.walk(forward))
    assert "x = self.conv1(image)" in model.code
    assert "x = self.relu1(x)" in model.code  # names reused, as a hand-written forward does
    assert "self.fc1 = nn.Linear(400, 120)" in model.code


def test_code_runs_standalone(tmp_path) -> None:
    g = Graph(name="with maxout")
    x = g.add("Input", shape=[6])
    m = g.add("Maxout", out_features=4, pieces=3)
    g.connect(x, m)
    model = compile_model(g)
    path = tmp_path / "model.py"
    path.write_text(model.code)
    ns: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), ns)
    other = ns["WithMaxout"]()
    other.load_state_dict(model.state_dict())
    xs = torch.randn(5, 6)
    assert torch.equal(other(xs), model(xs))
    assert "import engine" not in model.code


def test_names_become_safe_unique_identifiers() -> None:
    g = Graph()
    x = g.add("Input", shape=[3], name="in put")
    a = g.add("Linear", name="class", out_features=3)
    b = g.add("Linear", name="forward", out_features=3)
    c = g.add("Linear", name="2nd", out_features=3)
    g.connect(x, a)
    g.connect(a, b)
    g.connect(b, c)
    model = compile_model(g)
    assert "def forward(self, in_put):" in model.code
    assert "self.class_ = nn.Linear(3, 3)" in model.code
    assert "self.forward_ = nn.Linear(3, 3)" in model.code
    assert "self.n_2nd = nn.Linear(3, 3)" in model.code
    assert model(torch.randn(2, 3)).shape == (2, 3)


def test_lines_map_back_to_nodes() -> None:
    g = load_project(EXAMPLES / "lenet.json")
    model = compile_model(g)
    lines = model.code.splitlines()
    for lineno, text in enumerate(lines, start=1):
        if "self.conv2(" in text:
            assert node_at(model, lineno) == "conv2"
    fc1_line = next(i for i, t in enumerate(lines, 1) if "self.fc1(" in t)
    assert node_at(model, fc1_line) == "fc1"


def test_runtime_traceback_points_into_generated_source() -> None:
    model = compile_model(load_project(EXAMPLES / "lenet.json"))
    with pytest.raises(RuntimeError) as err:
        model(torch.randn(2, 3, 28, 28))  # 3 channels instead of 1
    assert node_for_exception(model, err.value) == "conv1"


def test_compile_refuses_a_graph_with_errors() -> None:
    g = Graph()
    g.add("Input", shape=[4])
    g.add("Linear", name="fc")
    with pytest.raises(GraphError) as err:
        compile_model(g)
    assert "fc: no input connected" in str(err.value)
    assert err.value.problems[0].node == "linear"


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_recurrent_last_step_is_the_final_hidden_state(kind: str, bidirectional: bool) -> None:
    g = Graph()
    x = g.add("Input", shape=[7, 5])
    r = g.add(kind, hidden_size=6, output="last", bidirectional=bidirectional, num_layers=2)
    g.connect(x, r)
    model = compile_model(g).eval()
    xs = torch.randn(3, 7, 5)
    layer = getattr(model, r)
    _, h = layer(xs)
    h = h[0] if kind == "LSTM" else h
    expected = torch.cat([h[-2], h[-1]], dim=-1) if bidirectional else h[-1]
    torch.testing.assert_close(model(xs), expected)


def test_multiple_inputs_become_forward_arguments() -> None:
    g = Graph()
    img = g.add("Input", shape=[8], name="image")
    meta = g.add("Input", shape=[3], name="meta")
    cat = g.add("Concat", dim=1)
    g.connect(img, cat)
    g.connect(meta, cat)
    fc = g.add("Linear", out_features=2)
    g.connect(cat, fc)
    model = compile_model(g)
    assert "def forward(self, image, meta):" in model.code
    assert "x = torch.cat([image, meta], dim=1)" in model.code
    assert model(torch.randn(4, 8), torch.randn(4, 3)).shape == (4, 2)
    assert model.torchwire.input_names == ["image", "meta"]
