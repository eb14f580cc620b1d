"""A process of a data-parallel test run: trains a small MLP through the runtime's Trainer.

Spawned by ``test_distributed.py``; rank 0 writes the final weights and history to a file.
"""

from __future__ import annotations

import os
from typing import Any

import torch


def make_data(task: str, n: int = 107) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(123)
    x = torch.randn(n, 5, generator=g)
    if task == "classification":
        return x, (x[:, 0] + x[:, 1] * 0.5 > 0).long() + (x[:, 2] > 1).long()
    return x, (x @ torch.arange(1.0, 6.0)).unsqueeze(1) + 0.1 * torch.randn(n, 1, generator=g)


def run(rank: int, world: int, port: int, task: str, out: str, epochs: int = 3) -> dict[str, Any]:
    """Train on ``world`` processes (1: no process group) and return the weights and history."""
    from engine.runtime import (
        DistInfo,
        Distributed,
        Head,
        InMemoryBatches,
        LoopSettings,
        LossSpec,
        OptimizerSpec,
        Trainer,
    )

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist = Distributed(DistInfo(rank, world, rank))
    dev = torch.device("cpu")
    dist.setup(dev)
    try:
        x, y = make_data(task)
        torch.manual_seed(0)
        n_out = 3 if task == "classification" else 1
        model = torch.nn.Sequential(
            torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, n_out)
        )
        if task == "classification":
            loss = LossSpec("CrossEntropyLoss", {}, "index", "logits")
        else:
            loss = LossSpec("MSELoss", {}, "onehot", "values")
        head = Head(loss, task, 3 if task == "classification" else 0, (n_out,), dev)
        trainer = Trainer(
            model,
            head,
            OptimizerSpec(
                "SGD", {"lr": 0.05, "momentum": 0.9}, {"lr_schedule": "cosine", "eta_min": 0.0}
            ),
            InMemoryBatches(x[:80], y[:80], 12, shuffle=True),
            InMemoryBatches(x[80:], y[80:], 8),
            LoopSettings(epochs=epochs),
            device=dev,
            seed=7,
            task=task,
            n_classes=3 if task == "classification" else 0,
            dist=dist,
        )
        state = trainer.fit()
        result = {
            "weights": {k: v.clone() for k, v in model.state_dict().items()},
            "history": state.history,
        }
        if rank == 0 and out:
            torch.save(result, out)
        return result
    finally:
        dist.close()


def spawn_entry(rank: int, world: int, port: int, task: str, out: str) -> None:
    run(rank, world, port, task, out)
