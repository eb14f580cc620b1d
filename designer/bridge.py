"""The one place engine events become Qt signals.

Engine callbacks run on the training thread and must never wait for the GUI, so they touch
no Qt at all: ``post`` appends to a list under a lock and returns. The GUI thread collects
that list on a timer (every ``poll_ms``) and re-emits it as signals: high-rate
``BatchEnded`` events coalesced (the latest kept, plus the (step, loss) pairs in between)
and delivered at most ``batch_hz`` times a second; every other event (epoch ends,
checkpoints, finished, failed) delivered, in order. Polling rather than a queued signal
from the worker keeps a foreign thread out of Qt's event machinery entirely (a queued
emit from a plain Python thread was seen to stall inside nested event loops).

Events are recognised by their class name, so this module needs neither torch nor the
training engine to import (the window opens before torch has loaded).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import QObject, QTimer, Signal

from engine.train import events

TERMINAL_STATES = frozenset({"finished", "stopped", "failed"})


class _BatchRun:
    """Consecutive BatchEnded events, coalesced: the latest one and every (step, loss)."""

    __slots__ = ("count", "latest", "points")

    def __init__(self) -> None:
        self.latest: Any = None
        self.points: list[tuple[float, float]] = []
        self.count = 0

    def add(self, ev: Any) -> None:
        self.latest = ev
        self.count += 1
        try:
            self.points.append((float(ev.step), float(ev.loss)))
        except (AttributeError, TypeError, ValueError):
            pass


def readable_error(exc: BaseException) -> str:
    """A one-line message for the user; the traceback belongs in the log, not a dialog."""
    text = str(exc).strip()
    name = type(exc).__name__
    if not text:
        return name
    if type(exc).__module__.split(".")[0] == "engine" or type(exc) in (ValueError, OSError):
        return text  # the engine's own errors already speak the user's terms
    if isinstance(exc, FileNotFoundError):
        return text
    return f"{text} ({name})"


def failure_text(ev: Any) -> str:
    """The user-facing sentence of a ``Failed`` event."""
    reason = str(getattr(ev, "reason", "") or "training failed").strip()
    step = getattr(ev, "step", None)
    if step is not None and "step" not in reason.lower():
        reason = f"{reason} (at step {step})"
    return reason


class TrainingBridge(QObject):
    """Re-emits one training session's events as Qt signals on the GUI thread.

    ``batch(latest, points)``: the newest BatchEnded and every (step, loss) pair since the
    previous emission, so a plot loses no point while the UI sees at most ``batch_hz``
    updates a second. ``failed(str)`` carries a readable sentence. ``event(object)``
    repeats every delivered non-batch event (for a log).
    """

    started = Signal(object)
    batch = Signal(object, object)
    epochEnded = Signal(object)
    checkpointSaved = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    event = Signal(object)

    def __init__(
        self, parent: QObject | None = None, *, batch_hz: float = 20.0, poll_ms: int = 25
    ) -> None:
        super().__init__(parent)
        self.batch_interval = 1.0 / batch_hz if batch_hz > 0 else 0.0
        self._lock = threading.Lock()
        self._queue: list[Any] = []
        self._last_batch_emit = 0.0
        self._unsubscribe: Callable[[], Any] | None = None
        self._session: Any = None
        self._ended = False
        self._ended_seen_at: float | None = None
        # statistics (tests and the benchmark read them)
        self.posted = 0
        self.batch_events = 0
        self.batch_signals = 0
        self._poll = QTimer(self)
        self._poll.setInterval(poll_ms)
        self._poll.timeout.connect(self._drain)
        self._watchdog = QTimer(self)
        self._watchdog.setInterval(250)
        self._watchdog.timeout.connect(self._watch)

    # -- any thread ------------------------------------------------------------------------
    def post(self, ev: Any) -> None:
        """Take one engine event; called on the training thread, returns at once, no Qt."""
        with self._lock:
            self.posted += 1
            if isinstance(ev, events.BatchEnded):
                self.batch_events += 1
                run = self._queue[-1] if self._queue else None
                if not isinstance(run, _BatchRun):
                    run = _BatchRun()
                    self._queue.append(run)
                run.add(ev)
            else:
                self._queue.append(ev)

    # -- GUI thread ------------------------------------------------------------------------
    def attach(self, session: Any) -> None:
        """Subscribe to ``session`` (before it starts) and watch that it really ends."""
        self.reset()
        self._session = session
        self._unsubscribe = session.subscribe(self.post)
        self._watchdog.start()

    def reset(self) -> None:
        """Forget the previous run and start collecting (call before a session posts)."""
        self.detach()
        with self._lock:
            self._queue = []
        self._ended = False
        self._ended_seen_at = None
        self._poll.start()

    def adopt(self, session: Any, unsubscribe: Callable[[], Any] | None) -> None:
        """Watch a session that was subscribed to ``post`` and started on another thread."""
        self._session = session
        self._unsubscribe = unsubscribe
        self._ended_seen_at = None
        if not self._ended:
            self._watchdog.start()

    def detach(self) -> None:
        """Stop listening and collecting (the run is over, or the panel gives it up)."""
        self._poll.stop()
        if self._unsubscribe is not None:
            try:
                self._unsubscribe()
            except Exception:
                pass
        self._unsubscribe = None
        self._session = None
        self._watchdog.stop()

    @property
    def collecting(self) -> bool:
        return self._poll.isActive()

    def report_exception(self, exc: BaseException) -> None:
        """A failure outside the session's own events (e.g. it could not be created)."""
        self.post(_Failure(readable_error(exc), None, "".join(traceback.format_exception(exc))))
        self._poll.start()

    def flush(self) -> None:
        """Deliver everything queued now, ignoring the batch rate limit."""
        self._drain(force=True)

    def _drain(self, force: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            items = self._queue
            if not items:
                return
            only_batches = all(isinstance(i, _BatchRun) for i in items)
            if only_batches and not force and now < self._last_batch_emit + self.batch_interval:
                return  # the next tick will take them, with whatever arrives meanwhile
            self._queue = []
        for item in items:
            if isinstance(item, _BatchRun):
                self._last_batch_emit = now
                self.batch_signals += 1
                self.batch.emit(item.latest, item.points)
                continue
            # matched by class (engine.train.events), not by a name that could be anyone's
            self.event.emit(item)
            if isinstance(item, events.Started):
                self.started.emit(item)
            elif isinstance(item, events.EpochEnded):
                self.epochEnded.emit(item)
            elif isinstance(item, events.CheckpointSaved):
                self.checkpointSaved.emit(item)
            elif isinstance(item, events.Finished):
                self._ended = True
                self.finished.emit(item)
            elif isinstance(item, (events.Failed, _Failure)):
                self._ended = True
                self.failed.emit(failure_text(item))
        if self._ended:
            with self._lock:
                if not self._queue:
                    self._poll.stop()  # the run is over; nothing more will come

    def _watch(self) -> None:
        """A session whose thread died without a Finished/Failed event still ends in the UI."""
        s = self._session
        if s is None or self._ended:
            self._watchdog.stop()
            return
        state = str(getattr(s, "state", ""))
        if state not in TERMINAL_STATES:
            self._ended_seen_at = None
            return
        now = time.monotonic()
        if self._ended_seen_at is None:
            self._ended_seen_at = now  # give the queued final event time to arrive
            return
        if now - self._ended_seen_at < 1.0:
            return
        self._drain(force=True)
        if not self._ended:
            self.post(_Failure(f"training ended ({state}) without reporting a result", None, ""))
            self._drain(force=True)
        self._watchdog.stop()


class _Failure:
    """A failure the bridge itself reports, delivered like an engine ``Failed`` event."""

    def __init__(self, reason: str, step: int | None, details: str) -> None:
        self.reason = reason
        self.step = step
        self.details = details


class Task(QObject):
    """A function run on a worker thread; its result, error and progress arrive as signals.

    Like the bridge, the worker touches no Qt: it leaves its progress, result or error in
    fields, and a GUI-thread timer (every ``poll_ms``) emits them, so every callback runs
    on the GUI thread and the GUI never waits for the worker.
    """

    done = Signal(object)
    error = Signal(str, str)  # readable message, traceback
    progress = Signal(str)
    _running: ClassVar[set[Task]] = set()  # keeps tasks alive until they report

    def __init__(
        self,
        fn: Callable[..., Any],
        *args: Any,
        with_progress: bool = False,
        poll_ms: int = 20,
        **kw: Any,
    ):
        super().__init__()
        self._fn, self._args, self._kw = fn, args, kw
        self._with_progress = with_progress
        self.result: Any = None
        self.message: str | None = None
        self.details = ""
        self.finished = False
        self._lock = threading.Lock()
        self._progress_texts: list[str] = []
        self._outcome: tuple[str, Any, Any] | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(poll_ms)
        self._poll.timeout.connect(self._collect)

    def start(self) -> Task:
        """Start the worker (call on the GUI thread)."""
        gui_thread_gc()
        Task._running.add(self)
        self._poll.start()
        threading.Thread(target=self._run, name="torchwire-task", daemon=True).start()
        return self

    def _say(self, text: str) -> None:
        with self._lock:
            self._progress_texts.append(str(text))

    def _run(self) -> None:
        kw = dict(self._kw)
        if self._with_progress:
            kw["progress"] = self._say
        try:
            outcome = ("done", self._fn(*self._args, **kw), None)
        except BaseException as e:
            outcome = ("error", readable_error(e), "".join(traceback.format_exception(e)))
        with self._lock:
            self._outcome = outcome

    def _collect(self) -> None:
        # Never block the GUI thread on the worker: if the worker holds the lock, the
        # next tick collects.
        if not self._lock.acquire(blocking=False):
            return
        try:
            texts, self._progress_texts = self._progress_texts, []
            outcome = self._outcome
        finally:
            self._lock.release()
        for t in texts:
            self.progress.emit(t)
        if outcome is None:
            return
        self._poll.stop()
        self.finished = True
        Task._running.discard(self)
        kind, value, details = outcome
        if kind == "done":
            self.result = value
            self.done.emit(value)
        else:
            self.message, self.details = value, details
            self.error.emit(value, details)


_collector: Any = None


def gui_thread_gc() -> None:
    """Let Python's cyclic garbage collector run on the GUI thread only (once per process).

    A collection that happens on a worker thread (during an import, say) can destroy a
    PySide object left in a reference cycle; its QObject destructor then waits for the GIL
    while the GUI thread waits for the worker: both threads hang (seen in the Compress
    dialog's first export). pyqtgraph's ``GarbageCollector`` turns automatic collection off
    and collects, generation by generation at the usual thresholds, from a GUI timer.
    """
    global _collector
    if _collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _collector = GarbageCollector(interval=0.5)


# Packages the engine's background jobs import on first use. A first import of such a large
# package on a worker thread while Qt runs its event loop was seen to deadlock (both threads
# parked: the import lock against PySide's import hook), so they are imported on the GUI
# thread before a job that needs them starts.
EXPORTER = (
    "onnx", "onnx.reference", "onnxscript", "onnxruntime",
    "torch.onnx._internal.exporter._registration", "engine.export",
)  # fmt: skip


def preload(modules: tuple[str, ...]) -> None:
    """Import ``modules`` on the GUI thread (once; a busy cursor while it takes)."""
    import importlib
    import sys

    missing = [m for m in modules if m not in sys.modules]
    if not missing:
        return
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication

    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        for name in missing:
            try:
                importlib.import_module(name)
            except ImportError:
                pass  # the job itself reports what is missing
    finally:
        QGuiApplication.restoreOverrideCursor()


def run_task(
    fn: Callable[..., Any],
    *args: Any,
    on_done: Callable[[Any], Any] | None = None,
    on_error: Callable[[str, str], Any] | None = None,
    on_progress: Callable[[str], Any] | None = None,
    imports: tuple[str, ...] = (),
    **kw: Any,
) -> Task:
    """Run ``fn(*args, **kw)`` off the GUI thread; the callbacks run on the GUI thread.

    ``imports``: packages the job needs, imported here on the GUI thread first (see
    ``preload``)."""
    if imports:
        preload(imports)
    task = Task(fn, *args, with_progress=on_progress is not None, **kw)
    if on_done is not None:
        task.done.connect(on_done)
    if on_error is not None:
        task.error.connect(on_error)
    if on_progress is not None:
        task.progress.connect(on_progress)
    return task.start()
