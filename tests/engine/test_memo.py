"""The engine's one cache: computes once, remembers failures, forgets the least recent."""

from __future__ import annotations

import pytest

from engine.memo import Memo, freeze


def test_computes_once_and_evicts_the_least_recent() -> None:
    calls: list[str] = []
    memo: Memo[str] = Memo(2)

    def make(k: str):
        return lambda: calls.append(k) or k.upper()

    assert memo.get("a", make("a")) == "A"
    assert memo.get("a", make("a")) == "A"
    memo.get("b", make("b"))
    memo.get("a", make("a"))  # a is now the most recent
    memo.get("c", make("c"))  # evicts b
    memo.get("b", make("b"))
    assert calls == ["a", "b", "c", "b"]
    assert len(memo) == 2


def test_remembered_failures_are_raised_again_as_copies() -> None:
    calls = 0

    def bad() -> int:
        nonlocal calls
        calls += 1
        raise ValueError("broken input")

    memo: Memo[int] = Memo(4, remember=(ValueError,))
    with pytest.raises(ValueError, match="broken input") as first:
        memo.get("k", bad)
    with pytest.raises(ValueError, match="broken input") as second:
        memo.get("k", bad)
    assert calls == 1 and first.value is not second.value
    with pytest.raises(KeyError):
        memo.get("other", lambda: {}["x"])  # not remembered: raised, not cached
    assert len(memo) == 1


def test_freeze_makes_parameters_hashable() -> None:
    assert freeze({"b": [1, 2], "a": {"x": (3,)}}) == (("a", (("x", (3,)),)), ("b", (1, 2)))
    hash(freeze({"k": [[1], {"z": 2}]}))
