"""The one way background work reaches the GUI thread.

Worker threads (training, the live check, exports, imports) must never wait for the GUI and
must never touch a QObject: a signal emitted from a plain Python thread was seen to deadlock
PySide6, and to crash when its receiver died first. So a worker only *puts* an item in an
:class:`Inbox`: a list under a lock. The first item of a burst also posts one plain ``QEvent``
to a single dispatcher object that lives as long as the application, on the GUI thread; Qt's
event loop delivers it there, and the dispatcher hands the whole burst to the inbox's
``deliver`` callback. So:

- nothing polls: an idle window does no work, a busy worker costs one posted event per burst;
- bursts coalesce: a thousand items put between two turns of the event loop arrive as one
  list;
- a receiver that is gone is never touched: an inbox holds a bound-method receiver weakly,
  and the event goes to the dispatcher, which Qt owns, never to the (possibly deleted)
  receiver; an inbox with undelivered items is held by the dispatcher until it is drained;
- ``min_interval`` rate-limits deliveries (the live plots need 20 a second, not 2,000):
  a burst that comes too soon is delivered by a single-shot timer when the interval is over.

:class:`Future`-like results use the same path: :func:`submit` runs a function on a thread
and calls ``on_done``/``on_error`` on the GUI thread (as Orange3's ``FutureWatcher`` does).

The dispatcher pattern follows Orange3's ``FutureWatcher`` (``QCoreApplication.postEvent``
from the future's done-callback), which is thread-safe without polling.
"""

from __future__ import annotations

import inspect
import itertools
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer

_WAKE = QEvent.Type(QEvent.registerEventType())


class _Dispatcher(QObject):
    """Receives the wake-up events of every inbox (one per application, GUI thread)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        # inboxes with a posted, undelivered wake-up: held strongly until drained, so an
        # inbox nothing else refers to any more (a finished ``submit``) still delivers
        self._due: dict[int, Inbox] = {}
        self._ids = itertools.count(1)

    def register(self, inbox: Inbox) -> int:
        return next(self._ids)

    def wake(self, inbox: Inbox) -> None:
        """Any thread: ask for ``inbox`` to be drained on the GUI thread."""
        app = QCoreApplication.instance()
        if app is None:  # shutting down: nothing will be drained any more
            return
        with self._lock:
            self._due[inbox._key] = inbox
        QCoreApplication.postEvent(self, QEvent(_WAKE))

    def event(self, e: QEvent) -> bool:
        if e.type() != _WAKE:
            return super().event(e)
        with self._lock:
            due, self._due = self._due, {}
        for key in sorted(due):
            due[key]._drain()
        return True


_dispatcher: _Dispatcher | None = None
_dispatcher_lock = threading.Lock()


def _the_dispatcher() -> _Dispatcher:
    global _dispatcher
    with _dispatcher_lock:
        if _dispatcher is None:
            app = QCoreApplication.instance()
            if app is None:
                raise RuntimeError("designer.workers needs a Qt application")
            d = _Dispatcher()
            d.moveToThread(app.thread())
            d.setParent(app)  # lives exactly as long as the application
            _dispatcher = d
        return _dispatcher


class Inbox:
    """Items put from any thread, delivered as lists to ``deliver`` on the GUI thread.

    ``coalesce(pending, item)`` may merge an item into the pending list instead of appending
    (e.g. consecutive batch events into one run); it returns the new pending list.
    Create an inbox on the GUI thread.
    """

    def __init__(
        self,
        deliver: Callable[[list[Any]], Any],
        *,
        min_interval: float = 0.0,
        coalesce: Callable[[list[Any], Any], list[Any]] | None = None,
    ) -> None:
        # A bound method is held weakly: an inbox never keeps its receiver (a panel, the
        # document) alive, and a burst for a receiver that is gone is dropped.
        self._deliver: Callable[[], Callable[[list[Any]], Any] | None]
        if inspect.ismethod(deliver):
            self._deliver = weakref.WeakMethod(deliver)
        else:
            self._deliver = lambda: deliver
        self._coalesce = coalesce
        self.min_interval = min_interval
        self._lock = threading.Lock()
        self._items: list[Any] = []
        self._woken = False
        self._closed = False
        self._last = 0.0
        self._dispatcher = _the_dispatcher()
        self._key = self._dispatcher.register(self)
        # Made on first need, on the GUI thread: an inbox without ``min_interval`` holds no
        # QObject, so a worker thread that drops the last reference destroys no Qt object.
        self._later: QTimer | None = None
        self.posted = 0  # statistics for tests and the benchmark
        self.deliveries = 0

    # -- any thread ------------------------------------------------------------------------
    def put(self, item: Any) -> None:
        """Queue ``item``; returns at once and never touches a QObject but the dispatcher."""
        with self._lock:
            if self._closed:
                return
            self.posted += 1
            if self._coalesce is not None:
                self._items = self._coalesce(self._items, item)
            else:
                self._items.append(item)
            if self._woken:
                return
            self._woken = True
        self._dispatcher.wake(self)

    # -- GUI thread ------------------------------------------------------------------------
    def flush(self) -> None:
        """Deliver what is queued now, ignoring ``min_interval``."""
        if self._later is not None:
            self._later.stop()
        self._drain(force=True)

    def close(self) -> None:
        """Drop what is queued and refuse what comes (the receiver is going away)."""
        with self._lock:
            self._closed = True
            self._items = []
        if self._later is not None:
            self._later.stop()

    def reopen(self) -> None:
        with self._lock:
            self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> bool:
        with self._lock:
            return bool(self._items) or self._woken

    def _drain(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and self.min_interval > 0 and now < self._last + self.min_interval:
            # Too soon: one timer delivers this burst (and whatever joins it) when it's due.
            if self._later is None:
                self._later = QTimer(singleShot=True)
                self._later.timeout.connect(self._drain)
            if not self._later.isActive():
                wait_ms = int((self._last + self.min_interval - now) * 1000) + 1
                self._later.start(max(1, wait_ms))
            return
        with self._lock:
            items, self._items = self._items, []
            self._woken = False
        if not items:
            return
        self._last = now
        deliver = self._deliver()
        if deliver is None:
            self.close()
            return
        self.deliveries += 1
        deliver(items)


class Future:
    """The outcome of :func:`submit`: ``done``/``result``/``error`` once delivered."""

    def __init__(self) -> None:
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None


def submit(
    fn: Callable[..., Any],
    *args: Any,
    on_done: Callable[[Any], Any] | None = None,
    on_error: Callable[[BaseException], Any] | None = None,
    on_progress: Callable[[Any], Any] | None = None,
    thread_name: str = "torchwire-worker",
    **kw: Any,
) -> Future:
    """Run ``fn(*args, **kw)`` on a new daemon thread; callbacks run on the GUI thread.

    With ``on_progress``, ``fn`` gets a ``progress`` keyword: a function any thread may call;
    its values reach ``on_progress`` in order (bursts coalesce into one turn of the loop).
    """
    fut = Future()
    keep: list[Inbox] = []  # the inbox lives until the outcome is delivered

    def deliver(items: list[Any]) -> None:
        for kind, value in items:
            if kind == "progress":
                if on_progress is not None:
                    on_progress(value)
                continue
            fut.done = True
            if kind == "done":
                fut.result = value
                if on_done is not None:
                    on_done(value)
            else:
                fut.error = value
                if on_error is not None:
                    on_error(value)
            keep.clear()

    inbox = Inbox(deliver)
    keep.append(inbox)
    if on_progress is not None:
        kw["progress"] = lambda value: inbox.put(("progress", value))

    def work() -> None:
        try:
            outcome = ("done", fn(*args, **kw))
        except BaseException as e:  # delivered to on_error; the GUI decides what to show
            outcome = ("error", e)
        inbox.put(outcome)

    threading.Thread(target=work, name=thread_name, daemon=True).start()
    return fut
