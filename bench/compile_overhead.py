"""Compiled graphs against the same architectures written by hand, measured side by side.

Prints forward+backward time ratios (target: compiled / hand ≤ 1.03) and the check time
of a 1000-node graph (target: well under a second). Runs are interleaved and the median
taken, since these machines are noisy.

    python bench/compile_overhead.py [--quick]
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import Graph, check, compile_model, load_project
from engine.zoo import mlp, resnet18

ROOT = Path(__file__).resolve().parents[1]


class HandLeNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class HandBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (self.down(x) if self.down is not None else x))


class HandResNet18(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.pool = nn.MaxPool2d(3, 2, 1)
        blocks, cin = [], 64
        for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            blocks += [HandBlock(cin, cout, stride), HandBlock(cout, cout, 1)]
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(512, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(torch.relu(self.bn1(self.conv1(x))))
        x = self.blocks(x)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def hand_mlp(sizes: list[int]) -> nn.Module:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def step_time(model: nn.Module, x: torch.Tensor, reps: int) -> float:
    t = time.perf_counter()
    for _ in range(reps):
        model.zero_grad(set_to_none=True)
        model(x).sum().backward()
    return (time.perf_counter() - t) / reps


def compare(
    name: str, compiled: nn.Module, hand: nn.Module, x: torch.Tensor, rounds: int, reps: int
) -> float:
    for m in (compiled, hand):
        step_time(m, x, 2)  # warm up
    tc, th = [], []
    for r in range(rounds):  # interleaved ABBA, so drift and position hit both alike
        if r % 2 == 0:
            tc.append(step_time(compiled, x, reps))
            th.append(step_time(hand, x, reps))
        else:
            th.append(step_time(hand, x, reps))
            tc.append(step_time(compiled, x, reps))
    mc, mh = statistics.median(tc), statistics.median(th)
    ratio = mc / mh
    print(f"{name:<22} compiled {mc * 1e3:8.2f} ms   hand {mh * 1e3:8.2f} ms   ratio {ratio:.3f}")
    return ratio


def big_graph(n: int) -> Graph:
    """~n nodes: residual MLP blocks, each of its own width (so the per-node cache cannot help)."""
    g = Graph(name="big")
    x = g.add("Input", shape=[64])
    prev, i = x, 0
    while len(g) < n - 4:
        w = 64
        a = g.add("Linear", out_features=w + i)
        g.connect(prev, a)
        b = g.add("ReLU")
        g.connect(a, b)
        c = g.add("Linear", out_features=w)
        g.connect(b, c)
        s = g.add("Add")
        g.connect(c, s)
        g.connect(prev, s)
        prev = s
        i += 1
    return g


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    args = ap.parse_args()
    rounds, reps = (3, 3) if args.quick else (9, 10)
    torch.manual_seed(0)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; forward+backward, median of {rounds}"
    )
    ratios = []
    lenet = compile_model(load_project(ROOT / "resources/examples/lenet.json"))
    ratios.append(
        compare("LeNet b=64", lenet, HandLeNet(), torch.randn(64, 1, 28, 28), rounds, reps)
    )
    sizes = [256, 512, 512, 256, 10]
    ratios.append(
        compare(
            "MLP b=256",
            compile_model(mlp(sizes)),
            hand_mlp(sizes),
            torch.randn(256, 256),
            rounds,
            reps,
        )
    )
    ratios.append(
        compare(
            "ResNet-18 64px b=8",
            compile_model(resnet18(image_size=64)),
            HandResNet18(),
            torch.randn(8, 3, 64, 64),
            max(4, rounds),
            max(2, reps // 3),
        )
    )
    print(f"worst ratio {max(ratios):.3f}  (target ≤ 1.03)")

    check(resnet18(image_size=32))  # warm torch's meta kernels and the MAC counter
    for label, g in (
        ("1000 distinct nodes", big_graph(1000)),
        ("ResNet-style, 1000 nodes", deep_resnet(1000)),
    ):
        check_time(label, g)


def deep_resnet(n: int) -> Graph:
    """A deep residual CNN: repeated blocks, as real large graphs are (the cache helps)."""
    from engine.zoo import basic_block

    g = Graph(name="deep")
    prev = g.add("Input", shape=[16, 32, 32])
    i = 0
    while len(g) < n - 8:
        prev = basic_block(g, prev, f"b{i}", 16, 1, 16)
        i += 1
    return g


def check_time(label: str, g: Graph) -> None:
    importlib.import_module("engine.check")._cache.clear()
    t = time.perf_counter()
    rep = check(g)
    cold = time.perf_counter() - t
    assert rep.ok, rep.errors[:3]
    t = time.perf_counter()
    check(g)
    warm = time.perf_counter() - t
    first = next(n for n in g if n.type in ("Linear", "Conv2d"))
    key = "out_features" if first.type == "Linear" else "padding"
    g.set(first.id, **{key: first.params[key] + 1})
    t = time.perf_counter()
    check(g)
    edit = time.perf_counter() - t
    print(
        f"check, {label} ({len(g)}): cold {cold * 1e3:.0f} ms, unchanged {warm * 1e3:.0f} ms, "
        f"after one edit {edit * 1e3:.0f} ms  (target: well under 1 s)"
    )


if __name__ == "__main__":
    main()
