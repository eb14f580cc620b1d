"""The one exception of the data runtime: a readable sentence naming the file, column and row.

Defined in ``engine.runtime.errors`` (data preparation is part of the runtime that exported
scripts ship); this module keeps the engine's import path.
"""

from __future__ import annotations

from engine.runtime.errors import DataError

__all__ = ["DataError"]
