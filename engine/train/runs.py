"""A project's runs: the run folders beside it, summarized (``torchwire runs PROJECT``).

A run folder (see ``engine.train.session``) holds ``project.json`` (the project as it was
trained, with the resolved training settings, written when the run starts),
``metrics.json`` (final test metrics, written when it ends), ``history.csv`` (one row per
epoch) and its checkpoints. Everything here only reads those files as data (JSON and CSV;
no checkpoint is loaded to list runs), so listing is quick and safe on any folder: only
regular files are read, never more than ``MAX_FILE_BYTES`` (a FIFO or a device named
``metrics.json`` is not waited on), and a run folder that cannot be read is listed as
``unreadable`` with its reason instead of failing the list of every run.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from engine.fileio import atomic_write, read_regular
from engine.project import load_project
from engine.train.checkpoint import load_checkpoint
from engine.train.rundir import is_run_folder_of, renamed_run_dir, run_prefixes, runs_dir
from engine.train.runlock import folder_busy

PROJECT_FILE = "project.json"
MAX_FILE_BYTES = 50_000_000  # a run file larger than this is not one of ours


class RunStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"  # stopped by the user or early stopping, with final metrics
    INCOMPLETE = "incomplete"  # no final metrics and no one training: failed or killed
    UNREADABLE = "unreadable"  # its files could not be read (``RunSummary.problem`` says why)


@dataclass(frozen=True)
class RunSummary:
    """One run folder, as the Runs dock and ``torchwire runs`` show it."""

    name: str
    path: Path
    started: datetime
    status: RunStatus
    # the resolved training settings, and each node parameter as "node.param" ({} for runs
    # made before runs saved project.json)
    settings: dict[str, Any]
    metrics: dict[str, float]  # final test metrics (numbers only)
    epochs: int  # epochs completed
    differs: dict[str, Any] = field(default_factory=dict)  # settings unlike the other runs'
    problem: str = ""  # why an UNREADABLE run could not be read

    @property
    def has_project(self) -> bool:
        return (self.path / PROJECT_FILE).is_file()


@dataclass(frozen=True)
class RunHistory:
    """``history.csv`` of a run: one list of numbers per column (``epoch``, ``val_loss``…)."""

    columns: dict[str, list[float]]

    def series(self, name: str) -> tuple[list[float], list[float]]:
        """(epochs, values) of one column, rows without a number left out."""
        xs, ys = [], []
        for x, y in zip(self.columns.get("epoch", []), self.columns.get(name, []), strict=False):
            if math.isfinite(x) and math.isfinite(y):
                xs.append(x)
                ys.append(y)
        return xs, ys


def _read_json(path: Path) -> Any:
    """A run file's JSON; None when it is missing, not a regular file, too large, or not
    JSON this parser can read (a nesting too deep for it included)."""
    raw = read_regular(path, MAX_FILE_BYTES)
    if raw is None:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return None


def _project_name(project_path: Path) -> str | None:
    doc = _read_json(project_path)
    name = doc.get("name") if isinstance(doc, dict) else None
    return name if isinstance(name, str) else None


def write_run_project(run_dir: str | os.PathLike[str], project: dict[str, Any]) -> None:
    """Save the project a run trains (``project_to_dict`` form) into its folder, at start."""

    atomic_write(Path(run_dir) / PROJECT_FILE, json.dumps(project, indent=2) + "\n")


def summarize(run_dir: str | os.PathLike[str]) -> RunSummary | None:
    """One run folder's summary; None when the folder holds no run."""
    p = Path(run_dir)
    files = [p / n for n in (PROJECT_FILE, "metrics.json", "history.csv", "last.pt", "best.pt")]
    present = [f for f in files if f.is_file()]
    if not present:
        return None
    proj = _read_json(p / PROJECT_FILE)
    settings: dict[str, Any] = {}
    if isinstance(proj, dict):
        settings = _flat_settings(proj)
    raw = _read_json(p / "metrics.json")
    metrics: dict[str, float] = {}
    epochs = 0
    stopped = False
    if isinstance(raw, dict):
        metrics = _metrics(raw)
        done = raw.get("epochs_completed")
        epochs = done if type(done) is int and done > 0 else 0
        stopped = raw.get("stopped") is True
    if folder_busy(p):
        status = RunStatus.RUNNING
    elif isinstance(raw, dict):
        status = RunStatus.STOPPED if stopped else RunStatus.FINISHED
    else:
        status = RunStatus.INCOMPLETE
    if not epochs:
        epochs = len(read_history(p).columns.get("epoch", []))
    started = datetime.fromtimestamp(min(f.stat().st_mtime for f in present))
    return RunSummary(p.name, p, started, status, settings, metrics, epochs)


def _metrics(raw: dict[Any, Any]) -> dict[str, float]:
    """The numbers of ``metrics.json`` (finite ones; a count too large for a float is none)."""
    out: dict[str, float] = {}
    for k, v in raw.items():
        if isinstance(v, int | float) and not isinstance(v, bool) and k not in _NOT_METRICS:
            try:
                x = float(v)
            except OverflowError:
                continue
            if math.isfinite(x):
                out[str(k)] = x
    return out


def _unreadable(folder: Path, e: Exception) -> RunSummary:
    """A run folder whose files could not be read: listed, marked, with the reason."""
    try:
        started = datetime.fromtimestamp(folder.stat().st_mtime)
    except (OSError, ValueError, OverflowError):
        started = datetime.fromtimestamp(0)
    reason = f"{type(e).__name__}: {e}"[:200]
    return RunSummary(folder.name, folder, started, RunStatus.UNREADABLE, {}, {}, 0, problem=reason)


def _flat_settings(proj: dict[str, Any]) -> dict[str, Any]:
    sect = proj.get("settings")
    training = sect.get("training") if isinstance(sect, dict) else None
    out: dict[str, Any] = dict(training) if isinstance(training, dict) else {}
    nodes = proj.get("nodes")
    for nd in nodes if isinstance(nodes, list) else []:
        if isinstance(nd, dict) and isinstance(nd.get("params"), dict):
            for k, v in nd["params"].items():
                out[f"{nd.get('name') or nd.get('id')}.{k}"] = v
    return out


_NOT_METRICS = {"epochs_completed", "best_epoch", "stopped"}


def read_history(run_dir: str | os.PathLike[str]) -> RunHistory:
    """The per-epoch table of a run (empty when it has none yet)."""
    raw = read_regular(Path(run_dir) / "history.csv", MAX_FILE_BYTES)
    cols: dict[str, list[float]] = {}
    if raw is None:
        return RunHistory({})
    try:
        with io.StringIO(raw.decode("utf-8", errors="replace"), newline="") as fh:
            for row in csv.DictReader(fh):
                for k, v in row.items():
                    if k is None:
                        continue
                    try:
                        x = float(v) if v not in (None, "") else math.nan
                    except ValueError:
                        x = math.nan
                    cols.setdefault(k, []).append(x)
    except csv.Error:
        return RunHistory({})
    return RunHistory(cols)


def _differing(runs: list[RunSummary]) -> list[RunSummary]:
    """Each run with the settings whose value is not the same in every listed run."""
    from dataclasses import replace

    keys = sorted({k for r in runs for k in r.settings})
    vary = [
        k for k in keys if len({json.dumps(r.settings.get(k), sort_keys=True) for r in runs}) > 1
    ]
    return [replace(r, differs={k: r.settings.get(k) for k in vary}) for r in runs]


def list_runs(
    project_path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None
) -> list[RunSummary]:
    """The runs of a project, oldest first: run folders under ``root`` (default: the
    ``runs/`` folder beside the project) that trained this project: by the name in their
    ``project.json``, or by a folder name that is exactly one of this project's run folders
    (a run made while untitled and moved on the first save). A folder that cannot be read is
    listed as UNREADABLE; it never hides the others."""
    project_path = Path(project_path)
    base = Path(root) if root is not None else runs_dir(project_path)
    name = _project_name(project_path)
    out: list[RunSummary] = []
    try:
        folders = [d for d in base.iterdir() if d.is_dir()]
    except OSError:
        return []
    for d in folders:
        try:
            if not _is_projects_run(d, name):
                continue
            s = summarize(d)
        except Exception as e:  # one broken folder is that run's problem, not the list's
            s = _unreadable(d, e)
        if s is not None:
            out.append(s)
    out.sort(key=lambda r: (r.started, r.name))
    return _differing(out)


def _is_projects_run(folder: Path, name: str | None) -> bool:
    if name is None:
        return True
    if is_run_folder_of(name, folder.name):
        return True
    proj = _read_json(folder / PROJECT_FILE)
    if isinstance(proj, dict):
        return proj.get("name") == name
    return any(folder.name.startswith(f"{s}-") for s in run_prefixes(name))


def move_run(run_dir: Path, root: Path, old_name: str, new_name: str) -> Path:
    """Move a run of project ``old_name`` into ``root`` as a run of ``new_name`` (the folder
    renamed, its ``project.json`` naming the new project), e.g. the run made while a project
    was untitled, on its first save. Returns the new folder; OSError when it cannot move."""
    target = renamed_run_dir(root, run_dir.name, old_name, new_name)
    root.mkdir(parents=True, exist_ok=True)
    shutil.move(str(run_dir), str(target))
    proj = _read_json(target / PROJECT_FILE)
    if isinstance(proj, dict):
        proj["name"] = new_name
        write_run_project(target, proj)
    return target


def run_project(run_dir: str | os.PathLike[str]) -> Any:
    """The project a run trained, as a ``Graph`` (from ``project.json``, else from its
    checkpoint's metadata for runs made before runs saved it); errors are engine errors."""
    p = Path(run_dir)
    if (p / PROJECT_FILE).is_file():
        return load_project(p / PROJECT_FILE)

    return load_checkpoint(p).project()


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: control characters (escape sequences, carriage
    returns, bidi overrides…) shown as escapes, as a folder name may hold any of them."""
    import unicodedata

    return "".join(
        c if c == " " or unicodedata.category(c)[0] not in "CZ" else ascii(c)[1:-1] for c in text
    )


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return printable(str(v))


def format_runs(runs: list[RunSummary]) -> str:
    """The runs as a plain-text table (what ``torchwire runs`` prints)."""
    if not runs:
        return "no runs"
    mkeys: list[str] = []
    for r in runs:
        for k in r.metrics:
            if k not in mkeys and k != "loss":
                mkeys.append(k)
    mkeys = (["loss"] if any("loss" in r.metrics for r in runs) else []) + mkeys[:4]
    head = ["run", "started", "status", "epochs", *mkeys, "settings that differ"]
    rows = [
        [
            printable(r.name),
            r.started.strftime("%Y-%m-%d %H:%M"),
            r.status.value,
            str(r.epochs),
            *(_short(r.metrics[k]) if k in r.metrics else "-" for k in mkeys),
            ", ".join(f"{printable(k)}={_short(v)}" for k, v in r.differs.items())
            or printable(r.problem)
            or "-",
        ]
        for r in runs
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [head, *rows]
    ]
    return "\n".join(lines)


__all__ = [
    "RunHistory",
    "RunStatus",
    "RunSummary",
    "format_runs",
    "list_runs",
    "move_run",
    "printable",
    "read_history",
    "run_project",
    "runs_dir",
    "summarize",
    "write_run_project",
]
