"""Hyperparameter tuning on Optuna: grid and Bayesian search over any node parameter.

``engine.tune(project, space, trials=..., sampler=..., pruner=...)`` runs a study (see
``engine.tune.study.Study``); the package itself is callable so that ``engine.tune(...)``
works whether or not this package was imported first. ``engine.catalog.tuning`` (plain
Python, no Optuna) declares and checks search spaces; Optuna loads on first use.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from engine.catalog.tuning import Dimension, TuneError, parse_space
from engine.tune.study import tune

__all__ = ["Dimension", "Study", "TuneError", "TuneResult", "parse_space", "tune"]

_WHERE = {
    "Study": "engine.tune.study",
    "TuneResult": "engine.tune.study",
    "tune": "engine.tune.study",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'engine.tune' has no attribute {name!r}")


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kw: Any) -> Any:
        return tune(*args, **kw)


sys.modules[__name__].__class__ = _CallableModule
