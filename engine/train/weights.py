"""Starting weights for a training run (the training setting ``init_from``).

Transfer learning starts from weights someone trained: a Torchwire checkpoint or run
folder, a ``.safetensors`` file, or a plain PyTorch ``state_dict`` saved with
``torch.save``. Nothing is unpickled: ``.pt`` files are read with ``weights_only=True``
(tensors and plain values only), so a file that needs more is refused, never run.

Tensors are matched by name to the compiled model's (its attributes are the nodes' names,
made identifiers by ``engine.names``), also after stripping a prefix every name of the file
shares (``model.``, ``module.`` from DataParallel …). What matched is loaded; the rest is
reported (``events.InitReport``): a new head is simply "missing", freshly initialised.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import torch

from engine.errors import TorchwireError
from engine.train import checkpoint as ck
from engine.train.events import InitReport

# Prefixes wrappers put before every name: Lightning modules, DataParallel, torch.compile.
KNOWN_PREFIXES = ("model.", "module.", "_orig_mod.", "model.module.", "net.", "backbone.")


class WeightsError(TorchwireError, ValueError):
    """A weights file that cannot be used to start training; the message names it."""


def read_weights(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The named tensors of a checkpoint, run folder, ``.safetensors`` or ``state_dict`` file."""
    p = Path(path)
    if p.is_dir():
        return _torchwire(p)
    if not p.exists():
        raise WeightsError(f"{p}: no such weights file", file=p)
    try:
        if p.stat().st_size == 0:
            raise WeightsError(f"{p}: the file is empty", file=p)
    except OSError as e:
        raise WeightsError(f"{p}: cannot be read ({e.strerror or e})", file=p) from None
    if p.suffix == ".safetensors":
        return _safetensors(p)
    if not zipfile.is_zipfile(p):
        raise WeightsError(
            f"{p}: not a PyTorch weights file (.pt saved by torch.save), a .safetensors file "
            "or a run folder",
            file=p,
        )
    try:
        data = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise WeightsError(
            f"{p}: holds Python objects, not only tensors, and Torchwire never unpickles "
            "objects (it reads .pt files with weights_only=True); save the model's weights "
            "instead: torch.save(model.state_dict(), path), or use safetensors",
            file=p,
        ) from None
    except Exception:
        raise WeightsError(f"{p}: the file is damaged or truncated", file=p) from None
    if isinstance(data, dict) and data.get("format") == ck.FORMAT:
        return _torchwire(p)
    sd = _tensors(data)
    if sd is None and isinstance(data, dict):
        for key in ("state_dict", "model_state_dict", "model", "weights"):
            sd = _tensors(data.get(key))
            if sd is not None:
                break
    if sd is None:
        raise WeightsError(
            f"{p}: not a state_dict (a dictionary of named tensors, e.g. saved by "
            "torch.save(model.state_dict(), path))",
            file=p,
        )
    return sd


def _torchwire(p: Path) -> dict[str, torch.Tensor]:
    try:
        return ck.load_checkpoint(p).state_dict
    except ck.CheckpointError as e:
        raise WeightsError(str(e), file=e.file or p) from None


def _safetensors(p: Path) -> dict[str, torch.Tensor]:
    from safetensors import safe_open

    try:
        with safe_open(str(p), framework="pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    except Exception:
        raise WeightsError(
            f"{p}: not a readable safetensors file; damaged or truncated?", file=p
        ) from None


def _tensors(data: object) -> dict[str, torch.Tensor] | None:
    if (
        isinstance(data, dict)
        and data
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in data.items())
    ):
        return dict(data)
    return None


def _prefixes(names: list[str]) -> list[str]:
    """ "" first, then the known wrapper prefixes and the dotted prefix all names share."""
    out = ["", *KNOWN_PREFIXES]
    parts = [n.split(".") for n in names]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    for i in range(1, len(common)):  # never the whole name
        cand = ".".join(common[:i]) + "."
        if cand not in out:
            out.append(cand)
    return out


def match_weights(
    model: torch.nn.Module, weights: dict[str, torch.Tensor], source: str
) -> tuple[dict[str, torch.Tensor], InitReport]:
    """The tensors of ``weights`` that fit ``model`` by name and shape, and the report.

    The prefix that matches the most names wins (none first, so a Torchwire file of the
    same project matches exactly). Raises WeightsError naming ``source`` when nothing fits.
    """
    mine = model.state_dict()
    best: tuple[int, str] = (-1, "")
    for prefix in _prefixes(list(weights)):
        n = sum(1 for k in weights if k.startswith(prefix) and k[len(prefix) :] in mine)
        if n > best[0]:
            best = (n, prefix)
    prefix = best[1]
    renamed = {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in weights.items()}
    loaded: dict[str, torch.Tensor] = {}
    wrong: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = []
    for k, v in renamed.items():
        if k not in mine:
            continue
        if tuple(v.shape) != tuple(mine[k].shape):
            wrong.append((k, tuple(v.shape), tuple(mine[k].shape)))
            continue
        loaded[k] = _as_weight(k, v, mine[k], source)
    if not loaded:
        theirs = ", ".join(list(weights)[:3]) or "no tensors at all"
        ours = ", ".join(list(mine)[:3]) or "no weights"
        why = (
            f"{len(wrong)} have the right names but other shapes"
            if wrong
            else f"it has {theirs}; this model has {ours}"
        )
        raise WeightsError(
            f"{source}: none of its {len(weights)} tensors fit this model's layers ({why}); "
            "init_from matches tensors to nodes by name (node 'fc1' holds 'fc1.weight'): "
            "rename the nodes or use weights of this model",
            file=source,
        )
    report = InitReport(
        source=str(source),
        loaded=tuple(k for k in mine if k in loaded),
        missing=tuple(k for k in mine if k not in renamed),
        unexpected=tuple(k for k in renamed if k not in mine),
        wrong_shape=tuple(wrong),
        prefix=prefix,
    )
    return loaded, report


def _as_weight(name: str, v: torch.Tensor, mine: torch.Tensor, source: str) -> torch.Tensor:
    """``v`` in the dtype of the model's tensor ``name``, or WeightsError: a bool or integer
    tensor is not a float weight (a cast would make up values), and a weight that is NaN or
    infinite (in the file, or once cast) would only fail training later with a misleading
    message."""
    if mine.is_floating_point() and not v.is_floating_point():
        raise WeightsError(
            f"{source}: tensor {name!r} holds {str(v.dtype).removeprefix('torch.')} values, "
            f"but the model's {name} is a {str(mine.dtype).removeprefix('torch.')} weight; "
            "this file's tensor is not weights for it",
            file=source,
        )
    out = v.detach().to(dtype=mine.dtype)
    if out.is_floating_point() or out.is_complex():
        finite = torch.isfinite(out)
        if not bool(finite.all()):
            what = "NaN" if bool(torch.isnan(out).any()) else "infinite"
            raise WeightsError(
                f"{source}: tensor {name!r} holds {what} values "
                f"({int((~finite).sum())} of {out.numel()}, as {str(mine.dtype)[6:]}); "
                "the weights are damaged (a diverged run saved them?): use other weights",
                file=source,
            )
    return out


def init_from(model: torch.nn.Module, path: str | os.PathLike[str]) -> InitReport:
    """Load what fits of the weights at ``path`` into ``model``; the report says what."""
    loaded, report = match_weights(model, read_weights(path), str(path))
    model.load_state_dict(loaded, strict=False)
    return report
