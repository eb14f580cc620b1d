"""engine.analysis.shape_cache: node evaluations kept on disk for the next process's first check."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

# In a fresh process: check a project, and say whether any meta run (torch._dynamo, which
# torch's meta kernels import on first use) was needed, and what the check found.
PROBE = """
import json, sys
from engine import load_project
from engine.analysis.check import check
rep = check(load_project(sys.argv[1]))
print(json.dumps({
    "dynamo": "torch._dynamo" in sys.modules,
    "shapes": {k: list(v) for k, v in rep.shapes.items()},
    "params": rep.total_params, "macs": rep.total_macs,
    "errors": [d.message for d in rep.errors],
}))
"""


def _run(project: Path, cache: Path, *, off: bool = False) -> dict:
    env = {"TORCHWIRE_CACHE_DIR": str(cache), "PATH": "/usr/bin:/bin", "HOME": str(cache)}
    if off:
        env["TORCHWIRE_NO_SHAPE_CACHE"] = "1"
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(project)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_second_process_checks_from_the_cache_with_the_same_report(tmp_path: Path) -> None:
    project = ROOT / "resources" / "examples" / "lenet.json"
    cold = _run(project, tmp_path)
    files = list((tmp_path / "shapes").glob("shapes-*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())
    warm = _run(project, tmp_path)
    assert cold["dynamo"] and not warm["dynamo"]  # no meta run the second time
    assert {k: warm[k] for k in ("shapes", "params", "macs", "errors")} == {
        k: cold[k] for k in ("shapes", "params", "macs", "errors")
    }
    off = _run(project, tmp_path, off=True)
    assert off["dynamo"] and off["shapes"] == cold["shapes"]


def test_a_corrupt_or_foreign_cache_is_ignored(tmp_path: Path, monkeypatch) -> None:
    from engine.analysis import shape_cache
    from engine.analysis.evaluate import _evaluate_cached
    from engine.catalog import get

    monkeypatch.delenv("TORCHWIRE_NO_SHAPE_CACHE", raising=False)
    monkeypatch.setenv("TORCHWIRE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(shape_cache, "_path", None)
    monkeypatch.setattr(shape_cache, "_entries", None)
    monkeypatch.setattr(shape_cache, "_key", None, raising=False)
    import torch

    spec = get("Linear")
    params = spec.coerce_params({"out_features": 3})
    k = shape_cache.key("Linear", spec.version, params, [[5]], [torch.float32])
    assert k is not None
    p = shape_cache.path()
    p.parent.mkdir(parents=True)
    # one entry of the wrong types (a hostile or broken file), one lying about the shape
    p.write_text(json.dumps({k: {"shape": "rm -rf", "dtype": 1}, "x": []}))
    ev = _evaluate_cached(spec, params, [(5,)], [torch.float32])
    assert ev.shape == (3,) and ev.params == 18
    shape_cache.flush(force=True)
    saved = json.loads(p.read_text())
    assert saved[k]["v"]["shape"] == [3] and "x" not in saved
    # read back in a "new process": the entry is used as it is
    monkeypatch.setattr(shape_cache, "_entries", None)
    assert shape_cache.get(k) == saved[k]["v"]


def _fresh_cache(tmp_path: Path, monkeypatch) -> None:
    """A cache of its own in ``tmp_path``, on, as a new process would find it."""
    from engine.analysis import shape_cache

    monkeypatch.delenv("TORCHWIRE_NO_SHAPE_CACHE", raising=False)
    monkeypatch.setenv("TORCHWIRE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(shape_cache, "_path", None)
    monkeypatch.setattr(shape_cache, "_entries", None)
    monkeypatch.setattr(shape_cache, "_key", None, raising=False)


def _linear_key() -> tuple[str, object]:
    import torch

    from engine.analysis import shape_cache
    from engine.catalog import get

    spec = get("Linear")
    params = spec.coerce_params({"out_features": 3})
    k = shape_cache.key("Linear", spec.version, params, [[5]], [torch.float32])
    assert k is not None
    return k, params


def test_a_plugin_type_is_never_served_from_the_disk(tmp_path: Path, monkeypatch) -> None:
    import torch
    from torch import nn

    from engine.analysis import shape_cache
    from engine.analysis.evaluate import _evaluate_cached
    from engine.catalog import get, plugins

    _fresh_cache(tmp_path, monkeypatch)

    def plugin(width: int) -> type[nn.Module]:
        class Widen(nn.Module):
            def __init__(self, in_features: int) -> None:
                super().__init__()
                self.lin = nn.Linear(in_features, width)

            def forward(self, x):
                return self.lin(x)

        Widen.__module__ = __name__
        Widen.torchwire_input_size = "in_features"
        return Widen

    try:
        info = plugins.register(plugin(16))
        ev = _evaluate_cached(get(info.type), {}, [(4,)], [torch.float32])
        assert ev.shape == (16,)
        shape_cache.flush(force=True)
        plugins.unload()
        # the plugin's code changed; the next process must see its new width
        monkeypatch.setattr(shape_cache, "_entries", None)
        info = plugins.register(plugin(5))
        ev = _evaluate_cached(get(info.type), {}, [(4,)], [torch.float32])
        assert ev.shape == (5,)
        assert not any(info.type in k for k in shape_cache._load())
    finally:
        plugins.unload()


def test_a_deeply_nested_cache_file_is_a_corrupt_cache_not_an_error(
    tmp_path: Path, monkeypatch
) -> None:
    from engine import load_project
    from engine.analysis import shape_cache
    from engine.analysis.check import check

    _fresh_cache(tmp_path, monkeypatch)
    p = shape_cache.path()
    p.parent.mkdir(parents=True)
    p.write_text("[" * 200_000 + "]" * 200_000)
    k, _ = _linear_key()
    assert shape_cache.get(k) is None
    assert not check(load_project(ROOT / "resources" / "examples" / "iris.json")).errors


def test_well_formed_but_false_entries_are_not_trusted(tmp_path: Path, monkeypatch) -> None:
    import torch

    from engine.analysis import shape_cache
    from engine.analysis.evaluate import _evaluate_cached
    from engine.catalog import get

    _fresh_cache(tmp_path, monkeypatch)
    k, params = _linear_key()
    good = {"dtype": "torch.float32", "params": 18, "macs": 15, "bytes": 72, "dtypes": []}
    p = shape_cache.path()
    p.parent.mkdir(parents=True)
    for lie in (
        {**good, "shape": [7777], "shapes": [[7777]], "dtypes": ["torch.float32"]},
        {**good, "shape": [True], "shapes": [[True]], "dtypes": ["torch.float32"]},
    ):
        for stored in (lie, {"v": lie, "mac": "0" * 64}):
            p.write_text(json.dumps({k: stored}))
            monkeypatch.setattr(shape_cache, "_entries", None)
            assert shape_cache.get(k) is None
            ev = _evaluate_cached(get("Linear"), params, [(5,)], [torch.float32])
            assert ev.shape == (3,)
    # a size of True is not a size, however it got there
    assert not shape_cache._valid({**good, "shape": [True], "shapes": [], "dtypes": []})
