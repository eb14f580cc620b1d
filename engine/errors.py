"""The one base class of every error the engine raises for a user's file, graph or data.

The GUI and the CLI test ``isinstance(e, TorchwireError)`` instead of guessing by module:
anything else escaping the engine is a bug. ``file``, ``node`` and ``param`` say where the
problem is, when that is known, so a view can point at it.
"""

from __future__ import annotations

import os
from typing import Any


class TorchwireError(Exception):
    """A problem in the user's project, data, checkpoint or settings, said for the user."""

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
