"""How loading, checking and saving scale with the graph's size (they must be linear).

Builds chains Input → Linear → ReLU → Linear … of 1k, 10k and 100k nodes (small layers,
so the time is the graph's bookkeeping, not torch), then prints the seconds of each
operation and the ratio time(10x nodes) / time(x nodes), measured side by side in one
run: a ratio near 10 means linear, near 100 means quadratic.

    python bench/graph_scale.py [--sizes 1000 10000 100000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from typing import Any

from engine.analysis.check import check
from engine.graph import Graph
from engine.project import loads_project, to_json


def chain(n: int) -> Graph:
    """An ``n``-node chain: Input(8) → Linear(4) → ReLU → Linear(4) → ReLU …"""
    g = Graph(name=f"chain{n}")
    prev = g.add("Input", shape=[8])
    for i in range(1, n):
        if i % 2:
            nid = g.add("Linear", id=f"fc{i}", out_features=4)
        else:
            nid = g.add("ReLU", id=f"relu{i}")
        g.connect(prev, nid, "output", "input")
        prev = nid
    return g


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def measure(n: int) -> dict[str, float]:
    text = to_json(chain(n))
    t_load, g = _timed(lambda: loads_project(text))
    t_check, rep = _timed(lambda: check(g))
    assert rep.ok, rep.errors[:3]
    t_save, _ = _timed(lambda: to_json(g))
    return {"load": t_load, "check": t_check, "save": t_save}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    ap.add_argument("--rounds", type=int, default=2, help="best of, sizes in ABBA order")
    args = ap.parse_args()
    measure(200)  # warm up: imports, catalog, the meta-device cache
    results: dict[int, dict[str, float]] = {}
    for r in range(args.rounds):  # alternate the order so drift hits every size alike
        for n in args.sizes if r % 2 == 0 else reversed(args.sizes):
            m = measure(n)
            best = results.setdefault(n, m)
            for op, t in m.items():
                best[op] = min(best[op], t)
    results = {n: results[n] for n in args.sizes}
    ops = ("load", "check", "save")
    print(f"{'nodes':>8} " + " ".join(f"{op + ' s':>9}" for op in ops))
    for n, r in results.items():
        print(f"{n:>8} " + " ".join(f"{r[op]:>9.3f}" for op in ops))
    sizes = list(results)
    for a, b in itertools.pairwise(sizes):
        ratios = " ".join(f"{op} {results[b][op] / max(results[a][op], 1e-9):.1f}x" for op in ops)
        print(f"{b}/{a} nodes ({b / a:.0f}x): {ratios}")


if __name__ == "__main__":
    main()
