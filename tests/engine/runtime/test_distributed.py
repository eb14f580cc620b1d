"""Data-parallel training through the runtime: 2 gloo processes on loopback follow the
1-process run's weights (same global batch, uneven last batch included)."""

from __future__ import annotations

import socket

import pytest
import torch
import torch.multiprocessing as mp

from tests.engine.runtime import ddp_worker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_two_processes_match_one(task: str, tmp_path) -> None:
    single = ddp_worker.run(0, 1, 0, task, "")
    out = tmp_path / "rank0.pt"
    mp.start_processes(
        ddp_worker.spawn_entry,
        args=(2, _free_port(), task, str(out)),
        nprocs=2,
        start_method="spawn",
    )
    double = torch.load(out, weights_only=True)
    for k, w in single["weights"].items():
        diff = (w - double["weights"][k]).abs().max().item()
        assert diff <= 1e-5, (k, diff)
    # metrics are reduced over the ranks: the same numbers as one process sees
    for a, b in zip(single["history"], double["history"], strict=True):
        for key in a:
            if key in ("seconds",):
                continue
            assert a[key] == pytest.approx(b[key], rel=1e-5, abs=1e-6), key


def test_sync_batchnorm_on_the_cpu_is_refused_with_the_reason() -> None:
    from engine.runtime import DistInfo, Distributed, RunError

    d = Distributed(DistInfo(0, 2, 0))  # as rank 0 of 2 sees it, before any collective
    with pytest.raises(RunError, match="sync_batchnorm needs CUDA"):
        d.wrap(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2)), True)
