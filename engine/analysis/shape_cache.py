"""A disk cache of node evaluations (shape, dtype, parameters, MACs), across processes.

Why: running a node on torch's ``meta`` device is cheap, but the *first* run in a process
is not — nearly every meta kernel goes through ``torch._compile``, which imports
``torch._dynamo`` (about a second here). The designer's first screen needs every node's
shape; with the shapes of what the user opened last time on disk, the first check of a
project needs no meta run at all, and the canvas shows shapes and problems as soon as
torch is imported.

What makes it safe to trust:
- the key is everything an evaluation depends on: node type, the type's declaration
  version, parameters, input shapes and dtypes; the file name carries torch's version and a
  hash of the engine's code that evaluates (the catalog, the custom modules, the check), so
  a new torch or a changed declaration starts a fresh file;
- only catalog types are cached (not plugins, whose code can change under the same name);
  failures are never cached (they are re-derived, with their message, each time);
- the file is plain JSON, read with ``json`` and validated entry by entry — a cache is data,
  never code; a corrupt or foreign file is ignored, and it is written atomically.

``TORCHWIRE_CACHE_DIR`` (the same as the dataset cache) moves it; ``TORCHWIRE_NO_SHAPE_CACHE``
turns it off.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

MAX_ENTRIES = 20000
FLUSH_EVERY_S = 10.0  # a write is a dump of the whole map: not on every live check
_ENV_DIR = "TORCHWIRE_CACHE_DIR"
_ENV_OFF = "TORCHWIRE_NO_SHAPE_CACHE"

_lock = threading.Lock()
_entries: dict[str, dict[str, Any]] | None = None
_dirty = False
_last_flush = 0.0
_path: Path | None = None


def enabled() -> bool:
    return not os.environ.get(_ENV_OFF)


def _fingerprint() -> str:
    """torch's version and a hash of the code an evaluation runs."""
    import torch

    root = Path(__file__).parent
    h = hashlib.sha256(torch.__version__.encode())
    files = [*sorted((root / "catalog").glob("*.py")), root / "modules.py", root / "check.py"]
    for f in files:
        try:
            h.update(f.read_bytes())
        except OSError:
            h.update(f.name.encode())
    return h.hexdigest()[:16]


def path() -> Path:
    global _path
    if _path is None:
        base = os.environ.get(_ENV_DIR)
        if not base:
            xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
            base = str(Path(xdg) / "torchwire")
        _path = Path(base) / "shapes" / f"shapes-{_fingerprint()}.json"
    return _path


def _valid(v: Any) -> bool:
    def shape(s: Any) -> bool:
        return isinstance(s, list) and all(isinstance(d, int) and d >= 0 for d in s)

    return (
        isinstance(v, dict)
        and shape(v.get("shape"))
        and isinstance(v.get("dtype"), str)
        and all(isinstance(v.get(k), int) and v[k] >= 0 for k in ("params", "macs", "bytes"))
        and isinstance(v.get("shapes"), list)
        and all(shape(s) for s in v["shapes"])
        and isinstance(v.get("dtypes"), list)
        and all(isinstance(d, str) for d in v["dtypes"])
        and len(v["shapes"]) == len(v["dtypes"])
    )


def _load() -> dict[str, dict[str, Any]]:
    global _entries
    if _entries is None:
        entries: dict[str, dict[str, Any]] = {}
        try:
            raw = json.loads(path().read_text(encoding="utf-8"))
            if isinstance(raw, dict):
                entries = {k: v for k, v in raw.items() if isinstance(k, str) and _valid(v)}
        except (OSError, ValueError):
            pass  # no cache yet, or not ours: start empty
        _entries = entries
    return _entries


def key(type_name: str, version: int, params: Any, in_shapes: Any, in_dtypes: Any) -> str | None:
    """The cache key of one evaluation; None when its inputs are not plain JSON values."""
    try:
        return json.dumps(
            [type_name, version, params, in_shapes, [str(d) for d in in_dtypes]],
            sort_keys=True,
            allow_nan=False,
            separators=(",", ":"),
        )
    except (TypeError, ValueError):
        return None


def get(k: str) -> dict[str, Any] | None:
    with _lock:
        return _load().get(k)


def put(k: str, value: dict[str, Any]) -> None:
    global _dirty
    with _lock:
        entries = _load()
        entries[k] = value
        while len(entries) > MAX_ENTRIES:
            entries.pop(next(iter(entries)))
        _dirty = True


def flush(force: bool = False) -> None:
    """Write new entries (at most every ``FLUSH_EVERY_S`` unless ``force``); errors are
    ignored: a cache that cannot be written only costs speed."""
    global _dirty, _last_flush
    now = time.monotonic()
    with _lock:
        if not _dirty or _entries is None or (not force and now - _last_flush < FLUSH_EVERY_S):
            return
        data = json.dumps(_entries, separators=(",", ":"))
        _dirty = False
        _last_flush = now
    try:
        from engine.fileio import atomic_write

        p = path()
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(p, data)
    except Exception:
        pass


atexit.register(flush, True)
