"""The one way the engine writes a file it cares about: atomically, and saying why it failed.

``atomic_write`` writes to a uniquely named hidden temporary file beside the target, fsyncs
it, then renames it over the target, so a reader sees the old file or the whole new one and
never a half-written one, even when two writers race or the process is killed. On failure
the temporary file is removed and a full disk becomes ``WriteError("no space left on device
while writing FILE")``. Temporaries left by a killed writer are swept by ``clean_stale``.
``read_regular`` is its reading counterpart for files it did not write itself: a regular
file, bounded, never a FIFO that would block.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from engine.errors import TorchwireError

TMP_SUFFIX = ".twtmp"
STALE_AFTER_S = 3600.0


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp makes 0600 files; a published file gets the mode an ordinary open() would give it
# (or keeps the mode of the file it replaces), read once here, while importing is single-threaded.
_UMASK = _read_umask()


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


def write_error(e: BaseException, path: str | os.PathLike[str]) -> BaseException:
    """``e`` as the ``WriteError`` a user reads ("no space left on device while writing FILE"),
    or ``e`` itself when it is no disk or OS failure (a bug in the writer stays visible)."""
    if isinstance(e, WriteError):
        return e
    if isinstance(e, OSError) or is_disk_full(e):
        reason = "no space left on device" if is_disk_full(e) else _reason(e)
        return WriteError(f"{reason} while writing {path}", file=path)
    return e


def temp_path(path: str | os.PathLike[str], suffix: str = "") -> Path:
    """A new, uniquely named hidden file beside ``path`` (same file system for the rename).

    ``suffix`` ends the name for writers and readers that go by the extension (a ``.py``
    an interpreter imports, an ``.onnx`` a runtime loads)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX + suffix, dir=path.parent)
    try:
        try:
            mode = path.stat().st_mode & 0o777
        except OSError:
            mode = 0o666 & ~_UMASK
        with contextlib.suppress(OSError):
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)
            else:  # Windows
                os.chmod(tmp, mode)
    finally:
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
        err = write_error(e, path)
        if err is e:
            raise
        raise err from e


def publish_all(pairs: Sequence[tuple[str | os.PathLike[str], str | os.PathLike[str]]]) -> None:
    """Publish several temporaries as one change: every target is replaced, or none is.

    Every temporary is fsynced first (where a full disk shows), then renamed over its target
    in order. If a rename fails, the targets already replaced get their previous contents
    back (kept as hard links until the end; a target that did not exist is removed again),
    so files that describe each other (``best.pt`` and ``last.pt``) never disagree. No
    temporary is left either way.
    """
    items = [(Path(t), Path(p)) for t, p in pairs]
    done: list[tuple[Path, Path | None]] = []  # replaced targets, with their previous file
    kept: list[Path] = []
    current = items[0][1] if items else Path()
    try:
        for tmp, current in items:  # noqa: B007 (current names the file in an error)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        for tmp, current in items:
            backup: Path | None = None
            if len(items) > 1 and current.exists():
                backup = current.with_name(f".{current.name}.{time.time_ns()}.old{TMP_SUFFIX}")
                try:
                    os.link(current, backup)
                    kept.append(backup)
                except OSError:  # no hard links on this file system: no rollback for it
                    backup = None
            os.replace(tmp, current)
            done.append((current, backup))
        for folder in {p.parent for _, p in items}:
            _fsync_dir(folder)
    except BaseException as e:
        for path, backup in reversed(done):
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, path)
                else:
                    path.unlink()
        for p in [t for t, _ in items] + kept:
            with contextlib.suppress(OSError):
                p.unlink()
        err = write_error(e, current)
        if err is e:
            raise
        raise err from e
    for p in kept:
        with contextlib.suppress(OSError):
            p.unlink()


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
    except (ValueError, UnicodeError) as e:  # a NUL or unencodable text in the name
        raise WriteError(
            f"cannot write {str(path)!r}: not a usable file name ({e})", file=path
        ) from e
    try:
        yield tmp
    except BaseException as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        err = write_error(e, path)
        if err is e:
            raise
        raise err from e
    publish(tmp, path)


def read_regular(path: str | os.PathLike[str], limit: int) -> bytes | None:
    """The bytes of ``path`` when it is a regular file of at most ``limit`` bytes, else None
    (missing, unreadable, too large, or not a file).

    For files anyone could have put there (a run folder's): opened without blocking and
    checked on the open file itself, so a FIFO or device under the expected name (or swapped
    in after a check) is never waited on, and a huge file is never read whole."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) <= limit else None


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


def clean_stale(
    folder: str | os.PathLike[str],
    older_than_s: float = STALE_AFTER_S,
    names: Iterable[str] | None = None,
) -> int:
    """Remove temporaries of ``atomic_write`` left by a killed writer; returns how many.

    Only files older than ``older_than_s`` are removed, so a writer still at work in another
    process keeps its file. ``names`` limits the sweep to the temporaries of these files
    (and their fixed-name ``.NAME.tmp`` from older versions): a training that holds its run
    folder's lock passes ``older_than_s=0`` for its own files, which no one else writes.
    """
    if names is None:
        patterns = [f".*{TMP_SUFFIX}", f".*{TMP_SUFFIX}.*"]
    else:
        patterns = [
            p for n in names for p in (f".{n}.*{TMP_SUFFIX}", f".{n}.*{TMP_SUFFIX}.*", f".{n}.tmp")
        ]
    n = 0
    now = time.time()
    with contextlib.suppress(OSError):
        for pattern in patterns:
            for p in Path(folder).glob(pattern):
                with contextlib.suppress(OSError):
                    if now - p.stat().st_mtime >= older_than_s:
                        p.unlink()
                        n += 1
    return n
