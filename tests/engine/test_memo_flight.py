"""Memo: a key computed by one thread is waited for by the others, not computed twice."""

from __future__ import annotations

import threading
import time

from engine.memo import Memo


def test_concurrent_gets_of_one_key_compute_it_once() -> None:
    m: Memo[int] = Memo(8)
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        time.sleep(0.2)
        return 42

    out: list[int] = []
    ts = [threading.Thread(target=lambda: out.append(m.get("k", slow))) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert out == [42] * 4
    assert len(calls) == 1


def test_a_failure_that_is_not_remembered_is_computed_again_by_the_waiter() -> None:
    m: Memo[int] = Memo(8)
    attempts: list[int] = []
    started = threading.Event()

    def flaky() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            started.set()
            time.sleep(0.1)
            raise RuntimeError("first try fails")
        return 7

    errors: list[BaseException] = []

    def first() -> None:
        try:
            m.get("k", flaky)
        except RuntimeError as e:
            errors.append(e)

    t = threading.Thread(target=first)
    t.start()
    started.wait()
    assert m.get("k", flaky) == 7
    t.join()
    assert len(errors) == 1 and len(attempts) == 2
