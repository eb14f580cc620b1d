"""THE training loop: one epoch, evaluation, the whole fit, with typed callbacks.

The engine's ``TrainingSession``, exported ``--with-training`` scripts, tuning trials and
multi-process (DDP) runs all train through ``Trainer``; what differs between them is only
which callbacks they pass (events for a GUI, checkpoint files, early stopping, pruning).

Per batch the loop does no Python work beyond the step itself: data is sliced from tensors
already on the device, metrics are kept as device tensors and reduced once per epoch, and
on an accelerator the loss is only read when a callback asks for it.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import nn

from .batches import augment_batch
from .distributed import Distributed
from .errors import RunError, StateError
from .head import Head, OptimizerSpec
from .metrics import Accumulator
from .schedule import LRSchedule, lower_is_better
from .state import RunState


@dataclass(frozen=True)
class LoopSettings:
    """The loop's own knobs (a project's training settings, typed)."""

    epochs: int
    monitor: str = "val_loss"
    min_delta: float = 0.0
    early_stopping: bool = False
    patience: int = 10
    grad_clip: float = 0.0
    amp: bool = False
    keep_best: bool = True
    sync_batchnorm: bool = False


@dataclass(frozen=True)
class BatchEnd:
    epoch: int
    batch: int  # 1-based within the epoch
    batches: int
    loss: float
    samples_per_s: float
    step: int  # optimizer steps so far


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    epochs: int
    train: dict[str, Any]
    val: dict[str, Any]
    lr: float
    seconds: float
    improved: bool
    value: float | None  # the monitored metric


# The training loss of a batch: (model output, targets, inputs) -> scalar. The default is the
# loss node's; distillation adds a teacher's term from the inputs, the loop unchanged.
Objective = Callable[[torch.Tensor, torch.Tensor, Any], torch.Tensor]


class Batches(Protocol):
    """What the loop batches from: in-memory tensors or a streaming loader."""

    def __len__(self) -> int: ...
    def order(self, generator: torch.Generator | None) -> torch.Tensor | None: ...
    def batches(
        self, perm: torch.Tensor | None, start: int = 0
    ) -> Iterator[tuple[Any, torch.Tensor]]: ...


class Callback:
    """Hooks into the loop; override what you need. All run on the training thread.

    ``batch_interval_s``: ``None`` never calls ``on_batch_end``; otherwise it is called at
    most this often (and on each epoch's last batch).
    """

    batch_interval_s: float | None = None

    def on_start(self, trainer: Trainer) -> None:
        return None

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        return None

    def on_batch_end(self, trainer: Trainer, info: BatchEnd) -> None:
        return None

    def on_epoch_end(self, trainer: Trainer, info: EpochEnd) -> None:
        return None

    def should_stop(self, trainer: Trainer) -> bool:
        """Asked before every batch: True stops the run there (resumable)."""
        return False

    def on_interrupt(self, trainer: Trainer) -> None:
        """The run stops mid-epoch (asked to, or before a non-finite update)."""
        return None

    def on_end(self, trainer: Trainer) -> None:
        return None


class EarlyStopping(Callback):
    """Ends the run when the monitored metric has not improved for ``patience`` epochs."""

    def __init__(self, patience: int) -> None:
        self.patience = patience

    def on_epoch_end(self, trainer: Trainer, info: EpochEnd) -> None:
        if trainer.state.bad_epochs >= self.patience:
            trainer.state.early_stopped = True
            trainer.state.finished = True


class NonFiniteLoss(RunError):
    """The loss became NaN or infinite; the weights are those before that update."""

    def __init__(self, value: float, step: int, epoch: int, batch: int, lr: float) -> None:
        super().__init__(
            f"the loss became {value} at step {step} (epoch {epoch}, batch {batch}); training "
            f"stopped before that update",
            step,
        )
        self.value, self.epoch, self.batch, self.lr = value, epoch, batch, lr


class Trainer:
    """Fits ``model`` with ``head``'s loss on ``train`` batches, evaluating on ``val``.

    The caller seeds torch and builds the model first (so weights initialise in the same
    order everywhere), then hands over: the optimizer is built here on the model's
    parameters, the generators for batch order (``seed``) and augmentation (``seed + 1``)
    are separate from torch's, and ``resume`` (a ``RunState``) with ``optimizer_state``
    continues a stopped run exactly.
    """

    def __init__(
        self,
        model: nn.Module,
        head: Head,
        optimizer: OptimizerSpec,
        train: Batches,
        val: Batches | None,
        settings: LoopSettings,
        *,
        device: torch.device,
        seed: int,
        task: str,
        n_classes: int,
        n_targets: int = 1,
        augment: dict[str, Any] | None = None,
        callbacks: Sequence[Callback] = (),
        dist: Distributed | None = None,
        resume: RunState | None = None,
        optimizer_state: dict[str, Any] | None = None,
        best_state: dict[str, torch.Tensor] | None = None,
        objective: Objective | None = None,
    ) -> None:
        self.model, self.head, self.device = model, head, device
        self.objective: Objective = objective or (lambda out, y, x: head.loss(out, y))
        self.dist = dist or Distributed()
        self.optimizer_spec = optimizer
        optimizer.freeze(model)  # before DDP wraps it: frozen weights take no gradient
        self.net = self.dist.wrap(model, settings.sync_batchnorm)
        self.settings = settings
        self.train_batches, self.val_batches = train, val
        self.task, self.n_classes, self.n_targets = task, n_classes, n_targets
        self.augment = augment
        self.opt = optimizer.build_for(model)
        # each group's multiplier of the scheduled rate (the project's, even after a resume
        # loads saved groups): lr_scale in transfer learning, 1 otherwise
        self.lr_scales = [float(pg.get("lr_scale", 1.0)) for pg in self.opt.param_groups]
        self.n_batches = len(train)
        if self.n_batches == 0:
            raise RunError(
                "the training split is empty (or smaller than one batch with drop_last)",
                kind="project",
            )
        self.schedule = LRSchedule(
            optimizer.schedule, optimizer.lr, settings.epochs, self.n_batches
        )
        self.monitor = settings.monitor
        if self.monitor.startswith("val_") and val is None:
            self.monitor = "train_" + self.monitor[4:]
        self.lower = lower_is_better(self.monitor)
        self.data_gen = torch.Generator().manual_seed(seed)
        self.aug_gen = torch.Generator().manual_seed(seed + 1)
        self.acc = Accumulator(task, n_classes, device, n_targets)
        self.amp_dtype: torch.dtype | None = None
        self.scaler: Any = None
        if settings.amp and device.type == "cuda":
            bf16 = torch.cuda.is_bf16_supported()
            self.amp_dtype = torch.bfloat16 if bf16 else torch.float16
            if not bf16:
                self.scaler = torch.amp.GradScaler("cuda")
        cbs: list[Callback] = []
        if settings.early_stopping:
            cbs.append(EarlyStopping(settings.patience))  # first: others see its decision
        cbs.extend(callbacks)
        self.callbacks = cbs
        self._stop_cbs = [c for c in cbs if type(c).should_stop is not Callback.should_stop]
        self._batch_cbs = [c for c in cbs if c.batch_interval_s is not None]
        self.best_state = best_state
        self.state = RunState(world_size=self.dist.info.world_size)
        if resume is not None:
            self._resume(resume, optimizer_state)
        self.lr = self.schedule.lr(self.state.step)

    # -- state ----------------------------------------------------------------------------
    def _resume(self, s: RunState, optimizer_state: dict[str, Any] | None) -> None:
        """Continue from ``s``; what does not fit is a ``StateError`` saying which part."""
        if s.world_size != self.dist.info.world_size:
            raise RunError(
                f"the run was trained on {s.world_size} process(es); resume it with the same "
                f"number (--nproc-per-node {s.world_size})",
                kind="project",
            )
        try:
            self.schedule.load_state(s.schedule)
            torch.set_rng_state(s.rng["torch"])
            self.data_gen.set_state(s.rng["data"])
            self.aug_gen.set_state(s.rng["aug"])
            if self.device.type == "cuda" and "cuda" in s.rng:
                torch.cuda.set_rng_state(s.rng["cuda"], self.device)
            if s.in_epoch and s.acc:
                self.acc.load_state(s.acc)
            if s.in_epoch and s.perm is not None and len(s.perm) != self.train_batches_len():
                raise ValueError("this epoch's saved order is for another number of samples")
            if self.scaler is not None and s.scaler:
                self.scaler.load_state_dict(s.scaler)
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as e:
            raise StateError(f"training position cannot be restored: {e}") from None
        if optimizer_state is not None:
            try:
                self.opt.load_state_dict(optimizer_state)
            except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as e:
                raise StateError(
                    f"optimizer state does not fit this model: {type(e).__name__}"
                ) from None
        self.state = s
        s.stopped = s.early_stopped = False

    def train_batches_len(self) -> int:
        """How many samples the training batches draw their order over."""
        return int(getattr(self.train_batches, "n", 0))

    def capture(self) -> RunState:
        """The state with the random generators and running metrics as of now."""
        s = self.state
        s.schedule = self.schedule.state()
        s.rng = {"torch": torch.get_rng_state(), "data": self.data_gen.get_state()}
        s.rng["aug"] = self.aug_gen.get_state()
        if self.device.type == "cuda":
            s.rng["cuda"] = torch.cuda.get_rng_state(self.device)
        s.acc = self.acc.state() if s.in_epoch else {}
        s.scaler = self.scaler.state_dict() if self.scaler is not None else None
        return s

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.amp_dtype)

    # -- the run --------------------------------------------------------------------------
    def fit(self) -> RunState:
        """Train from the state's position to the last epoch, an early stop, or a stop."""
        for cb in self.callbacks:
            cb.on_start(self)
        s = self.state
        for epoch in range(s.resume_epoch, self.settings.epochs + 1):
            if not self.train_epoch(epoch):
                break
            if s.early_stopped:
                break
        for cb in self.callbacks:
            cb.on_end(self)
        return s

    def _interrupt(
        self, epoch: int, batch: int, perm: torch.Tensor | None, rng: tuple[Any, Any] | None = None
    ) -> None:
        """Record the position before ``batch`` (``rng``: the generators as they were before
        its forward pass, when it already ran) and tell the callbacks."""
        s = self.state
        s.epoch, s.resume_epoch, s.resume_batch = epoch - 1, epoch, batch
        s.perm, s.in_epoch = perm, True
        self.capture()
        if rng is not None:
            s.rng["torch"], s.rng["aug"] = rng
        for cb in self.callbacks:
            cb.on_interrupt(self)

    def train_epoch(self, epoch: int) -> bool:
        """One epoch (or the rest of one, when resumed); False when the run was stopped."""
        s, dist = self.state, self.dist
        t0 = time.perf_counter()
        if s.in_epoch:
            first, perm = s.resume_batch, s.perm
        else:
            first, perm = 0, self.train_batches.order(self.data_gen)
            self.acc.reset()
        s.in_epoch, s.resume_batch = False, 0
        for cb in self.callbacks:
            cb.on_epoch_start(self, epoch)
        self.net.train()
        self.optimizer_spec.keep_frozen_eval(self.model)
        seen, sync_each = 0, self.device.type == "cpu"
        # on the CPU every rank reads its loss anyway: stop and NaN agree in one all-reduce
        merged = dist.enabled and sync_each
        bad_step = torch.full((), -1, dtype=torch.int64, device=self.device)
        lv, last_emit, n_b = float("nan"), 0.0, self.n_batches
        for b, (xg, yg) in enumerate(self.train_batches.batches(perm, first), start=first):
            stop = any(cb.should_stop(self) for cb in self._stop_cbs)
            if dist.enabled and not merged:
                (stop,) = dist.flags(stop)
            if stop and not merged:
                s.stopped = True
                self._interrupt(epoch, b, perm)
                return False
            new_lr = self.schedule.lr(s.step)
            if new_lr != self.lr or s.step == 0 or b == first:
                self.lr = new_lr
                for pg, scale in zip(self.opt.param_groups, self.lr_scales, strict=True):
                    pg["lr"] = new_lr * scale
            xb, yb = dist.shard(xg, yg)
            pre = (torch.get_rng_state(), self.aug_gen.get_state()) if merged else None
            if self.augment is not None:
                xb = augment_batch(xb, self.augment, self.aug_gen)
            with self.autocast():
                out = self.net(xb)
                loss = self.objective(out, yb, xb)
            if sync_each:
                lv = loss.item()
                bad = not math.isfinite(lv)
                if merged:  # one collective per batch for both flags
                    stop, bad = dist.flags(stop, bad)
                    if stop:  # before this batch's update: resumable exactly here
                        s.stopped = True
                        self._interrupt(epoch, b, perm, pre)
                        return False
                if bad:  # the weights are still the last good ones
                    self._interrupt(epoch, b, perm)
                    raise NonFiniteLoss(lv, s.step + 1, epoch, b + 1, self.lr)
            else:  # no sync per batch: remember the first bad step on the device
                flag = ~torch.isfinite(loss.detach()) & (bad_step < 0)
                bad_step = torch.where(flag, s.step + 1, bad_step)
            self._step(loss * dist.loss_scale(len(yb), len(yg)) if dist.enabled else loss)
            s.step += 1
            self.acc.add(
                loss, self.head.predict(out.detach()), self.head.metric_target(yb),
                lv if sync_each else None,
            )  # fmt: skip
            seen += len(yg)
            if self._batch_cbs:
                now = time.perf_counter()
                due = [
                    c for c in self._batch_cbs
                    if b + 1 == n_b or now - last_emit >= (c.batch_interval_s or 0.0)
                ]  # fmt: skip
                if due:
                    last_emit = now
                    if not sync_each:
                        lv = loss.item()
                        self._check_bad(bad_step, epoch, n_b)
                    info = BatchEnd(epoch, b + 1, n_b, lv, seen / max(now - t0, 1e-9), s.step)
                    for c in due:
                        c.on_batch_end(self, info)
        if not sync_each:
            self._check_bad(bad_step, epoch, n_b)
        self._end_epoch(epoch, t0)
        return True

    def _step(self, loss: torch.Tensor) -> None:
        clip, params = self.settings.grad_clip, self.model.parameters
        self.opt.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
            if clip > 0:
                self.scaler.unscale_(self.opt)
                torch.nn.utils.clip_grad_norm_(params(), clip)
            self.scaler.step(self.opt)
            self.scaler.update()
            return
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(params(), clip)
        self.opt.step()

    def _check_bad(self, bad_step: torch.Tensor, epoch: int, n_batches: int) -> None:
        step = int(bad_step.item())
        if self.dist.enabled:
            step = int(self.dist.sum(torch.tensor([max(step, 0)], dtype=torch.float64)).item())
        if step > 0:
            raise NonFiniteLoss(float("nan"), step, epoch, (step - 1) % n_batches + 1, self.lr)

    def _end_epoch(self, epoch: int, t0: float) -> None:
        s, cfg = self.state, self.settings
        train_m = self.acc.compute(reduce=self.dist.sum if self.dist.enabled else None)
        if not math.isfinite(train_m.get("loss", 0.0)):
            raise NonFiniteLoss(train_m["loss"], s.step, epoch, self.n_batches, self.lr)
        val_m = self.evaluate(self.val_batches)[0] if self.val_batches is not None else {}
        seconds = time.perf_counter() - t0
        row: dict[str, Any] = {"epoch": epoch, "lr": self.lr, "seconds": round(seconds, 4)}
        row.update({f"train_{k}": v for k, v in train_m.items()})
        row.update({f"val_{k}": v for k, v in val_m.items()})
        s.history.append(row)
        value = row.get(self.monitor)
        self.schedule.epoch_end(value, self.lower)
        improved = s.improved(value, self.lower, cfg.min_delta)
        if improved:
            s.best_value, s.best_epoch, s.bad_epochs = float(value), epoch, 0  # type: ignore[arg-type]
            if cfg.keep_best:
                self.best_state = {
                    k: v.detach().clone() for k, v in self.model.state_dict().items()
                }
        else:
            s.bad_epochs += 1
        s.epoch, s.resume_epoch, s.resume_batch, s.perm = epoch, epoch + 1, 0, None
        s.finished = epoch == cfg.epochs
        self.capture()
        info = EpochEnd(epoch, cfg.epochs, train_m, val_m, self.lr, seconds, improved, value)
        for cb in self.callbacks:
            cb.on_epoch_end(self, info)

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(
        self, batches: Batches, confusion: bool = False, samples: int = 0
    ) -> tuple[dict[str, Any], tuple[list[Any], list[Any]] | None]:
        """``evaluate`` with this run's model, head, device, precision and ranks."""
        return evaluate(
            self.model, self.head, batches, self.task, self.n_classes, self.device,
            n_targets=self.n_targets, confusion=confusion, samples=samples, dist=self.dist,
            autocast=self.autocast,
        )  # fmt: skip

    @contextlib.contextmanager
    def best_weights(self) -> Iterator[bool]:
        """Within the block the model holds the best epoch's weights (when kept); yields
        whether it does. The current weights come back afterwards."""
        if not (self.settings.keep_best and self.best_state is not None):
            yield False
            return
        current = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.model.load_state_dict(self.best_state)
        try:
            yield True
        finally:
            self.model.load_state_dict(current)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    head: Head,
    batches: Batches,
    task: str,
    n_classes: int,
    device: torch.device,
    *,
    n_targets: int = 1,
    confusion: bool = False,
    samples: int = 0,
    dist: Distributed | None = None,
    autocast: Any = contextlib.nullcontext,
) -> tuple[dict[str, Any], tuple[list[Any], list[Any]] | None]:
    """Metrics of ``model`` over ``batches``, and up to ``samples`` (true, predicted) pairs
    for a regression plot. Under DDP each rank takes its part of every batch and the sums
    are reduced, so every rank gets the whole split's metrics."""
    dist = dist or Distributed()
    acc = Accumulator(task, n_classes, device, n_targets)
    was = model.training
    model.eval()
    ys: list[torch.Tensor] = []
    ps: list[torch.Tensor] = []
    kept = 0
    for xg, yg in batches.batches(None, 0):
        xb, yb = dist.shard(xg, yg)
        with autocast():
            out = model(xb)
            loss = head.loss(out, yb)
        pred = head.predict(out)
        acc.add(loss, pred, head.metric_target(yb))
        if task == "regression" and kept < samples and len(yb):
            take = min(len(yb), samples - kept)
            ys.append(head.original_units(yb[:take].reshape(take, -1).float()))
            ps.append(pred[:take])
            kept += take
    model.train(was)
    m = acc.compute(confusion=confusion, reduce=dist.sum if dist.enabled else None)
    pairs = None
    if samples:
        mine = (torch.cat(ys).cpu().tolist(), torch.cat(ps).cpu().tolist()) if ys else ([], [])
        parts = dist.gather(mine)
        yt = [v for p in parts for v in p[0]][:samples]
        yp = [v for p in parts for v in p[1]][:samples]
        if yt:
            one = all(len(r) == 1 for r in yt)
            pairs = ([r[0] for r in yt], [r[0] for r in yp]) if one else (yt, yp)
    return m, pairs
