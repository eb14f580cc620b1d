"""The runtime's errors. ``TorchwireError`` lives here (``engine.errors`` re-exports it) so
that the runtime, which imports nothing else of the engine, raises the very classes the GUI
and the CLI catch, also inside an exported script.
"""

from __future__ import annotations

import os
from typing import Any


class TorchwireError(Exception):
    """A problem in the user's project, data, checkpoint or settings, said for the user.

    ``file``, ``node`` and ``param`` say where the problem is when that is known, so a view
    can point at it. Anything else escaping the engine is a bug.
    """

    def __init__(
        self,
        message: str = "",
        *args: Any,
        file: str | os.PathLike[str] | None = None,
        node: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message, *args)
        self.file = str(file) if file is not None else None
        self.node = node
        self.param = param


class RunError(TorchwireError, RuntimeError):
    """Training could not go on; ``step`` is the optimizer step where it stopped."""

    def __init__(self, message: str, step: int | None = None, kind: str = "runtime") -> None:
        super().__init__(message)
        self.step = step
        self.kind = kind


class StateError(TorchwireError, ValueError):
    """A saved training position that cannot be resumed (missing or malformed fields)."""


class DataError(TorchwireError, ValueError):
    """Data that cannot be loaded or prepared; the message names the file, column and row."""

    def __init__(self, message: str, node: str | None = None) -> None:
        super().__init__(message, node=node)
