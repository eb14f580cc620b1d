"""The error of training, evaluation and prediction, apart so every module of the part (and
the parts above) can raise and catch it without importing the session."""

from __future__ import annotations

import os

from engine.errors import TorchwireError


class TrainError(TorchwireError, RuntimeError):
    """Training could not run or failed; the message is the readable reason."""

    def __init__(
        self,
        reason: str,
        step: int | None = None,
        kind: str = "project",
        *,
        file: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(reason, file=file)
        self.step = step
        self.kind = kind
