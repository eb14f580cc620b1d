"""Torchwire's training runtime: the one copy of data preparation, batching, the training
loop, evaluation, schedules and data-parallel training.

It imports nothing from the rest of the engine (an import-linter contract holds that), so an
exported ``--with-training`` script ships this package whole, as ``torchwire_runtime/``
beside the script, and trains exactly as the engine does. Only torch, numpy, pandas and
scikit-learn are needed.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "TorchwireError": "errors",
    "DataError": "errors",
    "RunError": "errors",
    "StateError": "errors",
    "pick_device": "device",
    "LRSchedule": "schedule",
    "lower_is_better": "schedule",
    "Accumulator": "metrics",
    "LossSpec": "head",
    "OptimizerSpec": "head",
    "Head": "head",
    "RunState": "state",
    "Distributed": "distributed",
    "DistInfo": "distributed",
    "from_env": "distributed",
    "InMemoryBatches": "batches",
    "StreamingBatches": "batches",
    "augment_batch": "batches",
    "split_batches": "batches",
    "n_targets": "batches",
    "Step": "prepare",
    "Prepared": "prepare",
    "DataInfo": "prepare",
    "prepare_steps": "prepare",
    "evaluate": "loop",
    "Trainer": "loop",
    "LoopSettings": "loop",
    "Callback": "loop",
    "EarlyStopping": "loop",
    "BatchEnd": "loop",
    "EpochEnd": "loop",
    "NonFiniteLoss": "loop",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """Submodules load on first use, so importing the package stays cheap."""
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
