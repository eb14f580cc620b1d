"""An imported model as a new user makes one: a small MLP exported to ONNX, and the data,
loss and optimizer that make its imported project trainable."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from engine import load_project, save_project


def mlp_onnx(path: Path) -> Path:
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
    torch.onnx.export(
        m.eval(),
        (torch.randn(2, 4),),
        str(path),
        dynamo=False,
        input_names=["x"],
        output_names=["y"],
        dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
    )
    return path


def add_training(project: Path) -> None:
    """Blobs → Split → Standardize → Batch → the imported Input; its Output → loss → Adam."""
    g = load_project(project)
    (inp,) = [n.id for n in g.nodes.values() if n.type == "Input"]
    (out,) = [n.id for n in g.nodes.values() if n.type == "Output"]
    prev = g.add("Blobs", n_samples=120, centers=3, n_features=4, random_state=1)
    for t in ("Split", "Standardize", "Batch"):
        nid = g.add(t)
        g.connect(prev, nid)
        prev = nid
    g.connect(prev, inp)
    loss = g.add("CrossEntropyLoss")
    g.connect(out, loss, None, "input")  # the loss reads the model's output
    g.connect(prev, loss, "targets", "target")
    g.connect(loss, g.add("Adam", lr=0.05))
    g.settings["training"].update(epochs=1, device="cpu", cpu_threads=1, checkpoint="last")
    save_project(g, project)
