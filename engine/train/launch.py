"""Launching a training run on several processes with PyTorch's own launcher (torchrun).

``torchwire train FILE --nproc-per-node N`` re-runs itself as N workers under
``python -m torch.distributed.run``; each worker is an ordinary ``python -m engine train``
that finds its rank in the environment torchrun sets, so one code path trains on one
process or many. The launcher only builds the command, runs it, and reports the first
failing rank's reason, which every worker writes to a folder the launcher chose.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

FAIL_DIR_ENV = "TORCHWIRE_FAIL_DIR"


@dataclass(frozen=True)
class LaunchOptions:
    """torchrun's placement flags, as the CLI takes them."""

    nproc_per_node: int
    nnodes: int = 1
    node_rank: int = 0
    master_addr: str | None = None
    master_port: int | None = None
    rdzv_endpoint: str | None = None


def torchrun_command(opts: LaunchOptions, worker_args: Sequence[str]) -> list[str]:
    """The torchrun command line whose workers run ``python -m engine train …``."""
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc-per-node={opts.nproc_per_node}",
        f"--nnodes={opts.nnodes}",
        f"--node-rank={opts.node_rank}",
        "--max-restarts=0",
    ]
    if opts.rdzv_endpoint:
        cmd += ["--rdzv-backend=c10d", f"--rdzv-endpoint={opts.rdzv_endpoint}"]
    elif opts.master_addr or opts.master_port:
        if opts.master_addr:
            cmd.append(f"--master-addr={opts.master_addr}")
        if opts.master_port:
            cmd.append(f"--master-port={opts.master_port}")
    elif opts.nnodes == 1:
        cmd.append("--standalone")  # a private rendezvous on a free local port
    return [*cmd, "-m", "engine", "train", *worker_args]


def launch(opts: LaunchOptions, worker_args: Sequence[str]) -> tuple[int, str | None]:
    """Run the workers in the foreground; (exit code, the first failing rank's reason)."""
    with tempfile.TemporaryDirectory(prefix="torchwire-ranks-") as d:
        env = {**os.environ, FAIL_DIR_ENV: d}
        try:
            code = subprocess.call(torchrun_command(opts, worker_args), env=env)
        except KeyboardInterrupt:  # the workers got the signal too and stop at a batch
            code = 130
        return code, first_failure(Path(d))


def first_failure(folder: Path) -> str | None:
    """The reason the lowest failing rank wrote, as ``rank N: reason``."""
    found = sorted(folder.glob("rank-*.txt"), key=lambda p: int(p.stem.split("-")[1]))
    for p in found:
        text = p.read_text(encoding="utf-8", errors="replace").strip()
        if text:
            return f"rank {p.stem.split('-')[1]}: {text}"
    return None


def report_failure(rank: int, reason: str) -> None:
    """A worker's last word: where the launcher reads it (no-op outside a launch)."""
    d = os.environ.get(FAIL_DIR_ENV)
    if not d:
        return
    try:
        Path(d, f"rank-{rank}.txt").write_text(reason + "\n", encoding="utf-8")
    except OSError:
        pass
