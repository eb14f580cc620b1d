"""The compression's one error type."""

from __future__ import annotations

from engine.errors import TorchwireError


class CompressError(TorchwireError, RuntimeError):
    """A compression step that cannot run, or a variant refused (``--max-drop``)."""
