"""Immutable training events. Subscribers get them on the training thread, so each is a
small frozen record of plain values (never a live model or tensor): cheap to create, safe to
hand to another thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Started:
    epochs: int
    batches_per_epoch: int
    device: str
    run_dir: str
    task: str
    class_names: tuple[str, ...]
    start_epoch: int = 1  # > 1 when resumed


@dataclass(frozen=True, slots=True)
class BatchEnded:
    epoch: int
    batch: int  # 1-based within the epoch
    batches: int
    loss: float
    samples_per_s: float
    step: int  # optimizer steps so far (1-based)


@dataclass(frozen=True, slots=True)
class EpochEnded:
    epoch: int
    epochs: int
    train: dict[str, float]
    val: dict[str, float]
    lr: float
    seconds: float


@dataclass(frozen=True, slots=True)
class CheckpointSaved:
    path: str
    kind: str  # "best" | "last"
    epoch: int


@dataclass(frozen=True, slots=True)
class Finished:
    run_dir: str
    test_metrics: dict[str, Any]
    stopped: bool
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str
    step: int | None = None
    kind: str = "project"  # "project" (fix the graph/settings), "data" (an input file), "runtime"


@dataclass(frozen=True, slots=True)
class InitReport:
    """What the training setting ``init_from`` loaded, by the model's tensor names.

    ``missing``: the model's tensors the file lacks (freshly initialised, e.g. a new head);
    ``unexpected``: the file's tensors this model has no place for; ``wrong_shape``: names
    in both whose shapes differ (kept fresh), each as (name, shape in the file, shape here).
    """

    source: str
    loaded: tuple[str, ...]
    missing: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    wrong_shape: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = ()
    prefix: str = ""  # stripped from the file's names to match ("model.", "module." …)

    def summary(self) -> str:
        """One or two lines for a log: counts, and the first few names of each kind."""

        def few(names: tuple[str, ...] | list[str]) -> str:
            shown = ", ".join(names[:4])
            return shown + (f" … ({len(names) - 4} more)" if len(names) > 4 else "")

        parts = [f"loaded {len(self.loaded)} tensors from {self.source}"]
        if self.prefix:
            parts[0] += f" (names without {self.prefix!r})"
        if self.missing:
            parts.append(f"freshly initialised {len(self.missing)}: {few(self.missing)}")
        if self.wrong_shape:
            shapes = [
                f"{k} {'×'.join(map(str, a))} there, {'×'.join(map(str, b))} here"
                for k, a, b in self.wrong_shape
            ]
            parts.append(f"wrong shape {len(shapes)} (kept fresh): {few(shapes)}")
        if self.unexpected:
            parts.append(f"not used from the file {len(self.unexpected)}: {few(self.unexpected)}")
        return "; ".join(parts)


Event = Started | BatchEnded | EpochEnded | CheckpointSaved | Finished | Failed | InitReport


_TYPES: dict[str, type] = {
    t.__name__: t
    for t in (Started, BatchEnded, EpochEnded, CheckpointSaved, Finished, Failed, InitReport)
}


def to_json(ev: Event) -> str:
    """One event as one line of JSON (how rank 0 of a multi-process run reports)."""
    import dataclasses
    import json

    body = {f.name: getattr(ev, f.name) for f in dataclasses.fields(ev)}
    return json.dumps({"event": type(ev).__name__, **body}, allow_nan=True)


def from_json(line: str) -> Event | None:
    """The event a line of ``to_json`` holds; None for a line that is not one."""
    import json

    try:
        d = json.loads(line)
        cls = _TYPES[d.pop("event")]
        if cls is Started:
            d["class_names"] = tuple(d.get("class_names") or ())
        if cls is InitReport:
            for k in ("loaded", "missing", "unexpected"):
                d[k] = tuple(d.get(k) or ())
            d["wrong_shape"] = tuple(
                (str(k), tuple(a), tuple(b)) for k, a, b in d.get("wrong_shape") or ()
            )
        return cls(**d)  # type: ignore[no-any-return]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


class Subscribers:
    """Who listens to a session: subscribe from any thread, events delivered on the training
    thread, in order; a broken listener is reported and never breaks training."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._fns: tuple[Callable[[Any], None], ...] = ()

    def subscribe(self, fn: Callable[[Any], None]) -> Callable[[], None]:
        """Add ``fn``; returns the function that removes it again."""
        with self._lock:
            self._fns = (*self._fns, fn)

        def unsubscribe() -> None:
            with self._lock:
                self._fns = tuple(f for f in self._fns if f is not fn)

        return unsubscribe

    def emit(self, ev: Any) -> None:
        for fn in self._fns:
            try:
                fn(ev)
            except Exception:  # a broken subscriber must not break training
                import traceback

                traceback.print_exc()

    def __bool__(self) -> bool:
        return bool(self._fns)
