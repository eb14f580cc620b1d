"""Checkpoints: ``.pt`` files saved with ``torch.save`` and read back with
``weights_only=True`` (tensors, numbers and strings only, never pickled objects), plus
``model.safetensors`` holding the final weights. Metadata (the project, the fitted
preprocessing, class names, training position) is plain JSON inside both.

Every write goes through ``engine.fileio`` (unique temporary, fsync, rename); every read
checks what it got, so a damaged or foreign file is one ``CheckpointError`` naming it.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from engine import fileio
from engine.errors import TorchwireError
from engine.project import project_from_dict

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
        return project_from_dict(self.graph, self.path)


def _torch_save(payload: dict[str, Any], tmp: Path, path: Path) -> None:
    try:
        torch.save(payload, tmp)
    except Exception as e:
        err = fileio.write_error(e, path)
        if err is e:
            raise
        raise err from e


def save(path: str | os.PathLike[str], payload: dict[str, Any]) -> None:
    """Write one checkpoint atomically (``fileio.atomic_path``): the old file or the new one,
    never half of one, and no temporary left; a full disk is a ``WriteError`` naming it."""
    path = Path(path)
    with fileio.atomic_path(path) as tmp:
        _torch_save(payload, tmp, path)


def save_all(items: list[tuple[str | os.PathLike[str], dict[str, Any]]]) -> None:
    """Write checkpoints that describe each other (``best.pt`` and ``last.pt``) as one change.

    All are written to temporaries first and published together (``fileio.publish_all``),
    so a failure while writing any of them (a full disk) replaces none: the previous pair
    stays, consistent, and the error (a ``WriteError``) names the file that failed.
    """
    written: list[tuple[Path, Path]] = []
    try:
        for path, payload in items:
            path = Path(path)
            try:
                tmp = fileio.temp_path(path)
            except OSError as e:
                raise fileio.write_error(e, path) from e
            written.append((tmp, path))
            _torch_save(payload, tmp, path)
    except BaseException:
        for tmp, _ in written:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    fileio.publish_all(written)


def save_safetensors(
    path: str | os.PathLike[str], state_dict: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    """The final weights as ``.safetensors`` (metadata as JSON), written atomically."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    path = Path(path)
    with fileio.atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"torchwire": json.dumps(meta)})


def _invalid(p: Path, reason: str) -> CheckpointError:
    # Never torch's own text: it advises weights_only=False, i.e. running the file's code.
    return CheckpointError(f"{p} is not a valid Torchwire checkpoint ({reason})", file=p)


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a ``.pt`` or ``.safetensors`` checkpoint, or a run folder (its best, else last).

    Anything wrong with the file is a ``CheckpointError`` naming it, whatever is wrong:
    files are untrusted input (they are shared), and loading never runs their code.
    """
    p = Path(path)
    if p.is_dir():
        for name in ("best.pt", "last.pt", "model.safetensors"):
            if (p / name).exists():
                p = p / name
                break
        else:
            raise CheckpointError(
                f"{path}: no checkpoint in this folder (best.pt, last.pt)", file=path
            )
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint", file=p)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise CheckpointError(f"{p}: cannot be read ({e.strerror or e})", file=p) from None
    if size == 0:
        raise _invalid(p, "the file is empty")
    if p.suffix == ".safetensors":
        return _load_safetensors(p)
    if not zipfile.is_zipfile(p):
        raise _invalid(p, "not a PyTorch checkpoint file; damaged or truncated?")
    try:
        data = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise _invalid(p, "it holds objects other than tensors and plain values") from None
    except Exception:
        raise _invalid(p, "the file is damaged or truncated") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _invalid(p, "no Torchwire checkpoint format marker")
    version = data.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise _invalid(p, "its version is not a number")
    if version > VERSION:
        raise CheckpointError(f"{p}: made by a newer Torchwire; please update", file=p)
    if "meta" not in data:
        raise _invalid(p, "it has no metadata")
    meta = _parse_meta(p, data["meta"])
    state = _state_dict(p, data.get("model"), "model")
    optimizer = data.get("optimizer")
    if optimizer is not None and not isinstance(optimizer, dict):
        raise _invalid(p, "its optimizer state is not a dictionary")
    return _checkpoint(
        p,
        state,
        meta,
        optimizer,
        {
            k: v
            for k, v in data.items()
            if k not in ("format", "version", "meta", "model", "optimizer")
        },
    )


def _parse_meta(p: Path, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, str):
        raise _invalid(p, "its metadata is not text")
    try:
        meta = json.loads(raw)
    except ValueError:
        raise _invalid(p, "its metadata is not JSON") from None
    if not isinstance(meta, dict):
        raise _invalid(p, "its metadata is not a JSON object")
    return meta


def _state_dict(p: Path, sd: Any, what: str) -> dict[str, torch.Tensor]:
    if not isinstance(sd, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in sd.items()
    ):
        raise _invalid(p, f"its {what} weights are not a dictionary of tensors")
    return sd


def non_finite_weights(state: dict[str, torch.Tensor]) -> str | None:
    """The first floating-point tensor holding NaN or infinite values, said for the user
    (``tensor 'fc.weight' holds NaN values (3 of 64)``), else None.

    Weights like these (a diverged run saved them) make every step's loss NaN, and the
    training loop can only blame the learning rate; naming the tensor says what is wrong.
    """
    for name in sorted(state):
        t = state[name]
        if not (t.is_floating_point() or t.is_complex()):
            continue
        finite = torch.isfinite(t)
        if bool(finite.all()):
            continue
        nan = bool(torch.isnan(t).any())
        inf = bool(torch.isinf(t).any())
        what = "NaN and infinite" if nan and inf else ("NaN" if nan else "infinite")
        return f"tensor {name!r} holds {what} values ({int((~finite).sum())} of {t.numel()})"
    return None


def _checkpoint(
    p: Path,
    state: dict[str, torch.Tensor],
    meta: dict[str, Any],
    optimizer: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> Checkpoint:
    """Check the metadata's keys and types once, so no reader meets a KeyError later."""
    meta.setdefault("class_names", [])
    for key, typ, what in (
        ("preprocessing", dict, "an object"),
        ("graph", dict, "an object"),
        ("task", str, "text"),
        ("class_names", list, "a list"),
    ):
        if key not in meta:
            raise _invalid(p, f"its metadata has no {key!r}")
        if not isinstance(meta[key], typ):
            raise _invalid(p, f"its metadata's {key!r} is not {what}")
    if meta["task"] not in ("classification", "regression"):
        raise _invalid(p, f"unknown task {meta['task']!r}")
    if not all(isinstance(c, str) for c in meta["class_names"]):
        raise _invalid(p, "its class names are not all text")
    steps = meta["preprocessing"].get("steps", [])
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise _invalid(p, "its preprocessing steps are not a list of objects")
    if "epoch" in meta and (not isinstance(meta["epoch"], int) or isinstance(meta["epoch"], bool)):
        raise _invalid(p, "its epoch is not a whole number")
    return Checkpoint(
        path=str(p),
        state_dict=state,
        preprocessing=meta.pop("preprocessing"),
        class_names=list(meta["class_names"]),
        task=meta["task"],
        graph=meta.pop("graph"),
        meta=meta,
        optimizer=optimizer,
        extra=extra or {},
    )


def _load_safetensors(p: Path) -> Checkpoint:
    from safetensors import safe_open

    try:
        with safe_open(str(p), framework="pt") as f:
            md = f.metadata() or {}
            sd = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    except Exception:
        raise _invalid(p, "not a readable safetensors file; damaged or truncated?") from None
    if "torchwire" not in md:
        raise _invalid(p, "no Torchwire metadata in this safetensors file")
    return _checkpoint(p, sd, _parse_meta(p, md["torchwire"]))
