"""Compiled graphs against the same architectures written by hand, measured side by side.

Prints forward+backward time ratios (target: compiled / hand ≤ 1.03), the peak memory of
one inference forward (target ≤ 1.1×) and the check time of a 1000-node graph (target:
well under a second). Runs are interleaved and the median taken, since these machines
are noisy.

Peak memory is counted, not sampled: a dispatch mode sees every tensor an op creates and
adds its storage's bytes while any tensor on that storage is alive (weakref finalizers
subtract them), so the peak is exactly the activations a forward holds at once; weights
and the input exist before and are not counted. RSS would blur this with the allocator's
caching, and tracemalloc does not see torch's allocations.

    python bench/compile_overhead.py [--quick]
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
import weakref
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import Graph, check, compile_model, load_project
from engine.graph.zoo import mlp, resnet18

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


def _divisible(v: float, d: int = 8) -> int:
    n = max(d, int(v + d / 2) // d * d)
    return n + d if n < 0.9 * v else n


MBV2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2)]
MBV2 += [(6, 320, 1, 1)]


class HandInverted(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, t: int) -> None:
        super().__init__()
        hid = cin * t
        layers: list[nn.Module] = []
        if t != 1:
            layers += [nn.Conv2d(cin, hid, 1, bias=False), nn.BatchNorm2d(hid), nn.ReLU6()]
        layers += [
            nn.Conv2d(hid, hid, 3, stride, 1, groups=hid, bias=False),
            nn.BatchNorm2d(hid),
            nn.ReLU6(),
            nn.Conv2d(hid, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


class HandMobileNetV2(nn.Module):
    """torchvision's MobileNetV2, written with torch only."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32)]
        layers.append(nn.ReLU6())
        cin = 32
        for t, c, n, s in MBV2:
            for i in range(n):
                layers.append(HandInverted(cin, c, s if i == 0 else 1, t))
                cin = c
        layers += [nn.Conv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        return self.classifier(torch.flatten(x, 1))


def mobilenet_v2(image_size: int = 224) -> Graph:
    """The same network drawn node by node (3,504,872 parameters)."""
    g = Graph(name="mobilenet_v2")
    prev = g.add("Input", shape=[3, image_size, image_size], name="image")

    def cbr(x: str, cout: int, k: int, stride: int, groups: int, act: bool) -> str:
        c = g.add("Conv2d", out_channels=cout, kernel_size=k, stride=stride)
        g.set(c, padding=k // 2, groups=groups, bias=False)
        g.connect(x, c)
        b = g.add("BatchNorm2d")
        g.connect(c, b)
        if not act:
            return b
        r = g.add("ReLU6")
        g.connect(b, r)
        return r

    prev = cbr(prev, 32, 3, 2, 1, True)
    cin = 32
    for t, c, n, s in MBV2:
        for i in range(n):
            stride, hid = (s if i == 0 else 1), cin * t
            y = cbr(prev, hid, 1, 1, 1, True) if t != 1 else prev
            y = cbr(y, hid, 3, stride, hid, True)
            y = cbr(y, c, 1, 1, 1, False)
            if stride == 1 and cin == c:
                a = g.add("Add")
                g.connect(prev, a)
                g.connect(y, a)
                y = a
            prev, cin = y, c
    prev = cbr(prev, 1280, 1, 1, 1, True)
    for t, kw in (("AdaptiveAvgPool2d", {}), ("Flatten", {}), ("Dropout", {"p": 0.2})):
        nxt = g.add(t, **kw)
        g.connect(prev, nxt)
        prev = nxt
    fc = g.add("Linear", out_features=1000)
    g.connect(prev, fc)
    return g


class LiveBytes(torch.utils._python_dispatch.TorchDispatchMode):
    """The peak bytes of tensors created under it and alive at once (see the module doc)."""

    def __init__(self) -> None:
        super().__init__()
        self.live = self.peak = 0
        self.refs: dict[int, int] = {}  # storage pointer -> live tensors on it
        self.size: dict[int, int] = {}
        self.seen: weakref.WeakSet[torch.Tensor] = weakref.WeakSet()

    def _gone(self, ptr: int) -> None:
        self.refs[ptr] -= 1
        if not self.refs[ptr]:
            self.live -= self.size.pop(ptr)
            del self.refs[ptr]

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else [out]:
            if not isinstance(t, torch.Tensor) or t in self.seen:
                continue
            self.seen.add(t)
            st = t.untyped_storage()
            ptr = st.data_ptr()
            if ptr not in self.refs:
                self.refs[ptr] = 0
                self.size[ptr] = st.nbytes()
                self.live += st.nbytes()
                self.peak = max(self.peak, self.live)
            self.refs[ptr] += 1
            weakref.finalize(t, self._gone, ptr)
        return out


def peak_forward_bytes(model: nn.Module, x: torch.Tensor) -> int:
    model.eval()
    with torch.no_grad():
        counter = LiveBytes()
        with counter:
            y = model(x)
        del y
    return counter.peak


def forward_time(model: nn.Module, x: torch.Tensor, reps: int) -> float:
    with torch.no_grad():
        t = time.perf_counter()
        for _ in range(reps):
            model(x)
        return (time.perf_counter() - t) / reps


def compare_inference(
    name: str, compiled: nn.Module, hand: nn.Module, x: torch.Tensor, rounds: int, reps: int
) -> tuple[float, float]:
    """Peak memory ratio and inference time ratio (interleaved medians), printed."""
    mc, mh = peak_forward_bytes(compiled, x), peak_forward_bytes(hand, x)
    for m in (compiled, hand):
        forward_time(m, x, 1)
    tc, th = [], []
    for r in range(rounds):
        pair = [(tc, compiled), (th, hand)]
        for acc, m in pair if r % 2 == 0 else pair[::-1]:
            acc.append(forward_time(m, x, reps))
        mid_c, mid_h = statistics.median(tc), statistics.median(th)
    mib = 1024**2
    print(
        f"{name:<22} peak {mc / mib:7.1f} MiB vs hand {mh / mib:7.1f} MiB  ratio {mc / mh:.3f}   "
        f"inference {mid_c * 1e3:7.1f} ms vs {mid_h * 1e3:7.1f} ms  ratio {mid_c / mid_h:.3f}"
    )
    return mc / mh, mid_c / mid_h


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
    mbv2 = compile_model(mobilenet_v2(image_size=96))
    hand_mbv2 = HandMobileNetV2()
    n = sum(p.numel() for p in mbv2.parameters())
    assert n == sum(p.numel() for p in hand_mbv2.parameters()) == 3_504_872, n
    ratios.append(
        compare(
            "MobileNetV2 96px b=8",
            mbv2,
            hand_mbv2,
            torch.randn(8, 3, 96, 96),
            max(4, rounds),
            max(2, reps // 3),
        )
    )
    print(f"worst ratio {max(ratios):.3f}  (target ≤ 1.03)")

    print("one inference forward, batch 8, 224 px: peak live activations and time")
    mem, times = [], []
    for name, graph, hand in (
        ("ResNet-18", resnet18(image_size=224), HandResNet18()),
        ("MobileNetV2", mobilenet_v2(image_size=224), HandMobileNetV2()),
    ):
        m, t = compare_inference(
            name, compile_model(graph), hand, torch.randn(8, 3, 224, 224), max(3, rounds // 2), 1
        )
        mem.append(m)
        times.append(t)
    print(f"worst peak ratio {max(mem):.3f} (target ≤ 1.1), inference {max(times):.3f} (≤ 1.03)")

    check(resnet18(image_size=32))  # warm torch's meta kernels and the MAC counter
    for label, g in (
        ("1000 distinct nodes", big_graph(1000)),
        ("ResNet-style, 1000 nodes", deep_resnet(1000)),
    ):
        check_time(label, g)


def deep_resnet(n: int) -> Graph:
    """A deep residual CNN: repeated blocks, as real large graphs are (the cache helps)."""
    from engine.graph.zoo import basic_block

    g = Graph(name="deep")
    prev = g.add("Input", shape=[16, 32, 32])
    i = 0
    while len(g) < n - 8:
        prev = basic_block(g, prev, f"b{i}", 16, 1, 16)
        i += 1
    return g


def check_time(label: str, g: Graph) -> None:
    importlib.import_module("engine.analysis.check")._cache.clear()
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
