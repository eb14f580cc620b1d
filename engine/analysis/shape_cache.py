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
- only the built-in types are cached (``engine.catalog.builtin``), never plugins, whose
  code can change under the same name; failures are never cached (they are re-derived, with
  their message, each time);
- the file is plain JSON, read with ``json`` (bounded in size; a nesting too deep for the
  parser is a corrupt file, not an error) and validated entry by entry — a cache is data,
  never code; a corrupt or foreign file is ignored, and it is written atomically;
- every entry carries a MAC keyed by a secret of this cache folder (``key``, made once,
  readable by the user only), so an entry edited by hand, copied from another machine or
  planted in a shared folder is not trusted even when it is well formed (a wrong size is
  plausible); an entry that is not well formed (a ``true`` size, a negative count) is dropped.

``TORCHWIRE_CACHE_DIR`` (the same as the dataset cache) moves it; ``TORCHWIRE_NO_SHAPE_CACHE``
turns it off.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import hmac
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from engine.fileio import atomic_write

MAX_ENTRIES = 20000
MAX_FILE_BYTES = 64_000_000  # a shapes file larger than this is not one we wrote
MAX_RANK = 32
MAX_COUNT = 2**62  # a size, parameter count or MAC count beyond this is not plausible
FORMAT = "2"  # entries as {"v": value, "mac": ...}
FLUSH_EVERY_S = 10.0  # a write is a dump of the whole map: not on every live check
_ENV_DIR = "TORCHWIRE_CACHE_DIR"
_ENV_OFF = "TORCHWIRE_NO_SHAPE_CACHE"

_lock = threading.Lock()
_entries: dict[str, dict[str, Any]] | None = None
_dirty = False
_last_flush = 0.0
_path: Path | None = None
_key: bytes | None = None


def enabled() -> bool:
    return not os.environ.get(_ENV_OFF)


def _fingerprint() -> str:
    """torch's version and a hash of the code an evaluation runs."""
    import torch

    engine = Path(__file__).resolve().parent.parent
    here = Path(__file__).resolve().parent
    h = hashlib.sha256(f"{torch.__version__}/{FORMAT}".encode())
    files = [
        *sorted((engine / "catalog").glob("*.py")),
        engine / "modules.py",
        here / "check.py",
        here / "evaluate.py",
    ]
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


def _count(x: Any) -> bool:
    """A size or count: an int (``True`` is not one) in a plausible range."""
    return type(x) is int and 0 <= x <= MAX_COUNT


def _valid(v: Any) -> bool:
    """Whether ``v`` is a well-formed evaluation (types and ranges; the MAC says it is ours)."""

    def shape(s: Any) -> bool:
        return isinstance(s, list) and len(s) <= MAX_RANK and all(_count(d) for d in s)

    return (
        isinstance(v, dict)
        and shape(v.get("shape"))
        and isinstance(v.get("dtype"), str)
        and all(_count(v.get(k)) for k in ("params", "macs", "bytes"))
        and isinstance(v.get("shapes"), list)
        and all(shape(s) for s in v["shapes"])
        and isinstance(v.get("dtypes"), list)
        and all(isinstance(d, str) for d in v["dtypes"])
        and len(v["shapes"]) == len(v["dtypes"])
    )


def _secret() -> bytes | None:
    """This cache folder's MAC key, made on first use (None when it cannot be had: then
    nothing is read from or written to disk)."""
    global _key
    if _key is None:
        p = path().with_name("key")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                try:
                    os.write(fd, os.urandom(32).hex().encode("ascii"))
                finally:
                    os.close(fd)
            text = p.read_text(encoding="ascii").strip()
            key = bytes.fromhex(text)
        except (OSError, ValueError):
            return None
        if len(key) < 16:
            return None
        _key = key
    return _key


def _mac(secret: bytes, k: str, v: dict[str, Any]) -> str:
    msg = json.dumps([k, v], sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def _trusted(secret: bytes, k: Any, item: Any) -> bool:
    """A stored item is ours and well formed: a string key, a valid value, the right MAC."""
    if not (isinstance(k, str) and isinstance(item, dict) and isinstance(item.get("mac"), str)):
        return False
    v = item.get("v")
    return _valid(v) and hmac.compare_digest(item["mac"], _mac(secret, k, v))


def _read() -> dict[str, dict[str, Any]]:
    """The trusted entries of the file; {} for a missing, unreadable, oversized, foreign or
    corrupt one (nested deeper than the parser goes, say)."""
    secret = _secret()
    if secret is None:
        return {}
    try:
        p = path()
        if not p.is_file() or p.stat().st_size > MAX_FILE_BYTES:
            return {}
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {k: item["v"] for k, item in raw.items() if _trusted(secret, k, item)}


def _load() -> dict[str, dict[str, Any]]:
    global _entries
    if _entries is None:
        _entries = _read()
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
        secret = _secret()
        if secret is None:
            return
        signed = {k: {"v": v, "mac": _mac(secret, k, v)} for k, v in _entries.items()}
        data = json.dumps(signed, separators=(",", ":"))
        _dirty = False
        _last_flush = now
    try:
        p = path()
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(p, data)
    except Exception:
        pass


atexit.register(flush, True)
