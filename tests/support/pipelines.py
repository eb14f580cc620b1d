"""Whole training pipelines built in a few lines for the tests."""

from __future__ import annotations

from typing import Any

from engine import Graph


def pipeline(
    dataset: tuple[str, dict[str, Any]],
    model: list[tuple[str, dict[str, Any]]],
    loss: tuple[str, dict[str, Any]] = ("CrossEntropyLoss", {}),
    optimizer: tuple[str, dict[str, Any]] = ("Adam", {"lr": 1e-2}),
    data: list[tuple[str, dict[str, Any]]] | None = None,
    **training: Any,
) -> Graph:
    g = Graph(name="test")
    prev = g.add(dataset[0], id="ds", **dataset[1])
    chain = data if data is not None else [("Split", {}), ("Standardize", {}), ("Batch", {})]
    for t, p in chain:
        nid = g.add(t, **p)
        g.connect(prev, nid)
        prev = nid
    last = prev
    x = g.add("Input", id="input")
    g.connect(last, x)
    prev = x
    for t, p in model:
        nid = g.add(t, **p)
        g.connect(prev, nid)
        prev = nid
    ls = g.add(loss[0], id="loss", **loss[1])
    g.connect(prev, ls, "output", "input")
    g.connect(last, ls, "targets", "target")
    op = g.add(optimizer[0], id="opt", **optimizer[1])
    g.connect(ls, op)
    g.settings["training"] = {"epochs": 2, "device": "cpu", **training}
    return g


def mlp(out: int, hidden: int = 16) -> list[tuple[str, dict[str, Any]]]:
    return [("Linear", {"out_features": hidden}), ("ReLU", {}), ("Linear", {"out_features": out})]


BLOBS = ("Blobs", {"n_samples": 240, "centers": 3, "n_features": 4, "random_state": 1})
REGRESSION = ("Regression", {"n_samples": 240, "n_features": 5, "noise": 5.0})
