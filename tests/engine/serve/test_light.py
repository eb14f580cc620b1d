"""The server's own modules stay light: a bundle ships them without torch or the engine's
data stack, and the engine's server starts without paying for them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.paths import ROOT

HEAVY = ("torch", "pandas", "sklearn", "onnx")


@pytest.mark.parametrize(
    "module",
    [
        "engine.serve.app",
        "engine.serve.server",
        "engine.serve.model",
        "engine.serve.protocol",
        "engine.serve.metadata",
    ],
)
def test_the_server_imports_no_heavy_package(module: str) -> None:
    code = f"import sys, {module}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == ""
