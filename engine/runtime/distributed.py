"""Data-parallel training across processes started by ``torch.distributed.run`` (torchrun).

Semantics are DistributedDataParallel's: the batch size a project declares is the global
batch; every rank draws the same seeded permutation each epoch and takes its own contiguous
1/N of every batch; gradients are averaged by DDP; metrics are sums that one all-reduce
adds. Each rank's loss is scaled by ``N · local / global`` so that DDP's average of the
ranks' gradients equals the gradient of the global batch's mean loss even when the last
batch does not split evenly: a 2-process run follows the 1-process run's weights.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from .errors import RunError


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in the job (all 0/1 outside torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _gloo_loopback() -> None:
    """On one machine, let gloo talk over the loopback interface.

    gloo binds to the interface of the host name, which on containers and laptops without
    a resolvable name fails ("terminate called without an active exception"). A job whose
    ranks all run here (``LOCAL_WORLD_SIZE == WORLD_SIZE``, or a loopback master address)
    needs nothing else; a user's own ``GLOO_SOCKET_IFNAME`` always wins.
    """
    if os.environ.get("GLOO_SOCKET_IFNAME"):
        return
    addr = os.environ.get("MASTER_ADDR", "127.0.0.1")
    local = os.environ.get("LOCAL_WORLD_SIZE")
    single = local is not None and local == os.environ.get("WORLD_SIZE")
    if not (single or addr in ("127.0.0.1", "localhost", "::1")):
        return
    try:
        names = [name for _i, name in socket.if_nameindex() if name.startswith("lo")]
    except OSError:
        return
    if names:
        os.environ["GLOO_SOCKET_IFNAME"] = names[0]


def from_env(env: dict[str, str] | None = None) -> DistInfo:
    """The rank, world size and local rank torchrun put in the environment."""
    env = dict(os.environ) if env is None else env
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError:
        return DistInfo()
    return DistInfo(rank, world, local) if world > 1 else DistInfo()


class Distributed:
    """The collective operations the loop needs; every one is a no-op in one process."""

    def __init__(self, info: DistInfo | None = None) -> None:
        self.info = info or DistInfo()
        self.device = torch.device("cpu")
        self._own_group = False

    @property
    def enabled(self) -> bool:
        return self.info.enabled

    @property
    def is_main(self) -> bool:
        return self.info.is_main

    def setup(self, device: torch.device) -> None:
        """Join the process group: gloo on the CPU, nccl on CUDA."""
        self.device = device
        if not self.enabled or dist.is_initialized():
            return
        backend = "nccl" if device.type == "cuda" else "gloo"
        if backend == "gloo":
            _gloo_loopback()
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend, rank=self.info.rank, world_size=self.info.world_size)
        self._own_group = True

    def close(self, wait: bool = True) -> None:
        """Leave the group: with ``wait`` every rank first waits for the others (rank 0 may
        still be writing the run folder), then the group is destroyed. A process that exits
        with a live gloo group aborts ("terminate called without an active exception").
        A failing rank does not wait: the others may be inside a collective, and torchrun
        ends them once this one exits."""
        if self._own_group and dist.is_initialized():
            if wait:
                try:
                    dist.barrier()
                except Exception:  # another rank already failed: leave anyway
                    pass
            dist.destroy_process_group()
            self._own_group = False

    def wrap(self, model: nn.Module, sync_batchnorm: bool = False) -> nn.Module:
        """The model DDP trains (the plain model stays the one to save and evaluate)."""
        if not self.enabled:
            return model
        if sync_batchnorm:
            if self.device.type != "cuda":
                raise RunError(
                    "sync_batchnorm needs CUDA (PyTorch's SyncBatchNorm runs on GPUs only); on "
                    "the CPU each process keeps its own BatchNorm statistics: turn it off",
                    kind="project",
                )
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def shard(self, x: Any, y: torch.Tensor) -> tuple[Any, torch.Tensor]:
        """This rank's contiguous part of a global batch."""
        if not self.enabled:
            return x, y
        n, w, r = len(y), self.info.world_size, self.info.rank
        lo, hi = n * r // w, n * (r + 1) // w
        return x[lo:hi], y[lo:hi]

    def loss_scale(self, local: int, total: int) -> float:
        """Factor for this rank's mean loss so that DDP's gradient average is exact."""
        if not self.enabled or total == 0:
            return 1.0
        return self.info.world_size * local / total

    def _collective(self, t: torch.Tensor, op: Any) -> torch.Tensor:
        if not self.enabled:
            return t
        on = t.to(self.device) if self.device.type == "cuda" else t.clone()
        dist.all_reduce(on, op=op)
        return on.to(t.device)

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        """Element-wise sum over ranks (for metric sums); a copy, on ``t``'s device."""
        return self._collective(t, dist.ReduceOp.SUM)

    def flags(self, *values: bool) -> tuple[bool, ...]:
        """Each flag true on any rank is true on all (stop, non-finite loss …)."""
        if not self.enabled:
            return tuple(values)
        t = torch.tensor([1.0 if v else 0.0 for v in values], dtype=torch.float64)
        t = self._collective(t, dist.ReduceOp.MAX)
        return tuple(bool(v > 0) for v in t.tolist())

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj`` (small, picklable values made by the runtime itself)."""
        if not self.enabled:
            return [obj]
        out: list[Any] = [None] * self.info.world_size
        dist.all_gather_object(out, obj)
        return out
