"""What an export starts from: a graph or a compiled module, optionally a checkpoint.

Both exporters resolve their argument here into one ``Source``: the compiled module (in
eval mode, weights loaded), the graph when there is one, and the metadata that travels
with the exported file (task, class names, preprocessing statistics).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine import catalog
from engine.build.compile import compile_model
from engine.export.errors import ExportError
from engine.graph import Graph, GraphError
from engine.train.checkpoint import load_checkpoint

Progress = Callable[[str], None] | None


@dataclass
class Source:
    module: nn.Module
    graph: Graph | None
    checkpoint_path: str | None = None
    task: str | None = None
    class_names: list[str] | None = None
    preprocessing: Any = None
    checkpoint: Any = None
    node_types: dict[str, str] = field(default_factory=dict)  # node id -> node type
    node_names: dict[str, str] = field(default_factory=dict)  # node id -> user's name

    @property
    def info(self) -> Any:
        return self.module.torchwire  # type: ignore[union-attr]

    def label(self, nid: str | None) -> str:
        if nid is None:
            return "?"
        name = self.node_names.get(nid, nid)
        t = self.node_types.get(nid)
        return f"'{name}' ({t})" if t else f"'{name}'"


def say(progress: Progress, text: str) -> None:
    if progress is not None:
        progress(text)


def resolve(
    model_or_graph: Any, checkpoint: str | os.PathLike[str] | Any | None, progress: Progress
) -> Source:
    """Compile (or take) the module, load the checkpoint's weights, gather the metadata."""
    ckpt = None
    ckpt_path = None
    if checkpoint is not None:
        say(progress, "Loading the checkpoint…")
        ckpt, ckpt_path = _load_checkpoint(checkpoint)
    graph: Graph | None = None
    if model_or_graph is None and ckpt is not None:
        model_or_graph = ckpt.project() if hasattr(ckpt, "project") else ckpt.graph
    if isinstance(model_or_graph, Graph):
        graph = model_or_graph
        say(progress, "Checking and compiling the graph…")
        try:
            module = compile_model(graph)
        except GraphError as e:
            raise ExportError(f"the graph cannot be compiled: {e}") from None
    elif isinstance(model_or_graph, nn.Module):
        module = model_or_graph
        if not hasattr(module, "torchwire"):
            raise ExportError(
                "export_onnx/export_python take a Graph or a module made by compile_model "
                f"(one with .torchwire), got a plain {type(module).__name__}"
            )
    else:
        raise ExportError(
            f"expected a Graph or a compiled model, got {type(model_or_graph).__name__}"
        )
    if any(t.device.type != "cpu" for t in [*module.parameters(), *module.buffers()]):
        # exporters trace and onnxruntime checks on the CPU; the caller's module stays put
        import copy

        module = copy.deepcopy(module).to("cpu")
    src = Source(module=module, graph=graph, checkpoint_path=ckpt_path, checkpoint=ckpt)
    if graph is not None:
        src.node_types = {nid: n.type for nid, n in graph.nodes.items()}
        src.node_names = {nid: n.name for nid, n in graph.nodes.items()}
    else:
        src.node_types = _types_from_module(module)
        # without the graph, the layer attribute (named after the node) is the best name
        attrs = module.torchwire.node_of_attr  # type: ignore[union-attr]
        src.node_names = {nid: attr for attr, nid in attrs.items()}
    if ckpt is not None:
        state = getattr(ckpt, "state_dict", None)
        if state is None:
            raise ExportError(f"{ckpt_path}: the checkpoint holds no weights")
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as e:
            raise ExportError(
                f"{ckpt_path}: its weights do not fit this graph "
                f"({str(e).splitlines()[0]}); was it trained on another version of the project?"
            ) from None
        src.task = getattr(ckpt, "task", None)
        names = getattr(ckpt, "class_names", None)
        src.class_names = list(names) if names else None
        src.preprocessing = getattr(ckpt, "preprocessing", None)
    return src


def _load_checkpoint(checkpoint: Any) -> tuple[Any, str]:
    if not isinstance(checkpoint, (str, os.PathLike)):
        return checkpoint, str(getattr(checkpoint, "path", "") or "checkpoint")
    path = str(checkpoint)
    if not Path(path).exists():
        raise ExportError(f"{path}: no such checkpoint file")
    try:
        ckpt = load_checkpoint(path)
    except Exception as e:
        raise ExportError(str(e) if path in str(e) else f"{path}: {e}") from None
    return ckpt, str(getattr(ckpt, "path", path))


def _types_from_module(module: nn.Module) -> dict[str, str]:
    """Node types of a compiled module without its graph: from the layers' classes."""
    by_class = {s.module: s.type for s in catalog.all_specs() if s.module is not None}
    info = module.torchwire  # type: ignore[union-attr]
    out: dict[str, str] = {}
    for attr, nid in info.node_of_attr.items():
        sub = getattr(module, attr, None)
        if isinstance(sub, nn.Module) and type(sub) in by_class:
            out[nid] = by_class[type(sub)]
    return out


def random_inputs(
    module: nn.Module, batch: int, generator: torch.Generator
) -> tuple[torch.Tensor, ...]:
    """Inputs of the model's shapes: normal floats, token ids below the smallest vocabulary."""
    info = module.torchwire  # type: ignore[union-attr]
    vocab = [m.num_embeddings for m in module.modules() if isinstance(m, nn.Embedding)]
    high = min(vocab) if vocab else 2
    xs = []
    for shape, dt in zip(info.input_shapes, info.input_dtypes, strict=True):
        if dt.is_floating_point:
            xs.append(torch.randn((batch, *shape), generator=generator, dtype=dt))
        else:
            xs.append(torch.randint(0, high, (batch, *shape), generator=generator, dtype=dt))
    return tuple(xs)


class eval_mode:
    """Eval mode for the export, the caller's mode restored afterwards."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        self.was_training = module.training

    def __enter__(self) -> nn.Module:
        self.module.eval()
        return self.module

    def __exit__(self, *exc: object) -> None:
        self.module.train(self.was_training)
