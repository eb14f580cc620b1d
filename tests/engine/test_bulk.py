"""The collector pause around bulk loads and checks nests, and always ends."""

from __future__ import annotations

import gc

import pytest

from engine.bulk import bulk


def test_the_collector_comes_back_after_nested_and_failing_blocks() -> None:
    was = gc.isenabled()  # a designer test in this process may have moved it to its timer
    gc.enable()
    try:
        _nested_and_failing()
    finally:
        if not was:
            gc.disable()


def _nested_and_failing() -> None:
    with bulk():
        assert not gc.isenabled()
        with bulk():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still holds it
    assert gc.isenabled()
    with pytest.raises(ValueError), bulk():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        with bulk():
            pass
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()
