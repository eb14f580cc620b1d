"""One small cache for the engine's repeated work (node shapes, dataset loads, prepared data)."""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def freeze(v: Any) -> Any:
    """A hashable form of plain parameter values (dicts and lists become tuples)."""
    if isinstance(v, dict):
        return tuple(sorted((k, freeze(x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return tuple(freeze(x) for x in v)
    return v


class Memo(Generic[T]):
    """A thread-safe LRU map that also remembers the listed failures.

    A bad input is then reported again at once instead of being recomputed on every live
    check; each caller gets its own copy of the remembered exception. A key being computed
    by one thread is waited for by the others, not computed twice (the designer warms the
    cache with the first check on one thread while its own check starts on another).
    """

    def __init__(self, size: int, remember: tuple[type[BaseException], ...] = ()) -> None:
        self._size = size
        self._remember = remember
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._flight: dict[Hashable, threading.Event] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        while True:
            with self._lock:
                hit = self._items.get(key, _MISSING)
                if hit is not _MISSING:
                    self._items.move_to_end(key)
                    break
                ev = self._flight.get(key)
                mine = ev is None
                if ev is None:
                    ev = self._flight[key] = threading.Event()
            if not mine:
                ev.wait()  # then read it (or, if it failed unremembered, compute it here)
                continue
            try:
                try:
                    hit = compute()
                except self._remember as e:
                    hit = _Failure(e)
                with self._lock:
                    self._items[key] = hit
                    while len(self._items) > self._size:
                        self._items.popitem(last=False)
            finally:
                with self._lock:
                    self._flight.pop(key, None)
                ev.set()
            break
        if isinstance(hit, _Failure):
            raise copy.copy(hit.error)
        return hit

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


_MISSING = object()


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error
