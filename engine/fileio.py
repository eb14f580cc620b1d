"""The one way the engine writes a file it cares about: atomically, and saying why it failed.

``atomic_write`` writes to a uniquely named hidden temporary file beside the target, fsyncs
it, then renames it over the target, so a reader sees the old file or the whole new one and
never a half-written one, even when two writers race or the process is killed. On failure
the temporary file is removed and a full disk becomes ``WriteError("no space left on device
while writing FILE")``. Temporaries left by a killed writer are swept by ``clean_stale``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from engine.errors import TorchwireError

TMP_SUFFIX = ".twtmp"
STALE_AFTER_S = 3600.0


class WriteError(TorchwireError, OSError):
    """A file could not be written; the message names the file and the reason."""


def _reason(e: BaseException) -> str:
    no = getattr(e, "errno", None)
    text = str(e)
    if no == errno.ENOSPC or "No space left" in text or "ENOSPC" in text:
        return "no space left on device"
    if no in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if no == errno.EROFS:
        return "the file system is read-only"
    strerror = getattr(e, "strerror", None)
    return (strerror or (text.splitlines()[0] if text else type(e).__name__)).lower()


def is_disk_full(e: BaseException) -> bool:
    """Whether ``e`` (or what caused it) says the disk is full, whoever raised it."""
    seen: BaseException | None = e
    while seen is not None:
        if getattr(seen, "errno", None) == errno.ENOSPC or "No space left" in str(seen):
            return True
        if "inline_container" in str(seen) and "enforce fail" in str(seen):
            return True  # torch.save's C++ writer hides the errno behind this text
        seen = seen.__cause__ or seen.__context__
    return False


def temp_path(path: str | os.PathLike[str]) -> Path:
    """A new, uniquely named hidden file beside ``path`` (same file system for the rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    return Path(tmp)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def publish(tmp: str | os.PathLike[str], path: str | os.PathLike[str]) -> None:
    """fsync ``tmp`` and rename it over ``path``; on failure ``tmp`` is removed."""
    tmp, path = Path(tmp), Path(path)
    try:
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(e, OSError) and not isinstance(e, WriteError):
            raise WriteError(f"{_reason(e)} while writing {path}", file=path) from e
        raise


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path for a writer that wants a file name (torch.save, onnx.save).

    When the block ends normally the file is fsynced and renamed over ``path``; when it
    raises, the temporary file is removed and a disk or OS failure becomes ``WriteError``.
    """
    path = Path(path)
    try:
        tmp = temp_path(path)
    except OSError as e:
        raise WriteError(f"{_reason(e)} while writing {path}", file=path) from e
    try:
        yield tmp
    except BaseException as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(e, WriteError):
            raise
        if isinstance(e, OSError) or is_disk_full(e):
            reason = "no space left on device" if is_disk_full(e) else _reason(e)
            raise WriteError(f"{reason} while writing {path}", file=path) from e
        raise
    publish(tmp, path)


def atomic_write(
    path: str | os.PathLike[str],
    data: str | bytes | Callable[[IO[Any]], None],
    *,
    encoding: str = "utf-8",
) -> Path:
    """Write ``data`` (text, bytes, or a function that writes to a binary file) atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if isinstance(data, str):
            raw = data.encode(encoding)  # may raise UnicodeEncodeError before any write
            with open(tmp, "wb") as f:
                f.write(raw)
        elif isinstance(data, bytes | bytearray | memoryview):
            with open(tmp, "wb") as f:
                f.write(data)
        else:
            with open(tmp, "wb") as f:
                data(f)
    return path


def clean_stale(folder: str | os.PathLike[str], older_than_s: float = STALE_AFTER_S) -> int:
    """Remove temporaries of ``atomic_write`` left by a killed writer; returns how many.

    Only files older than ``older_than_s`` are removed, so a writer still at work in another
    process keeps its file.
    """
    n = 0
    now = time.time()
    with contextlib.suppress(OSError):
        for p in Path(folder).glob(f".*{TMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                if now - p.stat().st_mtime > older_than_s:
                    p.unlink()
                    n += 1
    return n
