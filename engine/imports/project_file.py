"""Writing an import as a project that trains from the imported weights.

The weights go to ``<project>.safetensors`` beside the project, and the project's training
setting ``init_from`` names that file (relative to the project, so the pair can be moved
together): ``torchwire train project.json`` then starts from the imported weights, which is
the point of importing a trained model. Freezing all but the last layers is the usual first
step of fine-tuning, so the import can do it too.

An import replaces no file unless asked (``overwrite=True``, ``torchwire import --force``,
the designer's confirmation), and never the model it reads, asked or not: a mistyped
``-o`` would otherwise turn the only copy of a trained model into a project file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from safetensors.torch import save

from engine.build.compile import compile_model
from engine.fileio import WriteError, atomic_write
from engine.graph import Graph, GraphError
from engine.project import save_project


def weights_path(project: str | os.PathLike[str]) -> Path:
    """Where the weights of an imported project go: ``net.json`` → ``net.safetensors``."""
    return Path(project).with_suffix(".safetensors")


class OutputExistsError(WriteError):
    """The import would replace files that exist; ``existing`` lists them."""

    def __init__(self, existing: list[Path]) -> None:
        names = " and ".join(str(p) for p in existing)
        verb = "exists" if len(existing) == 1 else "exist"
        super().__init__(
            f"{names} already {verb}; an import replaces no file unless told to "
            "(torchwire import --force, or overwrite=True)",
            file=str(existing[0]),
        )
        self.existing = existing


def import_outputs(project: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The files an import into ``project`` writes: the project and its weights."""
    return Path(project), weights_path(project)


def replaced_by_import(project: str | os.PathLike[str]) -> list[Path]:
    """The files that exist where an import into ``project`` would write."""
    return [p for p in import_outputs(project) if os.path.lexists(p)]


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)  # hard links and symlinks too
        return a.resolve() == b.resolve()
    except (OSError, ValueError, RuntimeError):
        return False


def check_import_outputs(
    project: str | os.PathLike[str],
    source: str | os.PathLike[str] | None = None,
    *,
    overwrite: bool = False,
) -> None:
    """Refuse, before anything is written, an import that would destroy a file.

    ``source`` is the model file being imported (None for a module): neither output may be
    it, whatever ``overwrite`` says. The project may not be its own weights file. Files
    already there are replaced only with ``overwrite`` (OutputExistsError otherwise).
    """
    proj, weights = import_outputs(project)
    if _same_file(proj, weights):
        raise WriteError(
            f"{proj}: the project and its weights ({weights.name}) would be the same file; "
            "name the project .json",
            file=str(proj),
        )
    if source is not None:
        for out in (proj, weights):
            if _same_file(out, Path(source)):
                raise WriteError(
                    f"{out} is the model being imported ({source}); writing there would "
                    "replace it: choose another name for the project",
                    file=str(out),
                )
    existing = [] if overwrite else replaced_by_import(project)
    if existing:
        raise OutputExistsError(existing)


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
    result: Any,
    project: str | os.PathLike[str],
    *,
    freeze_all_but: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the project and ``<project>.safetensors`` (both atomically), the project's
    ``init_from`` naming the weights; ``freeze_all_but``: freeze all layers but the last
    ``n`` first. Returns the weights' path.

    Existing files are replaced only with ``overwrite``, and the imported model file never
    (``check_import_outputs``): WriteError, before anything is written.
    """
    report = result.report
    check_import_outputs(
        project, report.source if report.format == "onnx" else None, overwrite=overwrite
    )
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
