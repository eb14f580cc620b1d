"""The engine's train_test_split draws exactly what scikit-learn's does (splits unchanged)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import train_test_split as sk_split

from engine.runtime.prepare import train_test_split


def _cases() -> list[tuple[int, int, int, bool, int]]:
    rng = np.random.RandomState(0)
    out = []
    for _ in range(120):
        n = int(rng.randint(6, 400))
        k = int(rng.randint(1, n))
        n_classes = int(rng.randint(1, 8))
        out.append((n, k, int(rng.randint(0, 2**32 - 1)), bool(rng.randint(2)), n_classes))
    return out


@pytest.mark.parametrize(("n", "k", "seed", "strat", "n_classes"), _cases())
def test_same_indices_as_scikit_learn(
    n: int, k: int, seed: int, strat: bool, n_classes: int
) -> None:
    ids = np.arange(n) * 3 + 1  # not 0..n-1: indexing must go through ids
    y = np.random.RandomState(seed % 1000).randint(0, n_classes, n) if strat else None
    try:
        want = sk_split(ids, test_size=k, random_state=seed, stratify=y)
    except ValueError:
        with pytest.raises(ValueError):
            train_test_split(ids, test_size=k, random_state=seed, stratify=y)
        return
    got = train_test_split(ids, test_size=k, random_state=seed, stratify=y)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_ties_in_class_counts_are_broken_the_same_way() -> None:
    ids = np.arange(40)
    y = np.repeat(np.arange(4), 10)  # four equal classes: every remainder ties
    for seed in range(30):
        want = sk_split(ids, test_size=6, random_state=seed, stratify=y)
        got = train_test_split(ids, test_size=6, random_state=seed, stratify=y)
        assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
