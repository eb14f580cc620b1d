"""Writing an import as a project that trains from the imported weights.

The weights go to ``<project>.safetensors`` beside the project, and the project's training
setting ``init_from`` names that file (relative to the project, so the pair can be moved
together): ``torchwire train project.json`` then starts from the imported weights, which is
the point of importing a trained model. Freezing all but the last layers is the usual first
step of fine-tuning, so the import can do it too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from safetensors.torch import save

from engine.build.compile import compile_model
from engine.fileio import atomic_write
from engine.graph import Graph, GraphError
from engine.project import save_project


def weights_path(project: str | os.PathLike[str]) -> Path:
    """Where the weights of an imported project go: ``net.json`` → ``net.safetensors``."""
    return Path(project).with_suffix(".safetensors")


def layer_nodes(graph: Graph) -> list[str]:
    """The ids of the nodes that hold parameters, in the order the model runs them."""
    model = compile_model(graph)
    out = []
    for attr, nid in model.torchwire.node_of_attr.items():
        sub = getattr(model, attr, None)
        if sub is not None and any(True for _ in sub.parameters()):
            out.append(nid)
    return out


def freeze_all_but_last(graph: Graph, n: int) -> list[str]:
    """Freeze every layer with parameters except the last ``n`` (feature extraction: the
    imported backbone keeps its weights, the head learns); returns the frozen ids."""
    if n < 0:
        raise GraphError(f"freeze all but the last {n} layers: the count must be 0 or more")
    layers = layer_nodes(graph)
    frozen = layers[: max(len(layers) - n, 0)]
    for nid in frozen:
        graph.freeze(nid)
    return frozen


def save_import(
    result: Any, project: str | os.PathLike[str], *, freeze_all_but: int | None = None
) -> Path:
    """Write the project and ``<project>.safetensors`` (both atomically), the project's
    ``init_from`` naming the weights; ``freeze_all_but``: freeze all layers but the last
    ``n`` first. Returns the weights' path."""
    graph: Graph = result.graph
    wpath = weights_path(project)
    if freeze_all_but is not None:
        freeze_all_but_last(graph, freeze_all_but)
    training = graph.settings.setdefault("training", {})
    training["init_from"] = wpath.name  # relative: read from the project file's folder
    sd = {k: v.contiguous() for k, v in result.state_dict.items()}
    atomic_write(wpath, save(sd, metadata={"format": "pt", "source": "torchwire import"}))
    save_project(graph, project)
    return wpath
