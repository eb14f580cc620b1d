"""Trained checkpoints of the bundled examples, made once per test session (seconds each)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.trained import TrainedExamples


@pytest.fixture(scope="session")
def trained(trained_examples: TrainedExamples) -> Callable[[str], Path]:
    """``trained("iris")``: the run folder of the example trained for 2 epochs."""
    return trained_examples.run
