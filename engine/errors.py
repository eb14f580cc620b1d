"""The one base class of every error the engine raises for a user's file, graph or data.

The GUI and the CLI test ``isinstance(e, TorchwireError)`` instead of guessing by module:
anything else escaping the engine is a bug. ``file``, ``node`` and ``param`` say where the
problem is, when that is known, so a view can point at it. The class is defined in the
runtime (which imports nothing else of the engine) so that exported scripts raise it too.
"""

from __future__ import annotations

from engine.runtime.errors import TorchwireError

__all__ = ["TorchwireError"]
