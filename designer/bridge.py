"""The one place engine events become Qt signals.

Engine callbacks run on the training thread and must never wait for the GUI, so ``post``
only puts the event in a ``designer.workers.Inbox`` (a list under a lock, and one posted
wake-up per burst) and returns. On the GUI thread the inbox delivers bursts, which are
re-emitted as signals: high-rate ``BatchEnded`` events coalesced (the latest kept, plus the
(step, loss) pairs in between) and delivered at most ``batch_hz`` times a second; every
other event (epoch ends, checkpoints, finished, failed) delivered, in order.

Events are matched by their class from ``engine.train.events``, imported on first delivery
(an event can only arrive once the engine runs), so this module needs neither torch nor the
training engine to import: the window opens before torch has loaded.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from designer.workers import Inbox, submit

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


def _events() -> Any:
    from engine.train import events

    return events


def _coalesce(pending: list[Any], ev: Any) -> list[Any]:
    """Inbox coalescing (under the inbox's lock): consecutive BatchEnded events become one
    ``_BatchRun``."""
    if type(ev) is _events().BatchEnded:
        run = pending[-1] if pending else None
        if not isinstance(run, _BatchRun):
            run = _BatchRun()
            pending.append(run)
        run.add(ev)
    else:
        pending.append(ev)
    return pending


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
    initLoaded = Signal(object)  # what init_from loaded (engine InitReport)
    finished = Signal(object)
    failed = Signal(str)
    event = Signal(object)

    def __init__(self, parent: QObject | None = None, *, batch_hz: float = 20.0) -> None:
        super().__init__(parent)
        self.batch_interval = 1.0 / batch_hz if batch_hz > 0 else 0.0
        self._inbox = Inbox(self._deliver, min_interval=self.batch_interval, coalesce=self._merge)
        self._inbox.close()  # nothing is collected before reset()/attach()
        self._unsubscribe: Callable[[], Any] | None = None
        self._session: Any = None
        self._ended = False
        self._ended_seen_at: float | None = None
        # statistics (tests and the benchmark read them)
        self.batch_signals = 0
        self.batch_events = 0
        self._watchdog = QTimer(self)
        self._watchdog.setInterval(250)
        self._watchdog.timeout.connect(self._watch)

    @property
    def posted(self) -> int:
        return self._inbox.posted

    def _merge(self, pending: list[Any], ev: Any) -> list[Any]:
        if type(ev) is _events().BatchEnded:
            self.batch_events += 1
        return _coalesce(pending, ev)

    # -- any thread ------------------------------------------------------------------------
    def post(self, ev: Any) -> None:
        """Take one engine event; called on the training thread, returns at once, no Qt."""
        self._inbox.put(ev)

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
        self._ended = False
        self._ended_seen_at = None
        self._inbox.reopen()

    def adopt(self, session: Any, unsubscribe: Callable[[], Any] | None) -> None:
        """Watch a session that was subscribed to ``post`` and started on another thread."""
        self._session = session
        self._unsubscribe = unsubscribe
        self._ended_seen_at = None
        if not self._ended:
            self._watchdog.start()

    def detach(self) -> None:
        """Stop listening and collecting (the run is over, or the panel gives it up)."""
        self._inbox.close()
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
        """Whether events are still expected (a finished run leaves nothing waiting)."""
        return not self._ended and not self._inbox.closed

    def report_exception(self, exc: BaseException) -> None:
        """A failure outside the session's own events (e.g. it could not be created)."""
        self._inbox.reopen()
        self.post(_Failure(readable_error(exc), None, "".join(traceback.format_exception(exc))))

    def flush(self) -> None:
        """Deliver everything queued now, ignoring the batch rate limit."""
        self._inbox.flush()

    def _deliver(self, items: list[Any]) -> None:
        ev = _events()
        for item in items:
            if isinstance(item, _BatchRun):
                self.batch_signals += 1
                self.batch.emit(item.latest, item.points)
                continue
            self.event.emit(item)
            kind = type(item)
            if kind is ev.Started:
                self.started.emit(item)
            elif kind is ev.EpochEnded:
                self.epochEnded.emit(item)
            elif kind is ev.CheckpointSaved:
                self.checkpointSaved.emit(item)
            elif kind is ev.InitReport:
                self.initLoaded.emit(item)
            elif kind is ev.Finished:
                self._ended = True
                self.finished.emit(item)
            elif kind is ev.Failed or kind is _Failure:
                self._ended = True
                self.failed.emit(failure_text(item))

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
        self.flush()
        if not self._ended:
            self.post(_Failure(f"training ended ({state}) without reporting a result", None, ""))
            self.flush()
        self._watchdog.stop()


class _Failure:
    """A failure the bridge itself reports, delivered like an engine ``Failed`` event."""

    def __init__(self, reason: str, step: int | None, details: str) -> None:
        self.reason = reason
        self.step = step
        self.details = details


class Task(QObject):
    """A function run on a worker thread; its result, error and progress arrive as signals.

    A thin signal face over ``designer.workers.submit``: the worker touches no Qt, and
    every callback runs on the GUI thread.
    """

    done = Signal(object)
    error = Signal(str, str)  # readable message, traceback
    progress = Signal(str)
    _running: set[Task] = set()  # noqa: RUF012  keeps tasks alive until they report

    def __init__(
        self, fn: Callable[..., Any], *args: Any, with_progress: bool = False, **kw: Any
    ) -> None:
        super().__init__()
        self._fn, self._args, self._kw = fn, args, kw
        self._with_progress = with_progress
        self.result: Any = None
        self.message: str | None = None
        self.details = ""
        self.finished = False

    def start(self) -> Task:
        """Start the worker (call on the GUI thread)."""
        gui_thread_gc()
        Task._running.add(self)
        submit(
            self._fn,
            *self._args,
            on_done=self._on_done,
            on_error=self._on_error,
            on_progress=(lambda t: self.progress.emit(str(t))) if self._with_progress else None,
            thread_name="torchwire-task",
            **self._kw,
        )
        return self

    def _on_done(self, value: Any) -> None:
        self.finished = True
        Task._running.discard(self)
        self.result = value
        self.done.emit(value)

    def _on_error(self, exc: BaseException) -> None:
        self.finished = True
        Task._running.discard(self)
        self.message = readable_error(exc)
        self.details = "".join(traceback.format_exception(exc))
        self.error.emit(self.message, self.details)


_collector: Any = None


class _GuiCollector(QObject):
    """Python's cyclic collector, driven from a GUI-thread timer (as pyqtgraph's
    ``GarbageCollector`` does, without importing pyqtgraph at start-up): automatic
    collection is off, and every ``interval`` the generations over their thresholds are
    collected here, so an object in a cycle is only ever destroyed on this thread."""

    def __init__(self, interval_s: float = 0.5) -> None:
        import gc

        super().__init__()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(int(interval_s * 1000))

    def check(self) -> None:
        import gc

        c0, c1, c2 = gc.get_count()
        t0, t1, t2 = gc.get_threshold()
        if c0 > t0:
            gc.collect(2 if c2 > t2 else 1 if c1 > t1 else 0)


def gui_thread_gc() -> None:
    """Let Python's cyclic garbage collector run on the GUI thread only (once per process).

    A collection that happens on a worker thread (during an import, say) can destroy a
    PySide object left in a reference cycle; its QObject destructor then waits for the GIL
    while the GUI thread waits for the worker: both threads hang (seen in the Compress
    dialog's first export). So automatic collection is turned off and a GUI timer collects,
    generation by generation at the usual thresholds.
    """
    global _collector
    if _collector is None:
        from PySide6.QtCore import QCoreApplication

        _collector = _GuiCollector()
        app = QCoreApplication.instance()
        if app is not None:
            _collector.setParent(app)


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
