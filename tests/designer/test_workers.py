"""designer.workers: the one path from worker threads to the GUI thread."""

from __future__ import annotations

import gc
import itertools
import threading
import time

from PySide6.QtCore import QCoreApplication, QThread

from designer.workers import Inbox, submit


def _wait(qtbot, cond, timeout: float = 5.0) -> None:
    qtbot.waitUntil(cond, timeout=int(timeout * 1000))


def test_items_from_threads_arrive_on_the_gui_thread_in_order_and_coalesced(qtbot):
    got: list[tuple[int, int]] = []
    threads_seen: set[object] = set()

    def deliver(items):
        threads_seen.add(QThread.currentThread())
        got.extend(items)

    inbox = Inbox(deliver)

    def work(tid: int) -> None:
        for i in range(2000):
            inbox.put((tid, i))

    ts = [threading.Thread(target=work, args=(t,)) for t in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    _wait(qtbot, lambda: len(got) == 6000)
    assert threads_seen == {QCoreApplication.instance().thread()}
    for tid in range(3):
        assert [i for t, i in got if t == tid] == list(range(2000))
    # 6000 puts while the GUI thread was busy joining: a handful of deliveries, not 6000
    assert inbox.deliveries < 50
    assert not inbox.pending


def test_min_interval_limits_the_delivery_rate(qtbot):
    stamps: list[float] = []
    inbox = Inbox(lambda items: stamps.append(time.monotonic()), min_interval=0.05)
    stop = time.monotonic() + 0.6

    def work() -> None:
        while time.monotonic() < stop:
            inbox.put(1)
            time.sleep(0.001)

    t = threading.Thread(target=work)
    t.start()
    while t.is_alive():
        qtbot.wait(5)
    _wait(qtbot, lambda: not inbox.pending)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(stamps) <= 0.6 / 0.05 + 3
    assert min(gaps) >= 0.045
    assert inbox.posted > 100


def test_coalesce_merges_pending_items(qtbot):
    got: list[list[int]] = []

    def merge(pending, item):
        if pending:
            pending[-1] += item
        else:
            pending.append(item)
        return pending

    inbox = Inbox(lambda items: got.append(list(items)), coalesce=merge)
    t = threading.Thread(target=lambda: [inbox.put(1) for _ in range(500)])
    t.start()
    t.join()
    _wait(qtbot, lambda: sum(sum(x) for x in got) == 500)
    assert all(len(x) == 1 for x in got)


class _Receiver:
    def __init__(self) -> None:
        self.items: list[int] = []

    def take(self, items) -> None:
        self.items.extend(items)


def test_a_receiver_that_is_gone_is_never_called(qtbot):
    r = _Receiver()
    seen = r.items
    inbox = Inbox(r.take)  # a bound method: held weakly
    inbox.put(1)
    _wait(qtbot, lambda: seen == [1])
    del r
    gc.collect()
    inbox.put(2)  # delivered to nobody, and no error
    qtbot.wait(50)
    assert inbox.closed


def test_closed_inbox_drops_items(qtbot):
    got: list[int] = []
    inbox = Inbox(got.extend)
    inbox.close()
    inbox.put(1)
    qtbot.wait(30)
    assert got == [] and not inbox.pending
    inbox.reopen()
    inbox.put(2)
    _wait(qtbot, lambda: got == [2])


def test_submit_delivers_result_error_and_progress_on_the_gui_thread(qtbot):
    gui = QCoreApplication.instance().thread()
    seen: dict[str, object] = {}

    def job(n: int, progress) -> int:
        for i in range(n):
            progress(i)
        return n * 2

    progress: list[int] = []
    fut = submit(
        job,
        5,
        on_done=lambda v: seen.update(done=v, thread=QThread.currentThread()),
        on_progress=progress.append,
    )
    _wait(qtbot, lambda: fut.done)
    assert seen == {"done": 10, "thread": gui} and progress == [0, 1, 2, 3, 4]
    assert fut.result == 10 and fut.error is None

    def bad() -> None:
        raise ValueError("no such column 'x'")

    errors: list[BaseException] = []
    fut = submit(bad, on_error=errors.append)
    _wait(qtbot, lambda: fut.done)
    assert isinstance(fut.error, ValueError) and errors == [fut.error]


def test_an_outcome_nobody_holds_is_still_delivered_after_a_collection(qtbot):
    """submit's inbox is only referred to by its own callbacks once the worker is done: a
    garbage collection before the wake-up is processed must not lose the outcome."""
    got: list[int] = []
    done = threading.Event()

    def job() -> int:
        return 7

    submit(job, on_done=lambda v: (got.append(v), done.set()))
    time.sleep(0.2)  # the worker has put its outcome and ended; nothing was processed yet
    gc.collect()
    _wait(qtbot, lambda: got == [7])
