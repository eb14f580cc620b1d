"""Trained example models, exported as a server serves them, and live servers on free
loopback ports (``python -m engine.serve`` in a subprocess, stopped with SIGTERM)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from tests.support.paths import ROOT
from tests.support.trained import TrainedExamples

torch.set_num_threads(1)


class Trained:
    def __init__(self, project: Path, run: Path, onnx: Path) -> None:
        self.project, self.run, self.onnx = project, run, onnx


class _Lazy(dict):
    """Each example (trained once for the session) exported the first time a test asks."""

    def __init__(self, tmp: Path, runs: TrainedExamples) -> None:
        super().__init__()
        self.tmp, self.runs = tmp, runs

    def __missing__(self, example: str) -> Trained:
        from engine.serve.prepare import model_file

        project, run = self.runs.project(example), self.runs.run(example)
        onnx = model_file(project, self.tmp / f"{example}.onnx", checkpoint=run)
        self[example] = t = Trained(project, run, onnx)
        return t


@pytest.fixture(scope="session")
def trained(
    tmp_path_factory: pytest.TempPathFactory, trained_examples: TrainedExamples
) -> dict[str, Trained]:
    return _Lazy(tmp_path_factory.mktemp("serve-models"), trained_examples)


class Server:
    """A server process; ``url``; ``log()`` its output so far; ``stop()`` by SIGTERM."""

    def __init__(self, args: list[str], cwd: Path | None = None, python: str | None = None,
                 env: dict[str, str] | None = None, module: str = "engine.serve",
                 command: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.log_path = (
            Path(os.environ.get("TMPDIR", "/tmp")) / f"serve-{os.getpid()}-{id(self)}.log"
        )
        self.log_file = open(self.log_path, "w+b")  # noqa: SIM115
        full_env = dict(os.environ if env is None else env)
        if env is None:
            full_env["PYTHONPATH"] = str(ROOT)
        self.proc = subprocess.Popen(
            [python or sys.executable, "-m", module, *command, "--host", "127.0.0.1", "--port", "0",
             "--log-level", "warning", *args],
            cwd=cwd, env=full_env, stdout=self.log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.url = self._wait_url()
        self.host = self.url.removeprefix("http://")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _wait_url(self, timeout: float = 60) -> str:
        import urllib.request

        end = time.monotonic() + timeout
        url = None
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited {self.proc.returncode}:\n{self.log()}")
            if url is None:
                m = re.search(r"at (http://127\.0\.0\.1:\d+)", self.log())
                url = m.group(1) if m else None
            if url is not None:
                try:
                    with urllib.request.urlopen(url + "/v2/health/ready", timeout=2) as r:
                        if r.status == 200:
                            return url
                except OSError:
                    pass
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"the server did not come up:\n{self.log()}")

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.log_file.close()


@pytest.fixture
def start_server() -> Iterator[object]:
    servers: list[Server] = []

    def start(*args: str, **kw: object) -> Server:
        s = Server(list(args), **kw)  # type: ignore[arg-type]
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.kill()


@pytest.fixture(scope="module")
def iris_server(trained: dict[str, Trained]) -> Iterator[Server]:
    s = Server([
        "--model", str(trained["iris"].onnx), "--max-body", "200000", "--max-batch", "64",
    ])  # fmt: skip
    yield s
    s.stop()
    s.kill()
