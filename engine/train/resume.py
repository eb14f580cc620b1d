"""Resuming: a checkpoint continues only the run it came from (same model, same settings),
checked before anything is trained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import catalog
from engine.project import project_to_dict
from engine.train.errors import TrainError

_POSITION_META = (
    "settings",
    "epoch",
    "step",
    "history",
    "best_value",
    "best_epoch",
    "bad_epochs",
    "schedule",
    "resume_epoch",
    "resume_batch",
)
_POSITION_EXTRA = ("rng_torch", "rng_data", "rng_aug")


def check_position(resume: Any, g: Any) -> None:
    """A resume checkpoint must hold a training position (a ``last.pt``, not a best.pt or
    model.safetensors), and be of this project, before anything is prepared."""
    path = resume.path
    kind = resume.meta.get("kind")
    missing = [k for k in _POSITION_META if k not in resume.meta]
    missing += [k for k in _POSITION_EXTRA if k not in resume.extra]
    if kind != "last" or missing or resume.optimizer is None:
        name = Path(path).name
        if kind in ("best", "final") or name in ("best.pt", "model.safetensors"):
            hint = f"it is a {name}, use the last.pt beside it"
        else:
            hint = f"no {', '.join(missing[:3]) or 'optimizer state'}"
        raise TrainError(f"{path} holds no training position ({hint})", kind="data", file=path)
    types = {
        "settings": dict,
        "history": list,
        "schedule": dict,
        "step": int,
        "epoch": int,
        "best_epoch": int,
        "bad_epochs": int,
        "resume_epoch": int,
        "resume_batch": int,
    }
    for k, t in types.items():
        if not isinstance(resume.meta[k], t) or isinstance(resume.meta[k], bool):
            raise TrainError(
                f"{path} is not a valid Torchwire checkpoint (its {k!r} is not "
                f"{'a whole number' if t is int else 'an ' + t.__name__ if t is dict else 'a list'})",
                kind="data",
                file=path,
            )
    if "epochs" not in resume.meta["settings"]:
        raise TrainError(
            f"{path} is not a valid Torchwire checkpoint (its settings have no 'epochs')",
            kind="data",
            file=path,
        )
    mine = _model_signature(project_to_dict(g))
    theirs = _model_signature(resume.graph)
    if theirs is not None and mine is not None and mine != theirs:
        name = resume.graph.get("name")
        who = f"project {name!r}" if isinstance(name, str) else "another project"
        raise TrainError(
            f"{path} is a checkpoint of {who}, not of {g.name!r} (their models differ: "
            f"{_first_difference(mine, theirs)}); resume with the project it was trained from",
            kind="data",
            file=path,
        )


def _model_signature(doc: Any) -> dict[str, str] | None:
    """The model and optimizer nodes of a project dict (id → type); None if unreadable.

    Their parameter shapes are compared once the model is built (``_check_resumable``);
    data nodes, parameters such as a dropout rate, and training settings may change.
    """
    try:
        sig = {}
        for nd in doc["nodes"]:
            try:
                kind = catalog.get(nd["type"]).kind
            except Exception:  # an unknown type: compare it as a model node
                kind = "model"
            if kind in ("model", "optimizer"):
                sig[str(nd["id"])] = str(nd["type"])
        return sig
    except (KeyError, TypeError):
        return None


def _first_difference(mine: dict[str, str], theirs: dict[str, str]) -> str:
    for k in sorted(set(mine) | set(theirs)):
        if k not in theirs:
            return f"node {k} ({mine[k]}) is only in this project"
        if k not in mine:
            return f"node {k} ({theirs[k]}) is only in the checkpoint"
        if mine[k] != theirs[k]:
            return f"node {k} is a {theirs[k]} there, a {mine[k]} here"
    return "?"
