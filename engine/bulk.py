"""``bulk()``: the cyclic garbage collector paused while a large graph is built or checked.

Loading or checking a big project creates millions of small objects and no reference
cycles; the collector's generational passes over them are pure overhead that grows with the
number of live objects (a 100,000-node chain loads ~25% faster without them). Pauses nest
and are thread-safe; the collector runs again (if it was on) when the outermost ends.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """Pause the cyclic collector for the block (reference counting still frees memory)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
