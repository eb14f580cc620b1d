"""Plugin node files whose code calls ``sys.exit`` only when it really runs (off the meta
device the check uses), and a trainable project around such a node."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from engine import Graph
from engine.catalog import plugins

EXITS_WHEN_BUILT = """
import sys

import torch
from torch import nn


class twx_BuildQuit(nn.Module):
    def __init__(self, in_features: int) -> None:
        super().__init__()
        if torch.empty(1).device.type != "meta":  # the check builds on meta: it passes
            sys.exit(4)

    def forward(self, x):
        return x
"""

EXITS_WHEN_RUN = """
import sys

import torch
from torch import nn


class twx_RunQuit(nn.Module):
    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(in_features))

    def forward(self, x):
        if not x.is_meta:  # the check runs forward on meta: it passes
            sys.exit(3)
        return x * self.scale
"""


@contextmanager
def no_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Within it no plugin types, node path or twx_ modules but those loaded; after it none."""
    monkeypatch.setenv(plugins.NODE_PATH_ENV, "")
    path, mods = list(sys.path), set(sys.modules)
    yield
    plugins.unload()
    sys.path[:] = path
    for m in set(sys.modules) - mods:
        if m.startswith("twx_"):
            del sys.modules[m]


def node_folder(tmp: Path, file: str, text: str) -> Path:
    folder = tmp / "nodes"
    folder.mkdir(exist_ok=True)
    (folder / file).write_text(text)
    return folder


def trainable(node_type: str) -> Graph:
    """Blobs → Split → Standardize → Batch → Input → the node → Linear → Output, a
    cross-entropy loss and Adam, one epoch on the CPU."""
    g = Graph(name="quitter")
    prev = g.add("Blobs", n_samples=60, centers=3, n_features=4, random_state=1)
    for t in ("Split", "Standardize", "Batch"):
        nid = g.add(t)
        g.connect(prev, nid)
        prev = nid
    batch = prev
    inp = g.add("Input", shape=[4])
    g.connect(batch, inp)
    node = g.add(node_type, name="quit")
    g.connect(inp, node)
    fc = g.add("Linear", out_features=3)
    g.connect(node, fc)
    out = g.add("Output")
    g.connect(fc, out)
    loss = g.add("CrossEntropyLoss")
    g.connect(out, loss, None, "input")
    g.connect(batch, loss, "targets", "target")
    g.connect(loss, g.add("Adam", lr=0.05))
    g.settings.setdefault("training", {}).update(
        epochs=1, device="cpu", cpu_threads=1, checkpoint="last"
    )
    return g
