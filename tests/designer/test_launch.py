"""``torchwire WORD`` (issue 16 item 21): a typo is an error, never a window waiting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

IRIS = ROOT / "resources" / "examples" / "iris.json"


def _launch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "designer.launch", *args],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_unknown_word_lists_the_commands_and_exits_2(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TORCHWIRE_DATA_DIR": str(tmp_path)}
    r = _launch("tune-typo", env=env)
    assert r.returncode == 2
    assert "no such command or file: tune-typo" in r.stderr
    assert "check" in r.stderr and "compile" in r.stderr and "nodes" in r.stderr
    r = _launch(str(tmp_path / "missing.json"), env=env)
    assert r.returncode == 2 and "no such command or file" in r.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland are Linux's")
def test_opening_a_file_without_a_display_says_so(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["TORCHWIRE_DATA_DIR"] = str(tmp_path)
    r = _launch(str(IRIS), env=env)
    assert r.returncode == 2
    assert "no display" in r.stderr
