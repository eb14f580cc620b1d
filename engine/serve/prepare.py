"""The model a server serves: an ONNX file as it is, or a run folder / project exported
first with its preprocessing baked in (the parity check passing, as every export).

The export's metadata gets one more key here, ``readout``: how the loss turns the model's
outputs into probabilities (``logits`` → softmax, ``log_probs`` → exp, ``sigmoid``), which
the numpy readout of ``/predict`` needs to answer exactly as ``torchwire predict``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine.analysis.check import check
from engine.export import ExportError, export_onnx
from engine.fileio import atomic_write
from engine.project import load_project
from engine.serve.errors import ServeError
from engine.train.checkpoint import load_checkpoint
from engine.train.specs import loss_spec


def readout_of(graph: Any) -> str:
    """The loss node's readout (``logits``, ``log_probs``, ``sigmoid``, ``values``)."""
    rep = check(graph)
    plan = rep.extra.get("train_plan")
    if plan is None:
        return ""
    node = graph.nodes[plan.loss]
    return loss_spec(node.type, node.params).readout


def add_metadata(path: str | os.PathLike[str], props: dict[str, str]) -> None:
    """Set ``props`` in the ONNX file's metadata (rewritten atomically, weights untouched)."""
    import onnx

    proto = onnx.load_model(str(path))
    keep = [p for p in proto.metadata_props if p.key not in props]
    del proto.metadata_props[:]
    for p in keep:
        proto.metadata_props.add(key=p.key, value=p.value)
    for k, v in props.items():
        proto.metadata_props.add(key=k, value=v)
    atomic_write(path, proto.SerializeToString())


def model_file(
    target: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    checkpoint: str | os.PathLike[str] | None = None,
    progress: Any = None,
) -> Path:
    """``target`` as an ONNX file to serve: an ``.onnx`` is copied to ``out``; a run folder
    (with its checkpoint) or a project file with ``checkpoint`` is exported to ``out``."""
    src, out = Path(target), Path(out)
    if not src.exists():
        raise ServeError(f"{src}: no such run folder, model or project", file=src)
    if src.is_file() and src.suffix.lower() == ".onnx":
        if checkpoint:
            raise ServeError("an .onnx model holds its weights: --checkpoint is for a run "
                             "folder or a project")  # fmt: skip
        if src.resolve() != out.resolve():
            atomic_write(out, src.read_bytes())
        return out
    if src.is_dir():
        ckpt = load_checkpoint(checkpoint or src)
        graph = ckpt.project()
        try:
            return export_for_serving(graph, ckpt, out, progress=progress)
        except ExportError as e:
            if "no such file" not in str(e):
                raise
            raise ServeError(
                f"{e} — the run folder's copy of the project looks for its data beside the "
                f"run; give the project file instead: PROJECT.json --checkpoint {src}"
            ) from None
    if src.suffix.lower() == ".json":
        if not checkpoint:
            raise ServeError(
                f"{src}: a project needs --checkpoint (a run folder or best.pt) to be served",
                file=src,
            )
        graph = load_project(src)
        ckpt = load_checkpoint(checkpoint)
    else:
        raise ServeError(f"{src}: expected a run folder, a model .onnx or a project .json",
                         file=src)  # fmt: skip
    return export_for_serving(graph, ckpt, out, progress=progress)


def export_for_serving(
    graph: Any, checkpoint: Any, out: str | os.PathLike[str], *, progress: Any = None
) -> Path:
    """``graph`` with ``checkpoint``'s weights as the ONNX file a server serves: raw
    features in (the preprocessing baked), parity-checked, ``readout`` in its metadata."""
    out = Path(out)
    report = export_onnx(graph, out, checkpoint=checkpoint, bake_preprocessing=True,
                         progress=progress)  # fmt: skip
    if not report.ok:
        raise ServeError(f"the export did not match torch: {report}")
    add_metadata(out, {"readout": readout_of(graph)})
    return out
