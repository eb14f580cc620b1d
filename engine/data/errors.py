"""The one exception of the data runtime: a readable sentence naming the file, column and row."""

from __future__ import annotations

from engine.errors import TorchwireError


class DataError(TorchwireError, ValueError):
    """Data that cannot be loaded or prepared; the message is for the user."""

    def __init__(self, message: str, node: str | None = None) -> None:
        super().__init__(message, node=node)
