"""Checkpoints: ``.pt`` files saved with ``torch.save`` and read back with
``weights_only=True`` (tensors, numbers and strings only, never pickled objects), plus
``model.safetensors`` holding the final weights. Metadata (the project, the fitted
preprocessing, class names, training position) is plain JSON inside both.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from engine.errors import TorchwireError

FORMAT = "torchwire-checkpoint"
VERSION = 1


class CheckpointError(TorchwireError, ValueError):
    """A checkpoint that cannot be read; the message names the file."""


@dataclass
class Checkpoint:
    """A trained model and everything needed to use it again.

    ``preprocessing`` is the fitted chain (JSON): per step its statistics (mean/std,
    min/max, category lists, fill values), fitted on the training split only; export bakes
    them into ONNX and generated scripts. ``graph`` is the project as saved (a dict for
    ``engine.project.project_from_dict``).
    """

    path: str
    state_dict: dict[str, torch.Tensor]
    preprocessing: dict[str, Any]
    class_names: list[str]
    task: str
    graph: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    optimizer: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # rng states, accumulators, perm

    @property
    def epoch(self) -> int:
        return int(self.meta.get("epoch", 0))

    def project(self) -> Any:
        """The saved project as a ``Graph``."""
        from engine.project import project_from_dict

        return project_from_dict(self.graph, self.path)


def save(path: str | os.PathLike[str], payload: dict[str, Any]) -> None:
    """Atomic write: a temporary file, then rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def save_safetensors(
    path: str | os.PathLike[str], state_dict: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(tensors, str(tmp), metadata={"torchwire": json.dumps(meta)})
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a ``.pt`` or ``.safetensors`` checkpoint, or a run folder (its best, else last)."""
    p = Path(path)
    if p.is_dir():
        for name in ("best.pt", "last.pt", "model.safetensors"):
            if (p / name).exists():
                p = p / name
                break
        else:
            raise CheckpointError(f"{path}: no checkpoint in this folder (best.pt, last.pt)")
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint")
    if p.suffix == ".safetensors":
        return _load_safetensors(p)
    try:
        data = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(
            f"{p}: not a readable checkpoint ({str(e).splitlines()[0]})"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(f"{p}: not a Torchwire checkpoint")
    if int(data.get("version", 0)) > VERSION:
        raise CheckpointError(f"{p}: made by a newer Torchwire; please update")
    meta = json.loads(data["meta"])
    return Checkpoint(
        path=str(p),
        state_dict=data["model"],
        preprocessing=meta.pop("preprocessing"),
        class_names=list(meta.get("class_names", [])),
        task=meta.get("task", ""),
        graph=meta.pop("graph"),
        meta=meta,
        optimizer=data.get("optimizer"),
        extra={
            k: v
            for k, v in data.items()
            if k not in ("format", "version", "meta", "model", "optimizer")
        },
    )


def _load_safetensors(p: Path) -> Checkpoint:
    from safetensors import safe_open

    try:
        with safe_open(str(p), framework="pt") as f:
            md = f.metadata() or {}
            sd = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    except Exception as e:
        raise CheckpointError(f"{p}: not a readable safetensors file ({e})") from None
    if "torchwire" not in md:
        raise CheckpointError(f"{p}: no Torchwire metadata in this safetensors file")
    meta = json.loads(md["torchwire"])
    return Checkpoint(
        path=str(p),
        state_dict=sd,
        preprocessing=meta.pop("preprocessing"),
        class_names=list(meta.get("class_names", [])),
        task=meta.get("task", ""),
        graph=meta.pop("graph"),
        meta=meta,
    )
