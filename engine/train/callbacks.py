"""The session's hooks into the runtime's loop: pause and stop, the events a GUI shows, and
the run folder's checkpoints.

Each is a ``engine.runtime.Callback``; tuning pruners and distillation add their own the
same way, without touching the loop.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from engine.runtime.loop import BatchEnd, Callback, EpochEnd, Trainer
from engine.train import checkpoint as ck
from engine.train import events

# Epochs shorter than this write their checkpoints at most this often (and always at the end,
# on stop and on early stopping), so that checkpointing never dominates a fast epoch.
SAVE_INTERVAL_S = 10.0


class Controls(Callback):
    """Pause (waits before the next batch) and stop (ends the run there, resumable)."""

    def __init__(self, running: threading.Event, stop: threading.Event) -> None:
        self.running, self.stop = running, stop

    def should_stop(self, trainer: Trainer) -> bool:
        if not self.running.is_set():
            self.running.wait()
        return self.stop.is_set()


class Events(Callback):
    """Batch and epoch events for subscribers (a GUI's plots, the CLI's progress bar).

    On the CPU the loss is read every batch anyway, so every batch is reported; on an
    accelerator at most every 50 ms, since reading the loss synchronizes the device.
    """

    def __init__(self, emit: Callable[[Any], None], device: torch.device) -> None:
        self.emit = emit
        self.batch_interval_s = 0.0 if device.type == "cpu" else 0.05

    def on_batch_end(self, trainer: Trainer, info: BatchEnd) -> None:
        self.emit(
            events.BatchEnded(
                info.epoch, info.batch, info.batches, info.loss, info.samples_per_s, info.step
            )
        )

    def on_epoch_end(self, trainer: Trainer, info: EpochEnd) -> None:
        self.emit(
            events.EpochEnded(info.epoch, info.epochs, info.train, info.val, info.lr, info.seconds)
        )


class Checkpoints(Callback):
    """``best.pt`` and ``last.pt`` in the run folder, written together (``ck.save_all``).

    ``last`` holds the whole position (optimizer, generators, this epoch's order, running
    metrics), so a run resumed from it continues exactly. If writing either file fails (a
    full disk), neither is replaced and the run fails with the previous pair intact:
    ``last.pt`` never names a best epoch that ``best.pt`` does not hold.
    """

    def __init__(
        self,
        run_dir: Path,
        meta_base: dict[str, Any],
        emit: Callable[[Any], None],
        interval_s: float = SAVE_INTERVAL_S,
    ) -> None:
        self.best_path, self.last_path = run_dir / "best.pt", run_dir / "last.pt"
        self.meta_base = meta_base
        self.emit = emit
        self.interval_s = interval_s
        self.best_dirty = False
        self.last_save = time.perf_counter()

    def on_epoch_end(self, trainer: Trainer, info: EpochEnd) -> None:
        self.best_dirty = self.best_dirty or (info.improved and trainer.settings.keep_best)
        now = time.perf_counter()
        if trainer.state.finished or now - self.last_save >= self.interval_s:
            self.save(trainer)
            self.last_save = now

    def on_interrupt(self, trainer: Trainer) -> None:
        self.save(trainer)

    def _payload(self, trainer: Trainer, kind: str, epoch: int) -> dict[str, Any]:
        meta, tensors = trainer.state.to_checkpoint()
        meta = {**self.meta_base, **meta, "kind": kind, "epoch": epoch}
        weights = trainer.model.state_dict() if kind == "last" else (trainer.best_state or {})
        d: dict[str, Any] = {
            "format": ck.FORMAT,
            "version": ck.VERSION,
            "meta": json.dumps(meta),
            "model": {k: v.detach().cpu().clone() for k, v in weights.items()},
        }
        if kind == "last":
            d["optimizer"] = trainer.opt.state_dict()
            d.update(tensors)
        return d

    def save(self, trainer: Trainer) -> None:
        s = trainer.state
        items: list[tuple[Path, dict[str, Any]]] = []
        if self.best_dirty:
            items.append((self.best_path, self._payload(trainer, "best", s.best_epoch)))
        items.append((self.last_path, self._payload(trainer, "last", s.epoch)))
        ck.save_all(items)
        if self.best_dirty:
            self.emit(events.CheckpointSaved(str(self.best_path), "best", s.best_epoch))
        self.best_dirty = False
        self.emit(events.CheckpointSaved(str(self.last_path), "last", s.epoch))
