"""Training, evaluation and inference of a whole project (data → model → loss → optimizer).

``TrainingSession`` runs on any thread and reports through small frozen ``events``; ``train``,
``evaluate`` and ``predict`` are the blocking conveniences. Heavy modules load on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Checkpoint",
    "Prediction",
    "TrainError",
    "TrainResult",
    "TrainingSession",
    "evaluate",
    "load_checkpoint",
    "predict",
    "train",
]

_WHERE = {
    "TrainingSession": "engine.train.session",
    "TrainResult": "engine.train.session",
    "TrainError": "engine.train.session",
    "train": "engine.train.session",
    "Checkpoint": "engine.train.checkpoint",
    "load_checkpoint": "engine.train.checkpoint",
    "Prediction": "engine.train.inference",
    "evaluate": "engine.train.inference",
    "predict": "engine.train.inference",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'engine.train' has no attribute {name!r}")
