"""The server's errors: a request the server refuses (with its HTTP status), and a model
it cannot serve. In the engine they are ``TorchwireError``s like every other error for a
user's file or data; in a bundle (no engine installed) plain exceptions.
"""

from __future__ import annotations

try:  # the runtime's errors module imports nothing (no torch): safe in the engine
    from engine.runtime.errors import TorchwireError as _Base
except ImportError:  # pragma: no cover - a bundle has no engine
    _Base = Exception  # type: ignore[assignment,misc]


class ServeError(_Base):  # type: ignore[misc,valid-type]
    """A model that cannot be served (not an ONNX file, unreadable metadata …)."""


class RequestError(ServeError):
    """A request the server refuses: ``status`` (4xx) and a message naming what was wrong."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def shown(value: object, limit: int = 40) -> str:
    """A value from a request as an error message quotes it: its repr, cut to ``limit``
    characters (a megabyte of text or a 4,000-digit number stays out of the answer)."""
    try:
        text = repr(value)
    except ValueError:  # an int beyond Python's digit limit for str()
        text = f"<a {type(value).__name__} too large to show>"
    return text if len(text) <= limit else text[: limit - 1] + "…"
