"""pandas, imported when a table first needs it (it costs about a second to import).

Data that is not a table (arrays, images: the digits examples) never touches pandas, so
checking or training such a project does not import it. ``is_frame(x)`` asks whether
``x`` is a DataFrame without importing pandas: if pandas is not loaded, nothing is one.
"""

from __future__ import annotations

import sys
from typing import Any


class _Pandas:
    """Stands for the ``pandas`` module; the first attribute read imports it."""

    def __getattr__(self, name: str) -> Any:
        import pandas

        return getattr(pandas, name)


pd: Any = _Pandas()


def is_frame(x: Any) -> bool:
    """Whether ``x`` is a pandas DataFrame (never imports pandas)."""
    mod = sys.modules.get("pandas")
    return mod is not None and isinstance(x, mod.DataFrame)


__all__ = ["is_frame", "pd"]
