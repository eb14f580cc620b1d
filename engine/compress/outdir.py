"""The output folder of ``compress``: one writer at a time, and exactly what the report lists.

Every variant is built in a hidden work folder (``.compress-*``) inside the output folder and
moved into it only once measured and accepted. While it works, ``compress`` holds the
folder's lock (``engine.train.runlock``: a lock whose process is gone is stale and taken
over), so any other work folder found there belongs to a writer that was killed: it is
removed when the folder is next written.

Compressing again into the same folder replaces the earlier result: the entries an earlier
``compress`` wrote (its variants, named by the fixed grammar below, and ``report.json``) that
the new report does not list are removed, so the folder holds exactly what ``report.json``
lists. Anything else in it (a file or folder ``compress`` never writes) is the user's: the
folder is refused, and nothing in it is touched. Hidden entries are left alone.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from engine.compress.errors import CompressError
from engine.compress.options import MODES
from engine.fileio import clean_stale
from engine.train.runlock import RunFolderBusy, RunLock

REPORT_FILE = "report.json"
WORK_PREFIX = ".compress-"
# What compress writes: original.onnx, pruned-50/, pruned-50.onnx, pruned-50-fp16.onnx, ...
OWN_ENTRY = re.compile(
    r"(original|pruned-\d+|distilled)(-(" + "|".join(map(re.escape, MODES)) + r"))?(\.onnx)?"
)


def is_own(name: str) -> bool:
    """Whether an entry of an output folder is one ``compress`` writes."""
    return name == REPORT_FILE or OWN_ENTRY.fullmatch(name) is not None


class OutFolder:
    """The output folder while ``compress`` writes it (a context manager holding its lock)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.path = Path(folder)
        self._lock = RunLock(self.path)

    def __enter__(self) -> OutFolder:
        if self.path.exists() and not self.path.is_dir():
            raise CompressError(f"{self.path}: not a folder", file=self.path)
        try:
            self._lock.acquire()
        except RunFolderBusy as e:
            who = f"pid {e.pid}" if e.pid is not None else "another process"
            raise CompressError(
                f"{self.path} is being written by another compress or training ({who}); "
                "choose another --out folder",
                file=self.path,
            ) from None
        except OSError as e:
            raise CompressError(f"{self.path}: cannot be written ({e})", file=self.path) from None
        try:
            self._refuse_foreign()
            self.sweep()
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def _refuse_foreign(self) -> None:
        foreign = sorted(
            p.name for p in self.path.iterdir() if not p.name.startswith(".") and not is_own(p.name)
        )
        if foreign:
            shown = ", ".join(foreign[:5]) + (
                f" and {len(foreign) - 5} more" if foreign[5:] else ""
            )
            raise CompressError(
                f"{self.path} holds files compress did not write ({shown}); choose an empty or "
                "new --out folder (a folder compress wrote before is replaced)",
                file=self.path,
            )

    def sweep(self) -> int:
        """Remove the work folders of killed writers (we hold the lock: no live one is here)
        and the report's leftover temporaries; returns how many entries went."""
        n = 0
        for p in self.path.glob(WORK_PREFIX + "*"):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
                n += 1
        return n + clean_stale(self.path, 0, names=[REPORT_FILE])

    def publish(self, work: Path, entries: list[str]) -> None:
        """Move ``entries`` from the work folder in (replacing same-named ones), then remove
        what an earlier compress wrote that is not among them; ``report.json`` comes last,
        from the caller."""
        for entry in entries:
            src, dst = work / entry, self.path / entry
            if dst.is_dir() and not dst.is_symlink():
                shutil.rmtree(dst)
            elif src.is_dir() and (dst.exists() or dst.is_symlink()):
                dst.unlink()
            os.replace(src, dst)
        keep = {*entries, REPORT_FILE}
        for p in self.path.iterdir():
            if p.name in keep or p.name.startswith(".") or not is_own(p.name):
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
