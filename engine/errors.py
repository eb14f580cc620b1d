"""The one base class of every error the engine raises for a user's file, graph or data.

The GUI and the CLI test ``isinstance(e, TorchwireError)`` instead of guessing by module:
anything else escaping the engine is a bug. ``file``, ``node`` and ``param`` say where the
problem is, when that is known, so a view can point at it. The class is defined in the
runtime (which imports nothing else of the engine) so that exported scripts raise it too.
"""

from __future__ import annotations

from engine.runtime.errors import TorchwireError


def failure_text(e: BaseException) -> str:
    """A failure of the user's own code (a plugin, a module to import) in words.

    ``SystemExit`` is said as the call it came from: user code that calls ``sys.exit``
    must not end the program (nor a worker thread) silently; where such code runs, the
    engine catches every ``BaseException`` but ``KeyboardInterrupt`` and says whose it was.
    """
    if isinstance(e, SystemExit):
        return f"it called sys.exit({'' if e.code is None else repr(e.code)})"
    text = str(e).strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


__all__ = ["TorchwireError", "failure_text"]
