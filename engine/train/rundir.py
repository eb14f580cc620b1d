"""Run folders: their names, where a project's runs go, and its latest run.

One rule for the CLI, the training session, the tuner and the designer, so that a run made by
one is found by the others. A run folder is ``<slug>-<YYYYmmdd-HHMMSS>`` (``-2``, ``-3``… when
that folder exists already) in ``runs/`` beside the project; a study's is ``runs/tune-<slug>``.
Light on purpose: the designer's panels use it on the GUI thread.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

RUNS_FOLDER = "runs"
STAMP_FORMAT = "%Y%m%d-%H%M%S"
CHECKPOINT_FILES = ("best.pt", "last.pt")


def folder_slug(name: str, empty: str = "run") -> str:
    """``name`` as a folder-name part: runs of other characters become one ``_``; ``empty``
    when nothing is left (a project named "" or "???")."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("_") or empty


def _legacy_slug(name: str) -> str:
    """How the designer spelled the prefix before it used :func:`folder_slug`."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in (name or "model")) or "model"


def run_prefixes(name: str) -> set[str]:
    """Folder-name prefixes a run of project ``name`` may carry: today's and the one older
    designer versions wrote, so their runs are still listed and found."""
    return {folder_slug(name), _legacy_slug(name)}


def is_run_folder_of(name: str, folder_name: str) -> bool:
    """Whether ``folder_name`` is exactly a run-folder name of project ``name`` (its prefix,
    a time stamp, an optional ``-N``): how a run moved and renamed with its project (a run
    made while untitled, moved on the first save) is known as the project's own."""
    stamp = r"-\d{8}-\d{6}(-\d+)?"
    return any(
        re.fullmatch(re.escape(prefix) + stamp, folder_name) for prefix in run_prefixes(name)
    )


def run_folder_name(name: str, when: datetime | None = None) -> str:
    """The folder name of a run of project ``name`` started at ``when`` (default: now)."""
    return f"{folder_slug(name)}-{(when or datetime.now()).strftime(STAMP_FORMAT)}"


def unique_dir(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``… : the first that does not exist (two runs started
    in the same second get their own folders)."""
    p, i = path, 2
    while p.exists():
        p = path.with_name(f"{path.name}-{i}")
        i += 1
    return p


def new_run_dir(root: str | os.PathLike[str], name: str, when: datetime | None = None) -> Path:
    """A folder under ``root`` for a new run of project ``name`` (not created here)."""
    return unique_dir(Path(root) / run_folder_name(name, when))


def renamed_run_dir(root: Path, run_name: str, old_name: str, new_name: str) -> Path:
    """Where run folder ``run_name`` of project ``old_name`` goes under ``root`` once the
    project is called ``new_name``: the same time stamp after the new prefix."""
    stamp = "-" + run_name
    for old in sorted(run_prefixes(old_name), key=len, reverse=True):
        if run_name.startswith(old + "-"):
            stamp = run_name[len(old) :]
            break
    return unique_dir(root / f"{folder_slug(new_name)}{stamp}")


def runs_dir(project_path: str | os.PathLike[str]) -> Path:
    """Where a saved project's runs go: ``runs/`` beside it (as the designer and CLI use)."""
    return Path(project_path).resolve().parent / RUNS_FOLDER


def study_slug(name: str) -> str:
    """The name of a tuning study of project ``name`` (its storage's, and its folder's after
    ``tune-``)."""
    return folder_slug(name, empty="study")


def study_dir(base: str | os.PathLike[str], name: str) -> Path:
    """The folder of a tuning study of project ``name`` whose project lives in ``base``."""
    return Path(base) / RUNS_FOLDER / f"tune-{study_slug(name)}"


def latest_run(root: str | os.PathLike[str], name: str) -> Path | None:
    """The newest run of project ``name`` under ``root`` that holds a checkpoint (by the
    folder's modification time), or None: what Predict and Continue resume from."""
    runs: list[Path] = []
    try:
        for prefix in sorted(run_prefixes(name)):
            runs += [p for p in Path(root).glob(f"{prefix}-*") if p.is_dir()]
    except OSError:
        return None
    for run in sorted(set(runs), key=_mtime, reverse=True):
        if any((run / f).exists() for f in CHECKPOINT_FILES):
            return run
    return None


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime
    except OSError:
        return 0.0


__all__ = [
    "CHECKPOINT_FILES",
    "RUNS_FOLDER",
    "STAMP_FORMAT",
    "folder_slug",
    "is_run_folder_of",
    "latest_run",
    "new_run_dir",
    "renamed_run_dir",
    "run_folder_name",
    "run_prefixes",
    "runs_dir",
    "study_dir",
    "study_slug",
    "unique_dir",
]
