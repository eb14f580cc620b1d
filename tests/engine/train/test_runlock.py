"""engine.train.runlock: one writer per run folder, within one process too."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from engine.train import runlock
from engine.train.runlock import RunFolderBusy, RunLock


def test_two_threads_acquiring_one_folder_at_once_get_one_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second thread comes while the first has written its pid but not yet recorded
    that it holds the lock: it must still be refused, never judge the lock stale."""
    second_done = threading.Event()
    real_fsync = os.fsync
    first = threading.get_ident()

    def slow_fsync(fd: int) -> None:
        if threading.get_ident() == first:
            second_done.wait(0.5)  # the second thread's whole attempt fits in here
        real_fsync(fd)

    monkeypatch.setattr(runlock.os, "fsync", slow_fsync)
    results: dict[str, object] = {}

    def second() -> None:
        lock = RunLock(tmp_path)
        try:
            lock.acquire()
            results["second"] = lock
        except RunFolderBusy as e:
            results["second"] = e
        finally:
            second_done.set()

    a = RunLock(tmp_path)
    orig_open = os.open

    def open_then_start_second(*args, **kw):
        fd = orig_open(*args, **kw)  # the lock file exists now, empty
        if threading.get_ident() == first and "second" not in results:
            threading.Thread(target=second, daemon=True).start()
        return fd

    monkeypatch.setattr(runlock.os, "open", open_then_start_second)
    a.acquire()
    second_done.wait(30)
    assert a.held
    assert isinstance(results["second"], RunFolderBusy), "two writers hold one run folder"
    a.release()


def test_many_threads_race_for_one_folder_and_one_wins(tmp_path: Path) -> None:
    for round_ in range(20):
        folder = tmp_path / str(round_)
        locks = [RunLock(folder) for _ in range(6)]
        start = threading.Barrier(len(locks))
        won: list[RunLock] = []

        def go(lock: RunLock, start=start, won=won) -> None:
            start.wait()
            try:
                lock.acquire()
                won.append(lock)
            except RunFolderBusy:
                pass

        threads = [threading.Thread(target=go, args=(lk,)) for lk in locks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1, f"{len(won)} writers hold {folder}"
        won[0].release()
