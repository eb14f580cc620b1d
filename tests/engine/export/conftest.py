"""Trained checkpoints of the bundled examples, made once per test session (seconds each)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine import load_project

EXAMPLES = Path(__file__).parents[3] / "resources" / "examples"


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``trained("iris")``: the run folder of the example trained for 2 epochs."""
    from engine.train import train

    runs: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in runs:
            out = tmp_path_factory.mktemp(f"run_{name}")
            res = train(load_project(EXAMPLES / f"{name}.json"), out_dir=str(out), epochs=2)
            assert res.best_checkpoint
            runs[name] = Path(res.run_dir)
        return runs[name]

    return get
