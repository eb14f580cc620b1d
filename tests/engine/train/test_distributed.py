"""``torchwire train --nproc-per-node 2``: two gloo processes on loopback through torchrun.

With a model without BatchNorm or Dropout, two processes sharing the same global batch end
with the one-process run's weights; rank 0 alone writes the run folder; a rank's failure
ends the job with that rank's reason.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.train import train
from tests.support.paths import EXAMPLES


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", "train", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_two_processes_end_with_the_weights_of_one(tmp_path: Path) -> None:
    project = EXAMPLES / "iris.json"
    one = train(str(project), out_dir=tmp_path / "one", epochs=3, device="cpu")
    proc = _cli(
        str(project), "--epochs", "3", "--device", "cpu", "--out", str(tmp_path / "two"),
        "--quiet", "--nproc-per-node", "2", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    a = torch.load(Path(one.last_checkpoint), weights_only=True)
    b = torch.load(tmp_path / "two" / "last.pt", weights_only=True)
    for k, v in a["model"].items():
        assert (v - b["model"][k]).abs().max().item() <= 1e-5, k
    # rank 0 alone wrote the folder, and its metrics are those of the whole split
    assert sorted(p.name for p in (tmp_path / "two").iterdir() if not p.name.startswith(".")) == [
        "best.pt", "history.csv", "last.pt", "metrics.json", "model.safetensors",
        "project.json",
    ]  # fmt: skip
    assert "done: test" in proc.stdout and proc.stdout.count("done: test") == 1

    # a resume must use the same number of processes: the failing rank's reason is said
    again = _cli(
        str(project), "--epochs", "5", "--resume", str(tmp_path / "one" / "last.pt"),
        "--out", str(tmp_path / "three"), "--nproc-per-node", "2", "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert again.returncode != 0
    assert "rank 0" in again.stderr and "same number" in again.stderr, again.stderr[-2000:]


@pytest.mark.slow
def test_a_two_process_run_resumes_exactly_on_two_processes(tmp_path: Path) -> None:
    project = str(EXAMPLES / "iris.json")
    common = ("--device", "cpu", "--quiet", "--nproc-per-node", "2")
    first = _cli(project, "--epochs", "2", "--out", str(tmp_path / "a"), *common, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    more = _cli(
        project, "--epochs", "4", "--resume", str(tmp_path / "a" / "last.pt"), *common,
        cwd=tmp_path,
    )  # fmt: skip
    assert more.returncode == 0, more.stderr[-2000:]
    straight = _cli(project, "--epochs", "4", "--out", str(tmp_path / "b"), *common, cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr[-2000:]
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
