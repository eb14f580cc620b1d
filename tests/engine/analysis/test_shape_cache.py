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
    assert saved[k]["shape"] == [3] and "x" not in saved
    # read back in a "new process": the entry is used as it is
    monkeypatch.setattr(shape_cache, "_entries", None)
    assert shape_cache.get(k) == saved[k]
