"""scikit-learn's bundled datasets come back from the array cache exactly as loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.runtime import sources


@pytest.mark.parametrize("name", ["Digits", "Iris", "Diabetes"])
def test_cached_dataset_equals_the_scikit_learn_load(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(sources.TOY_CACHE_ENV, str(tmp_path))
    fresh = sources._sklearn_load(name)
    first = sources.load_raw(name, {})  # fills the cache
    assert list((tmp_path / "datasets").glob(f"{name}-sklearn-*.npz"))
    cached = sources.load_raw(name, {})
    for r in (first, cached):
        assert (r.task, r.kind, r.class_names, r.target_name, r.feature_shape) == (
            fresh.task,
            fresh.kind,
            fresh.class_names,
            fresh.target_name,
            fresh.feature_shape,
        )
        assert r.y.dtype == fresh.y.dtype and np.array_equal(r.y, fresh.y)
        if fresh.kind == "table":
            pd.testing.assert_frame_equal(r.x, fresh.x)
        else:
            assert r.x.dtype == fresh.x.dtype and np.array_equal(r.x, fresh.x)


def test_a_damaged_cache_file_falls_back_to_scikit_learn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(sources.TOY_CACHE_ENV, str(tmp_path))
    path = sources._toy_cache_path("Iris")
    assert path is not None
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an npz")
    r = sources.load_raw("Iris", {})
    assert r.x.shape == (150, 4) and r.class_names[0] == "setosa"
