"""Small data files and graphs for the data and training tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from engine import Graph

CSV = """age,income,plan,score,label
30,50.5,basic,1.0,yes
41,,pro,2.5,no
25,38.0,basic,0.5,yes
52,71.2,plus,3.1,no
33,44.4,,1.2,yes
47,66.0,pro,2.8,no
29,41.9,basic,0.9,yes
38,58.3,plus,2.0,no
61,80.1,pro,3.6,no
22,30.0,basic,0.2,yes
"""


def write_csv(tmp: Path, text: str = CSV, name: str = "table.csv") -> str:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def write_npz(tmp: Path, n: int = 60, classes: int = 3, shape: tuple[int, ...] = (5,)) -> str:
    rng = np.random.default_rng(0)
    p = tmp / "arrays.npz"
    np.savez(p, x=rng.normal(size=(n, *shape)).astype(np.float32), y=rng.integers(0, classes, n))
    return str(p)


def write_images(tmp: Path, per_class: int = 6, classes: tuple[str, ...] = ("cat", "dog")) -> str:
    from PIL import Image

    root = tmp / "images"
    rng = np.random.default_rng(0)
    for i, c in enumerate(classes):
        (root / c).mkdir(parents=True)
        for j in range(per_class):
            a = (rng.random((12, 10, 3)) * 80 + i * 150).astype(np.uint8)
            Image.fromarray(a).save(root / c / f"{j}.png")
    return str(root)


def data_graph(dataset: str, chain: list[tuple[str, dict[str, Any]]], **params: Any) -> Graph:
    """dataset → chain … → Input; returns the graph (the last data node has id 'last')."""
    g = Graph(name="data")
    prev = g.add(dataset, id="ds", **params)
    for i, (t, p) in enumerate(chain):
        nid = g.add(t, id="last" if i == len(chain) - 1 else None, **p)
        g.connect(prev, nid)
        prev = nid
    x = g.add("Input", id="input")
    g.connect(prev, x)
    return g
