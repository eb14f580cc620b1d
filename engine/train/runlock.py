"""One writer per run folder: a lock file naming the training that writes there.

Two trainings writing one folder would interleave their ``last.pt`` and ``best.pt`` and
leave a pair that belongs to neither. The writer creates ``.torchwire.lock`` with
``O_CREAT | O_EXCL`` (one creator wins, on every platform and on network shares that honour
it) holding its pid and host; a second writer is refused and told who holds the folder. A
lock whose process is gone (killed, crashed, the machine restarted) is stale: it is taken
over, by renaming it aside first and checking it is still the stale one, so two trainings
that both found it stale cannot both win. A lock from another host cannot be judged and is
respected.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from engine.errors import TorchwireError
from engine.fileio import read_regular

LOCK_NAME = ".torchwire.lock"
MAX_LOCK_BYTES = 65536  # ours are a line of JSON
# A lock file still empty this long after it was made belongs to a writer that died between
# creating it and writing its pid (a younger one may be a writer at work right now).
EMPTY_STALE_AFTER_S = 10.0

_held: set[str] = set()  # lock files this process holds (another session of ours is alive)
# Guards ``_held`` and spans a whole acquisition (create, write, record) and release in this
# process: a lock file carrying our pid is judged against ``_held`` only once its writer is
# done, so a thread never finds another thread's lock "stale" between its write and record.
_held_lock = threading.RLock()


class RunFolderBusy(TorchwireError):
    """The run folder is being written by another training."""

    def __init__(self, message: str, *, file: str | os.PathLike[str], pid: int | None) -> None:
        super().__init__(message, file=file)
        self.pid = pid


def _host() -> str:
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    except OSError:
        return False
    return True


def _read(path: Path) -> dict[str, Any] | None:
    """The lock's owner, {} for an unreadable lock (not a regular file, say: a FIFO is never
    waited on), None when there is no lock any more."""
    raw = read_regular(path, MAX_LOCK_BYTES)
    if raw is None:
        return {} if os.path.lexists(path) else None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _stale(path: Path, owner: dict[str, Any]) -> bool:
    pid = owner.get("pid")
    if not isinstance(pid, int) or owner.get("host") is None:
        try:  # empty or garbled: stale unless it was made a moment ago (its writer is at work)
            return time.time() - path.stat().st_mtime > EMPTY_STALE_AFTER_S
        except OSError:
            return False
    if owner.get("host") != _host():
        return False  # another machine's process: cannot tell, so respect it
    if pid == os.getpid():
        with _held_lock:
            return str(path) not in _held  # ours only if a live session here holds it
    return not pid_alive(pid)


class RunLock:
    """The lock of one run folder; ``acquire()`` raises ``RunFolderBusy`` when it is taken."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._token: str | None = None

    @property
    def held(self) -> bool:
        return self._token is not None

    def acquire(self) -> None:
        if self._token is not None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        token = f"{os.getpid()}-{time.time_ns()}-{threading.get_ident()}"
        doc = json.dumps(
            {"pid": os.getpid(), "host": _host(), "since": time.time(), "token": token}
        )
        for _ in range(20):
            with _held_lock:
                if self._try(doc):
                    self._token = token
                    return
        raise RunFolderBusy(
            f"{self.folder} is in use by another training (its lock {self.path} keeps "
            "changing); choose another folder or stop it",
            file=self.folder,
            pid=None,
        )

    def _try(self, doc: str) -> bool:
        """One attempt (under ``_held_lock``): True once the lock file is ours and recorded;
        False to try again (it was released or stale); RunFolderBusy when it is taken."""
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _read(self.path)
            if owner is None:
                return False  # released meanwhile: try again
            if not _stale(self.path, owner):
                raise self._busy(owner) from None
            self._take_over(owner)
            return False
        try:
            os.write(fd, doc.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        _held.add(str(self.path))
        return True

    def _take_over(self, owner: dict[str, Any]) -> None:
        """Move a stale lock aside, unless another writer replaced it in the meantime."""
        aside = self.path.with_name(f"{LOCK_NAME}.{os.getpid()}.{time.time_ns()}.stale")
        try:
            os.rename(self.path, aside)
        except OSError:
            return  # someone else moved it first
        if _read(aside) == owner:
            with contextlib.suppress(OSError):
                aside.unlink()
            return
        # it was a fresh lock by now: put it back (link fails if yet another lock exists)
        with contextlib.suppress(OSError):
            os.link(aside, self.path)
        with contextlib.suppress(OSError):
            aside.unlink()

    def _busy(self, owner: dict[str, Any]) -> RunFolderBusy:
        pid = owner.get("pid") if isinstance(owner.get("pid"), int) else None
        host = owner.get("host")
        who = f"pid {pid}" if pid is not None else "unknown process"
        if host and host != _host():
            who += f" on {host}"
        return RunFolderBusy(
            f"{self.folder} is in use by another training ({who}); choose another folder "
            "or stop it",
            file=self.folder,
            pid=pid,
        )

    def release(self) -> None:
        """Remove the lock file, if it is still this writer's."""
        token, self._token = self._token, None
        if token is None:
            return
        with _held_lock:
            _held.discard(str(self.path))
            owner = _read(self.path)
            if owner and owner.get("token") == token:
                with contextlib.suppress(OSError):
                    self.path.unlink()

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def folder_busy(folder: str | os.PathLike[str]) -> bool:
    """Whether a live training holds ``folder`` now (a stale lock does not count)."""
    path = Path(folder) / LOCK_NAME
    owner = _read(path)
    return owner is not None and not _stale(path, owner)
