"""Launching a training run on several processes with PyTorch's own launcher (torchrun).

``torchwire train FILE --nproc-per-node N`` re-runs itself as N workers under
``python -m torch.distributed.run``; each worker is an ordinary ``python -m engine train``
that finds its rank in the environment torchrun sets, so one code path trains on one
process or many. The launcher only builds the command, runs it, and reports the first
failing rank's reason, which every worker writes to a folder the launcher chose.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.project import save_project
from engine.train import events
from engine.train.session import SessionState, TrainResult

FAIL_DIR_ENV = "TORCHWIRE_FAIL_DIR"


@dataclass(frozen=True)
class LaunchOptions:
    """torchrun's placement flags, as the CLI takes them."""

    nproc_per_node: int
    nnodes: int = 1
    node_rank: int = 0
    master_addr: str | None = None
    master_port: int | None = None
    rdzv_endpoint: str | None = None


def torchrun_command(opts: LaunchOptions, worker_args: Sequence[str]) -> list[str]:
    """The torchrun command line whose workers run ``python -m engine train …``."""
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc-per-node={opts.nproc_per_node}",
        f"--nnodes={opts.nnodes}",
        f"--node-rank={opts.node_rank}",
        "--max-restarts=0",
    ]
    if opts.rdzv_endpoint:
        cmd += ["--rdzv-backend=c10d", f"--rdzv-endpoint={opts.rdzv_endpoint}"]
    elif opts.master_addr or opts.master_port:
        if opts.master_addr:
            cmd.append(f"--master-addr={opts.master_addr}")
        if opts.master_port:
            cmd.append(f"--master-port={opts.master_port}")
    elif opts.nnodes == 1:
        cmd.append("--standalone")  # a private rendezvous on a free local port
    return [*cmd, "-m", "engine", "train", *worker_args]


def launch(opts: LaunchOptions, worker_args: Sequence[str]) -> tuple[int, str | None]:
    """Run the workers in the foreground; (exit code, the first failing rank's reason)."""
    with tempfile.TemporaryDirectory(prefix="torchwire-ranks-") as d:
        env = {**os.environ, FAIL_DIR_ENV: d}
        try:
            code = subprocess.call(torchrun_command(opts, worker_args), env=env)
        except KeyboardInterrupt:  # the workers got the signal too and stop at a batch
            code = 130
        return code, first_failure(Path(d))


def first_failure(folder: Path) -> str | None:
    """The reason the lowest failing rank wrote, as ``rank N: reason``."""
    found = sorted(folder.glob("rank-*.txt"), key=lambda p: int(p.stem.split("-")[1]))
    for p in found:
        text = p.read_text(encoding="utf-8", errors="replace").strip()
        if text:
            return f"rank {p.stem.split('-')[1]}: {text}"
    return None


def report_failure(rank: int, reason: str) -> None:
    """A worker's last word: where the launcher reads it (no-op outside a launch)."""
    d = os.environ.get(FAIL_DIR_ENV)
    if not d:
        return
    try:
        Path(d, f"rank-{rank}.txt").write_text(reason + "\n", encoding="utf-8")
    except OSError:
        pass


EVENTS_ENV = "TORCHWIRE_EVENTS"


class EventLog:
    """Rank 0's events as JSON lines in the file ``TORCHWIRE_EVENTS`` names.

    Batch events are thinned to one per 50 ms (and each epoch's last): a GUI redraws no
    faster, and the file stays small.
    """

    def __init__(self, path: str) -> None:
        self.f = open(path, "a", encoding="utf-8")  # noqa: SIM115  (closed by close())
        self.last = 0.0

    def __call__(self, ev: Any) -> None:
        if isinstance(ev, events.BatchEnded):
            now = time.monotonic()
            if now - self.last < 0.05 and ev.batch != ev.batches:
                return
            self.last = now
        self.f.write(events.to_json(ev) + "\n")
        self.f.flush()

    def close(self) -> None:
        self.f.close()


class ProcessSession:
    """A training run on several processes with the ``TrainingSession`` interface.

    What the designer uses when "processes" is above 1: the project is written beside the
    original (relative data paths still resolve), torchrun starts the workers, and rank 0's
    events are read back from a JSON-lines file and delivered to subscribers on this
    session's thread. ``stop()`` signals the workers, which stop together at a batch and
    write ``last.pt``; pausing several processes is not offered.
    """

    def __init__(
        self,
        graph: Any,
        nproc: int,
        out_dir: str | os.PathLike[str],
        epochs: int | None = None,
        device: str | None = None,
        *,
        resume: str | os.PathLike[str] | None = None,
    ) -> None:
        self.graph = graph
        self.nproc = nproc
        self.out_dir = str(out_dir)
        self.run_dir: str | None = self.out_dir
        self.epochs, self.device = epochs, device
        self.resume_from = str(resume) if resume is not None else None
        self._state = SessionState.IDLE
        self._lock = threading.Lock()
        self._listeners = events.Subscribers()
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self.result: Any = None
        self.failure: Any = None

    @property
    def state(self) -> Any:
        return self._state

    def _set(self, to: Any) -> None:
        with self._lock:
            if not self._state.final:
                self._state = to

    def subscribe(self, fn: Callable[[Any], None]) -> Callable[[], None]:
        """``fn(event)`` runs on the training thread; keep it cheap and non-blocking."""
        return self._listeners.subscribe(fn)

    def _emit(self, ev: Any) -> None:
        self._listeners.emit(ev)

    def start(self) -> None:
        with self._lock:
            if self._state != SessionState.IDLE:
                raise RuntimeError(f"this session cannot start again (state: {self._state})")
            self._state = SessionState.RUNNING
        self._thread = threading.Thread(target=self._run, name="torchwire-ddp", daemon=True)
        self._thread.start()

    def run(self) -> Any:
        self.start()
        self.join()
        return self.result

    def pause(self) -> None:
        return None  # not offered for several processes

    def resume(self) -> None:
        return None

    def stop(self) -> None:
        """Ask the workers to stop at the next batch (they write ``last.pt``)."""
        import signal

        with self._lock:
            if self._state == SessionState.IDLE:
                self._state = SessionState.STOPPED
                return
            if self._state.final:
                return
            self._state = SessionState.STOPPING
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)

    def join(self, timeout: float | None = None) -> bool:
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _project_file(self, folder: Path) -> Path:
        base = self.graph.source_path
        where = Path(base).parent if base else folder
        path = where / f".{Path(self.out_dir).name}.torchwire-run.json"
        save_project(self.graph, path)
        return path

    def _run(self) -> None:
        Path(self.out_dir).mkdir(parents=True, exist_ok=True)
        finished: Any = None
        with tempfile.TemporaryDirectory(prefix="torchwire-ranks-") as d:
            log = Path(d) / "events.jsonl"
            log.touch()
            project = self._project_file(Path(d))
            args = [str(project), "--out", self.out_dir, "--quiet"]
            for flag, v in (("--epochs", self.epochs), ("--device", self.device),
                            ("--resume", self.resume_from)):  # fmt: skip
                if v is not None:
                    args += [flag, str(v)]
            env = {**os.environ, FAIL_DIR_ENV: d, EVENTS_ENV: str(log)}
            try:
                with open(log, encoding="utf-8") as f:
                    self._proc = subprocess.Popen(
                        torchrun_command(LaunchOptions(self.nproc), args),
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE,
                    )
                    while True:
                        alive = self._proc.poll() is None
                        for line in f.readlines():
                            ev = events.from_json(line)
                            if isinstance(ev, events.Finished):
                                finished = ev  # delivered once the state is final
                            elif ev is not None and not isinstance(ev, events.Failed):
                                self._emit(ev)
                        if not alive:
                            break
                        time.sleep(0.05)
                    err = (self._proc.stderr.read() if self._proc.stderr else b"").decode(
                        "utf-8", "replace"
                    )
                code = self._proc.returncode
                reason = first_failure(Path(d))
            finally:
                project.unlink(missing_ok=True)
        if code == 0 and finished is not None:
            run = Path(self.out_dir)
            self.result = TrainResult(
                run_dir=self.out_dir,
                test_metrics=finished.test_metrics,
                history=finished.history,
                best_checkpoint=str(run / "best.pt") if (run / "best.pt").exists() else None,
                last_checkpoint=str(run / "last.pt") if (run / "last.pt").exists() else None,
                stopped=finished.stopped,
                device=self.device or "auto",
                epochs_completed=len(finished.history),
            )
            self._set(SessionState.STOPPED if finished.stopped else SessionState.FINISHED)
            self._emit(finished)
            return
        tail = err.strip().splitlines()[-1] if err.strip() else f"exit code {code}"
        self.failure = events.Failed(reason or f"the workers failed: {tail}", None, "runtime")
        self._set(SessionState.FAILED)
        self._emit(self.failure)
