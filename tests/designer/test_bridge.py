"""The bridge: engine events from a plain thread arrive on the GUI thread, in order, throttled."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QThread

from designer.bridge import TrainingBridge, readable_error, run_task
from engine.train import events
from engine.train.events import BatchEnded, EpochEnded, Failed, Finished


# The engine's own events: the bridge matches them by class.
def Started(epochs: int, batches_per_epoch: int) -> events.Started:
    return events.Started(epochs, batches_per_epoch, "cpu", "/tmp/run", "classification", ())


class Recorder:
    def __init__(self, bridge: TrainingBridge) -> None:
        self.items: list[tuple[str, object]] = []
        self.threads: set[object] = set()
        bridge.started.connect(lambda e: self._add("started", e))
        bridge.batch.connect(lambda e, pts: self._add("batch", (e, list(pts))))
        bridge.epochEnded.connect(lambda e: self._add("epoch", e))
        bridge.finished.connect(lambda e: self._add("finished", e))
        bridge.failed.connect(lambda m: self._add("failed", m))

    def _add(self, kind: str, payload: object) -> None:
        self.threads.add(QThread.currentThread())
        self.items.append((kind, payload))

    def kinds(self) -> list[str]:
        return [k for k, _ in self.items]


def _emit_run(bridge: TrainingBridge, epochs: int, batches: int, delay: float = 0.0) -> None:
    bridge.post(Started(epochs, batches))
    step = 0
    for ep in range(1, epochs + 1):
        for b in range(1, batches + 1):
            step += 1
            bridge.post(BatchEnded(ep, b, batches, 1.0 / step, 1000.0, step))
            if delay:
                time.sleep(delay)
        bridge.post(EpochEnded(ep, epochs, {"loss": 1.0 / ep}, {"loss": 1.1 / ep}, 0.1, 0.01))
    bridge.post(Finished("/tmp/run", {"accuracy": 0.9}, False, []))


def test_events_from_a_thread_arrive_on_the_gui_thread_in_order(qtbot, qapp):
    bridge = TrainingBridge(batch_hz=20)
    bridge.reset()  # what attach() does before a session starts posting
    rec = Recorder(bridge)
    t = threading.Thread(target=_emit_run, args=(bridge, 3, 200))
    with qtbot.waitSignal(bridge.finished, timeout=5000):
        t.start()
    t.join()
    assert rec.threads == {qapp.thread()}
    kinds = rec.kinds()
    assert kinds[0] == "started" and kinds[-1] == "finished"
    # no epoch event lost, and in order, each after batches of its own epoch
    epochs = [p.epoch for k, p in rec.items if k == "epoch"]
    assert epochs == [1, 2, 3]
    last_batch_epoch = 0
    for k, p in rec.items:
        if k == "batch":
            last_batch_epoch = p[0].epoch
        elif k == "epoch":
            assert last_batch_epoch == p.epoch
    # every (step, loss) point arrives even though batch signals were coalesced
    steps = [s for k, p in rec.items if k == "batch" for s, _ in p[1]]
    assert steps == list(range(1, 601))
    assert bridge.batch_events == 600
    assert bridge.batch_signals < 600
    assert not bridge.collecting  # the run is over: no timer keeps waking the GUI


def test_batch_signals_are_throttled_to_the_rate(qtbot):
    bridge = TrainingBridge(batch_hz=20)
    bridge.reset()  # what attach() does before a session starts posting
    rec = Recorder(bridge)
    # ~1 s of batches at ~2 kHz, from a plain thread
    t = threading.Thread(target=_emit_run, args=(bridge, 1, 2000, 0.0005))
    t0 = time.monotonic()
    with qtbot.waitSignal(bridge.finished, timeout=10000):
        t.start()
    elapsed = time.monotonic() - t0
    t.join()
    n_batch = rec.kinds().count("batch")
    # 20 per second, plus the last run flushed with the epoch event
    assert n_batch <= 20 * elapsed + 3, (n_batch, elapsed)
    assert n_batch >= 2
    latest = [p[0] for k, p in rec.items if k == "batch"][-1]
    assert latest.step == 2000  # the latest values are kept


def test_post_never_waits_for_a_busy_gui(qtbot):
    """While the GUI thread is blocked, the training thread keeps posting at full speed."""
    bridge = TrainingBridge(batch_hz=20)
    bridge.reset()  # what attach() does before a session starts posting
    rec = Recorder(bridge)
    done = threading.Event()
    timing: list[float] = []

    def produce() -> None:
        t0 = time.perf_counter()
        _emit_run(bridge, 2, 5000)
        timing.append(time.perf_counter() - t0)
        done.set()

    t = threading.Thread(target=produce)
    t.start()
    time.sleep(0.3)  # the GUI thread is "busy": no event loop runs
    assert done.wait(5)
    assert timing[0] < 1.0  # 10k posts without a running event loop
    qtbot.waitUntil(lambda: "finished" in rec.kinds(), timeout=5000)
    t.join()
    assert [p.epoch for k, p in rec.items if k == "epoch"] == [1, 2]


def test_failed_event_becomes_a_readable_message(qtbot):
    bridge = TrainingBridge()
    bridge.reset()
    rec = Recorder(bridge)
    t = threading.Thread(target=lambda: bridge.post(Failed("loss became NaN", 17)))
    with qtbot.waitSignal(bridge.failed, timeout=3000) as blocker:
        t.start()
    t.join()
    assert "NaN" in blocker.args[0] and "17" in blocker.args[0]
    assert rec.kinds() == ["failed"]


def test_an_exception_becomes_a_failed_signal(qtbot):
    bridge = TrainingBridge()
    with qtbot.waitSignal(bridge.failed, timeout=3000) as blocker:
        bridge.report_exception(FileNotFoundError("data.csv: no such file"))
    assert blocker.args == ["data.csv: no such file"]


def test_watchdog_reports_a_session_that_died_silently(qtbot):
    class DeadSession:
        state = "running"

        def subscribe(self, fn):
            return lambda: None

    s = DeadSession()
    bridge = TrainingBridge()
    bridge.attach(s)
    s.state = "failed"  # its thread ended without posting Finished/Failed
    with qtbot.waitSignal(bridge.failed, timeout=5000) as blocker:
        pass
    assert "without reporting a result" in blocker.args[0]


def test_run_task_delivers_result_and_error_on_the_gui_thread(qtbot, qapp):
    seen: list[object] = []

    def work(x, progress):
        progress("half way")
        assert QThread.currentThread() is not qapp.thread()
        return x * 2

    task = run_task(
        work,
        21,
        on_done=lambda r: seen.append(("done", r, QThread.currentThread())),
        on_progress=lambda p: seen.append(("progress", p)),
    )
    qtbot.waitUntil(lambda: task.finished, timeout=3000)
    assert ("progress", "half way") in seen
    done = next(s for s in seen if s[0] == "done")
    assert done[1] == 42 and done[2] is qapp.thread()

    def boom():
        raise ValueError("column 'y' is missing")

    errs: list[str] = []
    task = run_task(boom, on_error=lambda m, tb: errs.append(m))
    qtbot.waitUntil(lambda: task.finished, timeout=3000)
    assert errs == ["column 'y' is missing"]


@pytest.mark.parametrize(
    "exc, text",
    [
        (ValueError("bad value"), "bad value"),
        (RuntimeError("CUDA error"), "CUDA error (RuntimeError)"),
        (KeyError("x"), "'x' (KeyError)"),
        (ZeroDivisionError(), "ZeroDivisionError"),
    ],
)
def test_readable_error(exc, text):
    assert readable_error(exc) == text


def test_garbage_cycles_are_collected_on_the_gui_thread_only(qtbot) -> None:
    """A cycle freed on a worker thread could run a QObject destructor there (a hang)."""
    import gc
    import threading

    from designer.bridge import gui_thread_gc

    gui_thread_gc()
    assert not gc.isenabled()  # automatic collection is off: only the GUI timer collects
    freed: list[str] = []

    class Cycle:
        def __init__(self) -> None:
            self.me = self

        def __del__(self) -> None:
            freed.append(threading.current_thread().name)

    for _ in range(2000):  # past generation 0's threshold
        Cycle()
    qtbot.waitUntil(lambda: bool(freed), timeout=10000)
    assert set(freed) == {threading.main_thread().name}
