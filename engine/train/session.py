"""A training session: runs a whole project on any thread, reports through frozen events.

In-memory data is batched from tensors already on the training device (one gather per
epoch, then views), so the loop does no per-sample Python work. ``stop()`` takes effect at
the next batch and writes a ``last`` checkpoint holding the exact position (epoch, batch,
this epoch's order, every random generator's state, the running metrics), so a resumed run
continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.errors import TorchwireError
from engine.fileio import atomic_write
from engine.train import events
from engine.train.settings import lower_is_better, resolve_settings


class SessionState(StrEnum):
    """Where a session is. A ``str`` so that ``state == "finished"`` reads as before.

    Every change goes through ``TrainingSession._set_state`` under the session's lock and
    follows ``_MOVES``; finished, stopped and failed are final.
    """

    IDLE = "idle"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        return self in _FINAL


State = SessionState  # the older name
_S = SessionState
_FINAL = frozenset({_S.FINISHED, _S.STOPPED, _S.FAILED})
_ENDS = frozenset(_FINAL)
# A session that was never started and is asked to stop is simply stopped. A run that ends
# while paused or stopping ends as what it was (finished, stopped or failed).
_MOVES: dict[SessionState, frozenset[SessionState]] = {
    _S.IDLE: frozenset({_S.RUNNING, _S.STOPPED}),
    _S.RUNNING: frozenset({_S.PAUSED, _S.STOPPING}) | _ENDS,
    _S.PAUSED: frozenset({_S.RUNNING, _S.STOPPING}) | _ENDS,
    _S.STOPPING: _ENDS,
    _S.FINISHED: frozenset(),
    _S.STOPPED: frozenset(),
    _S.FAILED: frozenset(),
}


# Epochs shorter than this write their checkpoints at most this often (and always at the end,
# on stop and on early stopping), so that checkpointing never dominates a fast epoch.
SAVE_INTERVAL_S = 10.0
# The files a training writes in its run folder.
RUN_FILES = ("best.pt", "last.pt", "model.safetensors", "metrics.json", "history.csv")


class TrainError(TorchwireError, RuntimeError):
    """Training could not run or failed; the message is the readable reason."""

    def __init__(
        self,
        reason: str,
        step: int | None = None,
        kind: str = "project",
        *,
        file: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(reason, file=file)
        self.step = step
        self.kind = kind


@dataclass
class TrainResult:
    run_dir: str
    test_metrics: dict[str, Any]
    history: list[dict[str, Any]]
    best_checkpoint: str | None
    last_checkpoint: str | None
    stopped: bool = False
    device: str = "cpu"
    epochs_completed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class _Stop(Exception):
    pass


def _as_graph(graph_or_path: Any) -> Any:
    from engine.graph import Graph
    from engine.project import ProjectError, load_project

    if isinstance(graph_or_path, Graph):
        return graph_or_path
    try:
        return load_project(graph_or_path)
    except ProjectError as e:
        raise TrainError(str(e), kind="data") from None


def _copy_graph(g: Any) -> Any:
    c = g.copy()
    if getattr(g, "path", None):
        c.path = g.path
    return c


class TrainingSession:
    """Train a project. ``start()`` runs in a background thread; ``run()`` in this one.

    ``epochs`` and ``device`` override ``graph.settings["training"]``; ``resume`` is a
    checkpoint (``last.pt``) to continue from; ``settings`` overrides other settings.
    """

    def __init__(
        self,
        graph: Any,
        out_dir: str | os.PathLike[str] | None = None,
        epochs: int | None = None,
        device: str | None = None,
        *,
        resume: str | os.PathLike[str] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        self.graph = _copy_graph(_as_graph(graph))
        self.out_dir = str(out_dir) if out_dir is not None else None
        self.overrides = {**(settings or {}), "epochs": epochs, "device": device}
        self.resume_from = str(resume) if resume is not None else None
        self._listeners: list[Callable[[Any], None]] = []
        self._state = SessionState.IDLE
        self._lock = threading.RLock()  # the state, the listeners, and pause/stop's events
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self.result: TrainResult | None = None
        self.failure: events.Failed | None = None
        self.run_dir: str | None = None
        self._threads_before: int | None = None
        self._run_lock: Any = None  # the run folder's RunLock while this session writes there
        self._failure_file: str | None = None  # the file a failure is about, if any

    # -- control ---------------------------------------------------------------------------
    @property
    def state(self) -> SessionState:
        return self._state

    def _set_state(self, to: SessionState) -> bool:
        """Move to ``to`` if ``_MOVES`` allows it; False (and no change) when it does not.

        The one place the state changes, under the lock, so a ``stop()`` racing the end of
        the run cannot write "stopping" over "finished" and a final state stays final.
        """
        with self._lock:
            if to not in _MOVES[self._state]:
                return False
            self._state = to
            return True

    def subscribe(self, fn: Callable[[Any], None]) -> Callable[[], None]:
        """``fn(event)`` runs on the training thread; keep it cheap and non-blocking."""
        with self._lock:
            self._listeners = [*self._listeners, fn]

        def unsubscribe() -> None:
            with self._lock:
                self._listeners = [f for f in self._listeners if f is not fn]

        return unsubscribe

    def _begin(self) -> None:
        with self._lock:
            if self._state != SessionState.IDLE or self._thread is not None:
                raise RuntimeError(f"this session cannot start again (state: {self._state})")
            self._set_state(SessionState.RUNNING)

    def start(self) -> None:
        """Train on a background thread; ``join()`` waits for it."""
        with self._lock:
            self._begin()
            self._thread = threading.Thread(target=self._run, name="torchwire-train", daemon=True)
        self._thread.start()

    def run(self) -> TrainResult | None:
        """Train in the calling thread; the result, or None when it failed (see ``failure``)."""
        self._begin()
        self._run()
        return self.result

    def pause(self) -> None:
        with self._lock:
            if self._state == SessionState.RUNNING and self._set_state(SessionState.PAUSED):
                self._running.clear()

    def resume(self) -> None:
        with self._lock:
            if self._state == SessionState.PAUSED and self._set_state(SessionState.RUNNING):
                self._running.set()

    def stop(self) -> None:
        """Stop at the next batch; the model stays consistent and ``last`` is written.

        A session never started becomes stopped at once; one that already ended is left as
        it is.
        """
        with self._lock:
            if self._state == SessionState.IDLE:
                self._set_state(SessionState.STOPPED)
                self._done.set()
            elif self._set_state(SessionState.STOPPING):
                self._stop.set()
                self._running.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the end; True when it ended (then ``state`` is final)."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return self._done.is_set() or self._state == SessionState.IDLE

    # -- events ----------------------------------------------------------------------------
    def _emit(self, ev: Any) -> None:
        for fn in self._listeners:
            try:
                fn(ev)
            except Exception:  # a broken subscriber must not break training
                traceback.print_exc()

    # -- the run ---------------------------------------------------------------------------
    def _run(self) -> None:
        """Train, then end in a final state; the last event (Finished or Failed) comes after.

        The state is final and the run folder's lock released before that event, so a
        listener sees the end it is told about (and may start a new run in the same folder),
        and ``join()`` returning means the state is final.
        """
        from engine.fileio import WriteError

        step_ref = [0]
        last: Any = None
        final = SessionState.FAILED
        try:
            try:
                self.result = self._train(step_ref)
                final = SessionState.STOPPED if self.result.stopped else SessionState.FINISHED
                r = self.result
                last = events.Finished(r.run_dir, r.test_metrics, r.stopped, list(r.history))
            except TrainError as e:
                self.failure = events.Failed(str(e), e.step, e.kind)
                self._failure_file = e.file
            except WriteError as e:  # a full disk, a read-only folder: said as it is
                self.failure = events.Failed(str(e), step_ref[0] or None, "runtime")
                self._failure_file = e.file
            except torch.OutOfMemoryError:
                self.failure = events.Failed(self._oom_reason(step_ref[0]), step_ref[0], "runtime")
            except Exception as e:
                if _is_oom(e):
                    reason = self._oom_reason(step_ref[0])
                    self.failure = events.Failed(reason, step_ref[0], "runtime")
                else:
                    from engine.data.errors import DataError

                    kind = "data" if isinstance(e, DataError) else "runtime"
                    self.failure = events.Failed(self._explain(e), step_ref[0] or None, kind)
            except BaseException:  # KeyboardInterrupt in run(): end failed, then re-raise
                self.failure = events.Failed("interrupted", step_ref[0] or None, "runtime")
                raise
            finally:
                if self._threads_before is not None:
                    torch.set_num_threads(self._threads_before)
                if self._run_lock is not None:
                    self._run_lock.release()
                self._set_state(final)
                self._done.set()
        finally:
            end = last if last is not None else self.failure
            if end is not None:
                self._emit(end)

    def _oom_reason(self, step: int) -> str:
        model = getattr(self, "_model", None)
        need = (
            training_memory_bytes(model, getattr(self, "_optimizer_type", ""))
            if model is not None
            else None
        )
        dev = getattr(self, "_device", None)
        return oom_advice(
            str(dev) if dev else "the device",
            step,
            getattr(self, "_batch_size", None),
            need,
            device_memory_bytes(dev) if dev else None,
        )

    def _explain(self, e: Exception) -> str:
        """An unexpected error in the user's terms: which node's generated line raised it."""
        from engine.data.errors import DataError

        if isinstance(e, DataError):
            return str(e)
        model = getattr(self, "_model", None)
        node = None
        if model is not None:
            from engine.compile import node_at

            for fr in reversed(traceback.extract_tb(e.__traceback__)):
                if fr.filename.startswith("<torchwire:") and fr.lineno is not None:
                    node = node_at(model, fr.lineno)
                    if node:
                        break
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if node and node in self.graph.nodes:
            return f"{self.graph.nodes[node].name}: {text}"
        return f"{type(e).__name__}: {text}"

    def _train(self, step_ref: list[int]) -> TrainResult:
        from engine.catalog.base import ParamError
        from engine.check import check
        from engine.compile import compile_model
        from engine.data.errors import DataError
        from engine.runtime.batches import InMemoryBatches, StreamingBatches, augment_batch
        from engine.data.pipeline import chain_of, prepare
        from engine.train import checkpoint as ck
        from engine.train.metrics import Accumulator
        from engine.train.runtime import Head, LRSchedule, build_optimizer, pick_device

        g = self.graph
        resume = None
        if self.resume_from:
            try:
                resume = ck.load_checkpoint(self.resume_from)
            except ck.CheckpointError as e:
                raise TrainError(str(e), kind="data", file=self.resume_from) from None
            _check_position(resume, g)
        try:
            base = dict(g.settings.get("training") or {})
            if resume is not None:
                base = {**base, **resume.meta["settings"]}
                base["epochs"] = resume.meta["settings"]["epochs"]
            settings = resolve_settings(base, **self.overrides)
        except ParamError as e:
            raise TrainError(str(e)) from None
        if resume is not None and resume.meta.get("finished"):
            done = int(resume.meta["epoch"])
            if settings["epochs"] <= done:
                raise TrainError(
                    f"{self.resume_from}: this run already finished {done} epochs; ask for more "
                    f"(e.g. epochs={done + 10}) to continue training"
                )
        rep = check(g)
        if not rep.extra.get("ready_to_train"):
            reasons = rep.extra.get("train_reasons") or [d.message for d in rep.errors]
            data_err = any(
                d.node in g.nodes and g.nodes[d.node].spec.extra.get("role") == "dataset"
                for d in rep.errors
            )
            raise TrainError(
                "the project cannot train yet: " + "; ".join(reasons),
                kind="data" if data_err else "project",
            )
        plan = rep.extra["train_plan"]
        try:
            prep = prepare(chain_of(g, plan.data))
        except DataError as e:
            raise TrainError(str(e), kind="data") from None
        info = prep.info
        try:
            device = pick_device(settings["device"])
        except RuntimeError as e:
            raise TrainError(str(e)) from None
        self._device = str(device)
        if device.type == "cpu" and settings["cpu_threads"] > 0:
            self._threads_before = torch.get_num_threads()
            torch.set_num_threads(settings["cpu_threads"])
        self._batch_size = prep.batch["batch_size"]
        seed = settings["seed"]
        torch.manual_seed(seed)
        if device.type == "cuda":
            torch.cuda.manual_seed_all(seed)
        model = compile_model(g, rep).to(device)
        self._model = model
        lnode, onode = g.nodes[plan.loss], g.nodes[plan.optimizer]
        self._optimizer_type = onode.type
        out_shape = tuple(rep.shapes[plan.output])
        tt = prep.target_transform
        head = Head(
            lnode.type,
            lnode.params,
            info.task,
            info.n_classes,
            out_shape,
            device,
            tt.y_mean if tt else None,
            tt.y_std if tt else None,
        )
        opt = build_optimizer(onode.type, onode.params, model)
        n_targets = 1
        for d in info.target_shape:
            n_targets *= d

        # data on the device once (in-memory) or streamed
        bs = prep.batch["batch_size"]
        eval_bs = max(bs, 512)
        loaders: dict[str, Any] = {}
        for split in ("train", "val", "test"):
            if len(prep.y[split]) == 0:
                continue
            train = split == "train"
            if info.streaming:
                loaders[split] = StreamingBatches(
                    prep.x[split],
                    prep.y[split],
                    prep.image or {},
                    bs if train else eval_bs,
                    prep.batch["shuffle"] and train,
                    prep.batch["drop_last"] and train,
                    device,
                    prep.fitted,
                )
            else:
                x = torch.from_numpy(np.ascontiguousarray(prep.x[split])).to(device)
                ydt = torch.int64 if info.task == "classification" else torch.float32
                y = torch.from_numpy(np.ascontiguousarray(prep.y[split])).to(device, ydt)
                loaders[split] = InMemoryBatches(
                    x,
                    y,
                    bs if train else eval_bs,
                    prep.batch["shuffle"] and train,
                    prep.batch["drop_last"] and train,
                )
        tl = loaders["train"]
        n_batches = len(tl)
        if n_batches == 0:
            raise TrainError(
                "the training split is empty (or smaller than one batch with drop_last)"
            )
        epochs = settings["epochs"]
        sched = LRSchedule(onode.params, onode.params["lr"], epochs, n_batches)
        monitor = settings["monitor"]
        if monitor.startswith("val_") and "val" not in loaders:
            monitor = "train_" + monitor[4:]
        lower = lower_is_better(monitor)

        amp_dtype = None
        scaler = None
        if settings["amp"] and device.type == "cuda":
            amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            if amp_dtype == torch.float16:
                scaler = torch.amp.GradScaler("cuda")
        clip = settings["grad_clip"]

        data_gen = torch.Generator().manual_seed(seed)
        aug_gen = torch.Generator().manual_seed(seed + 1)
        acc = Accumulator(info.task, info.n_classes, device, n_targets)

        # run folder: ours alone while we write it (released in _run)
        run_dir = Path(self._run_dir(g, resume))
        self._open_run_dir(run_dir)
        self.run_dir = str(run_dir)
        best_path, last_path = run_dir / "best.pt", run_dir / "last.pt"
        keep_best = settings["checkpoint"] == "best_and_last"

        history: list[dict[str, Any]] = []
        best_value: float | None = None
        best_epoch = 0
        best_state: dict[str, torch.Tensor] | None = None
        bad_epochs = 0
        start_epoch, start_batch, step = 1, 0, 0
        in_epoch = False
        perm: torch.Tensor | None = None
        if resume is not None:
            self._check_resumable(resume, model)
            m = resume.meta
            try:
                model.load_state_dict(resume.state_dict)
                opt.load_state_dict(resume.optimizer)
                history = list(m["history"])
                best_value, best_epoch = m["best_value"], int(m["best_epoch"])
                bad_epochs = int(m["bad_epochs"])
                sched.load_state(m["schedule"])
                step = int(m["step"])
                start_epoch, start_batch = int(m["resume_epoch"]), int(m["resume_batch"])
                ex = resume.extra
                torch.set_rng_state(ex["rng_torch"])
                data_gen.set_state(ex["rng_data"])
                aug_gen.set_state(ex["rng_aug"])
                if device.type == "cuda" and "rng_cuda" in ex:
                    torch.cuda.set_rng_state(ex["rng_cuda"])
                in_epoch = bool(m.get("in_epoch"))
                if in_epoch:
                    perm = ex.get("perm")
                    acc.load_state({k[4:]: v for k, v in ex.items() if k.startswith("acc_")})
                if scaler is not None and "scaler" in m:
                    scaler.load_state_dict(m["scaler"])
            except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as e:
                raise TrainError(
                    f"{resume.path} is not a valid Torchwire checkpoint (its training position "
                    f"cannot be restored: {type(e).__name__})",
                    kind="data",
                    file=resume.path,
                ) from None
            best_state = self._resume_best(resume, keep_best, best_epoch)

        meta_base = {
            "graph": _project_dict(g),
            "preprocessing": prep.record,
            "task": info.task,
            "class_names": list(info.class_names),
            "settings": settings,
            "loss": lnode.type,
            "torch": torch.__version__,
        }

        def payload(kind: str, state: dict[str, torch.Tensor], epoch: int, **pos: Any) -> dict:
            meta = {
                **meta_base,
                "kind": kind,
                "epoch": epoch,
                "step": step,
                "history": history,
                "best_value": best_value,
                "best_epoch": best_epoch,
                "bad_epochs": bad_epochs,
                "schedule": sched.state(),
                "resume_epoch": pos.get("resume_epoch", epoch + 1),
                "resume_batch": pos.get("resume_batch", 0),
                "finished": pos.get("finished", False),
                "in_epoch": pos.get("in_epoch", False),
            }
            if scaler is not None:
                meta["scaler"] = scaler.state_dict()
            d: dict[str, Any] = {
                "format": ck.FORMAT,
                "version": ck.VERSION,
                "meta": json.dumps(meta),
                "model": {k: v.detach().cpu().clone() for k, v in state.items()},
            }
            if kind == "last":
                d["optimizer"] = opt.state_dict()
                d["rng_torch"] = torch.get_rng_state()
                d["rng_data"] = data_gen.get_state()
                d["rng_aug"] = aug_gen.get_state()
                if device.type == "cuda":
                    d["rng_cuda"] = torch.cuda.get_rng_state()
                if pos.get("perm") is not None:
                    d["perm"] = pos["perm"].cpu()
                if pos.get("in_epoch"):
                    for k, v in acc.state().items():
                        d[f"acc_{k}"] = v.detach().cpu().clone()
            return d

        best_dirty = False

        def save_checkpoints(epoch: int, **pos: Any) -> None:
            """``last`` (and ``best`` when it changed) as one change (``ck.save_all``).

            If writing either fails (a full disk), neither file is replaced and the run fails
            with the previous pair intact: ``last.pt`` never claims a best epoch that
            ``best.pt`` does not hold.
            """
            nonlocal best_dirty
            items: list[tuple[Path, dict[str, Any]]] = []
            if best_dirty:
                items.append((best_path, payload("best", best_state or {}, best_epoch)))
            items.append((last_path, payload("last", model.state_dict(), epoch, **pos)))
            ck.save_all(items)
            if best_dirty:
                self._emit(events.CheckpointSaved(str(best_path), "best", best_epoch))
            best_dirty = False
            self._emit(events.CheckpointSaved(str(last_path), "last", epoch))

        last_save = time.perf_counter()
        self._emit(
            events.Started(
                epochs,
                n_batches,
                str(device),
                str(run_dir),
                info.task,
                tuple(info.class_names),
                start_epoch,
            )
        )
        autocast = (
            (lambda: torch.autocast(device_type="cuda", dtype=amp_dtype))
            if amp_dtype is not None
            else contextlib.nullcontext
        )
        sync_each = device.type == "cpu"
        bad_step = torch.full((), -1, dtype=torch.int64, device=device)
        lv = float("nan")
        last_emit = 0.0
        stopped = False
        epoch = start_epoch - 1
        for epoch in range(start_epoch, epochs + 1):
            t0 = time.perf_counter()
            if in_epoch:
                first = start_batch
            else:
                perm = tl.order(data_gen)
                first = 0
                acc.reset()
            in_epoch = False
            start_batch = 0
            model.train()
            seen = 0
            lr = sched.lr(step)
            for b, (xb, yb) in enumerate(tl.batches(perm, first), start=first):
                if not self._running.is_set():
                    self._running.wait()
                if self._stop.is_set():
                    save_checkpoints(
                        epoch - 1, resume_epoch=epoch, resume_batch=b, perm=perm, in_epoch=True
                    )
                    stopped = True
                    break
                new_lr = sched.lr(step)
                if new_lr != lr or step == 0 or b == first:
                    lr = new_lr
                    for pg in opt.param_groups:
                        pg["lr"] = lr
                if prep.augment is not None:
                    xb = augment_batch(xb, prep.augment, aug_gen)
                with autocast():
                    out = model(xb)
                    loss = head.loss(out, yb)
                if sync_each:
                    lv = loss.item()
                    if not math.isfinite(lv):  # the weights are still the last good ones
                        save_checkpoints(
                            epoch - 1, resume_epoch=epoch, resume_batch=b, perm=perm, in_epoch=True
                        )
                        self._nan(lv, step + 1, epoch, b + 1, lr, last_path)
                else:  # no sync per batch: remember the first bad step on the device
                    bad = ~torch.isfinite(loss.detach()) & (bad_step < 0)
                    bad_step = torch.where(bad, step + 1, bad_step)
                opt.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    if clip > 0:
                        scaler.unscale_(opt)
                        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
                    scaler.step(opt)
                    scaler.update()
                else:
                    loss.backward()
                    if clip > 0:
                        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
                    opt.step()
                step += 1
                step_ref[0] = step
                acc.add(
                    loss,
                    head.predict(out.detach()),
                    head.metric_target(yb),
                    lv if sync_each else None,
                )
                seen += len(yb)
                if self._listeners:
                    now = time.perf_counter()
                    if sync_each or now - last_emit > 0.05 or b + 1 == n_batches:
                        last_emit = now
                        if not sync_each:
                            lv = loss.item()
                            self._check_bad(bad_step, epoch, lr, last_path, n_batches)
                        self._emit(
                            events.BatchEnded(
                                epoch, b + 1, n_batches, lv, seen / max(now - t0, 1e-9), step
                            )
                        )
            if stopped:
                break
            if not sync_each:
                self._check_bad(bad_step, epoch, lr, last_path, n_batches)
            train_m = acc.compute()
            if not math.isfinite(train_m.get("loss", 0.0)):
                self._nan(train_m["loss"], step, epoch, n_batches, lr, last_path)
            val_m = (
                self._evaluate(model, head, loaders["val"], info, device, n_targets, autocast)[0]
                if "val" in loaders
                else {}
            )
            seconds = time.perf_counter() - t0
            row: dict[str, Any] = {"epoch": epoch, "lr": lr, "seconds": round(seconds, 4)}
            row.update({f"train_{k}": v for k, v in train_m.items()})
            row.update({f"val_{k}": v for k, v in val_m.items()})
            history.append(row)
            value = row.get(monitor)
            sched.epoch_end(value, lower)
            improved = value is not None and (
                best_value is None
                or (
                    value < best_value - settings["min_delta"]
                    if lower
                    else value > best_value + settings["min_delta"]
                )
            )
            if improved:
                best_value, best_epoch, bad_epochs = float(value), epoch, 0
                if keep_best:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad_epochs += 1
            self._emit(events.EpochEnded(epoch, epochs, train_m, val_m, lr, seconds))
            best_dirty = best_dirty or (improved and keep_best)
            early = settings["early_stopping"] and bad_epochs >= settings["patience"]
            now = time.perf_counter()
            if early or epoch == epochs or now - last_save >= SAVE_INTERVAL_S:
                # short epochs: write at most every SAVE_INTERVAL_S, and always at the end
                save_checkpoints(epoch, finished=early or epoch == epochs)
                last_save = now
            if early:
                break

        # final evaluation on the test split with the best weights (else the last)
        final_state = best_state if (keep_best and best_state is not None) else None
        if final_state is not None:
            current = {k: v.detach().clone() for k, v in model.state_dict().items()}
            model.load_state_dict(final_state)
        split = "test" if "test" in loaders else "val" if "val" in loaders else "train"
        test_m, samples = self._evaluate(
            model, head, loaders[split], info, device, n_targets, autocast, confusion=True
        )
        if info.task == "regression" and samples is not None:
            test_m["y_true"], test_m["y_pred"] = samples
        if split != "test":
            test_m["split"] = split
        ck.save_safetensors(
            run_dir / "model.safetensors",
            model.state_dict(),
            {**meta_base, "kind": "final", "epoch": best_epoch if final_state else epoch},
        )
        if final_state is not None:
            model.load_state_dict(current)
        self._write_run_files(run_dir, test_m, history, stopped, best_epoch, epoch, monitor)
        result = TrainResult(
            run_dir=str(run_dir),
            test_metrics=test_m,
            history=history,
            best_checkpoint=str(best_path) if best_path.exists() else None,
            last_checkpoint=str(last_path) if last_path.exists() else None,
            stopped=stopped,
            device=str(device),
            epochs_completed=len(history),
            extra={"best_epoch": best_epoch, "monitor": monitor, "model": model},
        )
        return result  # _run emits Finished once the state is final

    def _nan(self, value: float, step: int, epoch: int, batch: int, lr: float, last: Path) -> None:
        keep = f"; the last good checkpoint is {last}" if last.exists() else ""
        raise TrainError(
            f"the loss became {value} at step {step} (epoch {epoch}, batch {batch}); training "
            f"stopped before that update{keep}. Lower the learning rate (now {lr:g}) or set "
            "grad_clip in the training settings",
            step,
        )

    def _check_bad(
        self, bad_step: torch.Tensor, epoch: int, lr: float, last: Path, n_batches: int
    ) -> None:
        s = int(bad_step.item())
        if s >= 0:
            self._nan(float("nan"), s, epoch, (s - 1) % n_batches + 1, lr, last)

    def _check_resumable(self, resume: Any, model: torch.nn.Module) -> None:
        """The checkpoint's weights must be this model's: same tensors, same shapes."""
        mine = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        theirs = {k: tuple(v.shape) for k, v in resume.state_dict.items()}
        if mine == theirs:
            return
        theirs_name = resume.graph.get("name")
        if isinstance(theirs_name, str) and theirs_name != self.graph.name:
            what = f"is a checkpoint of project {theirs_name!r}, not of {self.graph.name!r}"
        else:
            what = "holds a model that differs from this project's model"
        diff = sorted(set(mine) ^ set(theirs))
        if diff:
            detail = f"{diff[0]} is only in {'this project' if diff[0] in mine else 'it'}"
        else:
            k = next(k for k in sorted(mine) if mine[k] != theirs[k])
            detail = (
                f"{k} is {'×'.join(map(str, theirs[k]))} there, {'×'.join(map(str, mine[k]))} here"
            )
        raise TrainError(
            f"{resume.path} {what} ({detail}); resume with the project it was trained from",
            kind="data",
            file=resume.path,
        )

    def _resume_best(self, resume: Any, keep_best: bool, best_epoch: int) -> Any:
        """The best weights beside a resumed ``last.pt``, if they are the ones it names."""
        from engine.train import checkpoint as ck

        bp = Path(resume.path).with_name("best.pt")
        if not keep_best or not bp.exists():
            return None
        try:
            best = ck.load_checkpoint(bp)
        except ck.CheckpointError as e:
            raise TrainError(str(e), kind="data", file=bp) from None
        if best.epoch != best_epoch or {k: v.shape for k, v in best.state_dict.items()} != {
            k: v.shape for k, v in resume.state_dict.items()
        }:
            raise TrainError(
                f"{bp} does not belong with {resume.path} (it holds epoch {best.epoch}, "
                f"which names epoch {best_epoch} as the best); move it away to resume",
                kind="data",
                file=bp,
            )
        return best.state_dict

    def _open_run_dir(self, run_dir: Path) -> None:
        """Lock the run folder for this session and sweep what a killed save left there."""
        from engine.fileio import clean_stale
        from engine.train.runlock import RunFolderBusy, RunLock

        lock = RunLock(run_dir)
        try:
            lock.acquire()
        except RunFolderBusy as e:
            raise TrainError(str(e), file=run_dir) from None
        except OSError as e:
            raise TrainError(
                f"{run_dir}: cannot be written ({e.strerror or e})", file=run_dir
            ) from None
        self._run_lock = lock
        # the lock says no one else writes these files here now: any temporary of them is
        # left over from a killed save, whatever its age
        clean_stale(run_dir, 0, RUN_FILES)

    def _run_dir(self, g: Any, resume: Any) -> str:
        if self.out_dir:
            return self.out_dir
        if resume is not None:
            return str(Path(resume.path).parent)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = Path("runs") / f"{_slug(g.name)}-{stamp}"
        i, p = 2, base
        while p.exists():
            p = base.with_name(f"{base.name}-{i}")
            i += 1
        return str(p)

    @staticmethod
    @torch.no_grad()
    def _evaluate(
        model: torch.nn.Module,
        head: Any,
        loader: Any,
        info: Any,
        device: torch.device,
        n_targets: int,
        autocast: Any,
        confusion: bool = False,
    ) -> tuple[dict[str, Any], tuple[list[Any], list[Any]] | None]:
        from engine.train.metrics import Accumulator

        acc = Accumulator(info.task, info.n_classes, device, n_targets)
        was = model.training
        model.eval()
        ys, ps = [], []
        kept = 0
        for xb, yb in loader.batches(None, 0):
            with autocast():
                out = model(xb)
                loss = head.loss(out, yb)
            pred = head.predict(out)
            acc.add(loss, pred, head.metric_target(yb))
            if info.task == "regression" and confusion and kept < 2000:
                take = min(len(yb), 2000 - kept)
                ys.append(head.original_units(yb[:take].reshape(take, -1).float()))
                ps.append(pred[:take])
                kept += take
        model.train(was)
        m = acc.compute(confusion=confusion)
        if info.task == "regression" and m:
            # metrics in the targets' own units, whatever scaling training used
            pass
        samples = None
        if ys:
            yt = torch.cat(ys).cpu().numpy()
            yp = torch.cat(ps).cpu().numpy()
            if yt.shape[1] == 1:
                samples = (yt[:, 0].tolist(), yp[:, 0].tolist())
            else:
                samples = (yt.tolist(), yp.tolist())
        return m, samples

    @staticmethod
    def _write_run_files(
        run_dir: Path,
        test_m: dict[str, Any],
        history: list[dict[str, Any]],
        stopped: bool,
        best_epoch: int,
        epoch: int,
        monitor: str,
    ) -> None:
        metrics = {k: v for k, v in test_m.items() if k not in ("y_true", "y_pred")}
        metrics.update(
            {
                "epochs_completed": len(history),
                "best_epoch": best_epoch,
                "monitor": monitor,
                "stopped": stopped,
            }
        )
        atomic_write(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        cols: list[str] = []
        for row in history:
            for k in row:
                if k not in cols:
                    cols.append(k)
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        for row in history:
            w.writerow(row)
        atomic_write(run_dir / "history.csv", buf.getvalue())


# -- out of memory ---------------------------------------------------------------------------
# Tensors of optimizer state per parameter tensor (Adam: two moments; SGD with momentum: one).
_OPTIMIZER_STATES = {"Adam": 2, "AdamW": 2, "RMSprop": 1, "Adagrad": 1, "SGD": 1}
# The model "alone" does not fit when its fixed memory takes this much of the device: what is
# left (allocator slack, the CUDA context, any activations at all) cannot hold a batch.
MODEL_TOO_LARGE_FRACTION = 0.9


def _is_oom(e: BaseException) -> bool:
    if isinstance(e, torch.OutOfMemoryError | MemoryError):
        return True
    text = str(e).lower()
    return "out of memory" in text or "can't allocate memory" in text


def training_memory_bytes(model: torch.nn.Module, optimizer_type: str = "") -> int:
    """Bytes a model needs before any batch: its parameters and buffers, a gradient per
    trainable parameter, and the optimizer's state (e.g. Adam keeps two moments each).

    An unknown optimizer counts as Adam (two states), the larger estimate.
    """
    states = _OPTIMIZER_STATES.get(optimizer_type, 2)
    total = 0
    for p in model.parameters():
        size = p.numel() * p.element_size()
        total += size * (1 + (1 + states if p.requires_grad else 0))
    for b in model.buffers():
        total += b.numel() * b.element_size()
    return total


def device_memory_bytes(device: Any) -> int | None:
    """Total memory of a training device (the machine's RAM for the CPU), None if unknown."""
    try:
        dev = torch.device(device)
        if dev.type == "cuda":
            return int(torch.cuda.get_device_properties(dev).total_memory)
        if dev.type == "mps":
            return int(torch.mps.recommended_max_memory())
        if dev.type == "cpu" and hasattr(os, "sysconf"):
            return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except Exception:  # unknown device, or a platform that does not say
        return None
    return None


def _size(n: float) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.1f} GB"
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB"
    return f"{max(n, 0) / 1e3:.1f} KB"


def oom_advice(
    device: str,
    step: int,
    batch_size: int | None,
    model_bytes: int | None,
    device_bytes: int | None,
) -> str:
    """Why memory ran out, in the user's terms: the model itself, or the batch.

    When the parameters, gradients and optimizer state alone (``model_bytes``) take nearly
    all of the device (``device_bytes``), no batch size helps: say how much the model
    needs. Otherwise the batch's activations are what overflowed: suggest half the batch.
    """
    where = f"out of memory on {device} at step {step}"
    if (
        model_bytes is not None
        and device_bytes
        and (model_bytes >= MODEL_TOO_LARGE_FRACTION * device_bytes)
    ):
        return (
            f"{where}: the model is too large for {device}: its parameters, gradients and "
            f"optimizer state alone need ~{_size(model_bytes)} of its {_size(device_bytes)}; "
            "a smaller batch will not help, make the model smaller (fewer or narrower layers) "
            "or train on a device with more memory"
        )
    if batch_size:
        need = f" (the model itself needs ~{_size(model_bytes)})" if model_bytes else ""
        return (
            f"{where} with batch size {batch_size}{need}: the batch does not fit; set a "
            f"smaller batch_size in the Batch node (e.g. {max(1, batch_size // 2)})"
        )
    return f"{where}: set a smaller batch_size in the Batch node or make the model smaller"


# What a resume needs from last.pt beyond any checkpoint's contents.
_POSITION_META = (
    "settings",
    "epoch",
    "step",
    "history",
    "best_value",
    "best_epoch",
    "bad_epochs",
    "schedule",
    "resume_epoch",
    "resume_batch",
)
_POSITION_EXTRA = ("rng_torch", "rng_data", "rng_aug")


def _check_position(resume: Any, g: Any) -> None:
    """A resume checkpoint must hold a training position (a ``last.pt``, not a best.pt or
    model.safetensors), and be of this project, before anything is prepared."""
    path = resume.path
    kind = resume.meta.get("kind")
    missing = [k for k in _POSITION_META if k not in resume.meta]
    missing += [k for k in _POSITION_EXTRA if k not in resume.extra]
    if kind != "last" or missing or resume.optimizer is None:
        name = Path(path).name
        if kind in ("best", "final") or name in ("best.pt", "model.safetensors"):
            hint = f"it is a {name}, use the last.pt beside it"
        else:
            hint = f"no {', '.join(missing[:3]) or 'optimizer state'}"
        raise TrainError(f"{path} holds no training position ({hint})", kind="data", file=path)
    types = {
        "settings": dict,
        "history": list,
        "schedule": dict,
        "step": int,
        "epoch": int,
        "best_epoch": int,
        "bad_epochs": int,
        "resume_epoch": int,
        "resume_batch": int,
    }
    for k, t in types.items():
        if not isinstance(resume.meta[k], t) or isinstance(resume.meta[k], bool):
            raise TrainError(
                f"{path} is not a valid Torchwire checkpoint (its {k!r} is not "
                f"{'a whole number' if t is int else 'an ' + t.__name__ if t is dict else 'a list'})",
                kind="data",
                file=path,
            )
    if "epochs" not in resume.meta["settings"]:
        raise TrainError(
            f"{path} is not a valid Torchwire checkpoint (its settings have no 'epochs')",
            kind="data",
            file=path,
        )
    mine = _model_signature(_project_dict(g))
    theirs = _model_signature(resume.graph)
    if theirs is not None and mine is not None and mine != theirs:
        name = resume.graph.get("name")
        who = f"project {name!r}" if isinstance(name, str) else "another project"
        raise TrainError(
            f"{path} is a checkpoint of {who}, not of {g.name!r} (their models differ: "
            f"{_first_difference(mine, theirs)}); resume with the project it was trained from",
            kind="data",
            file=path,
        )


def _model_signature(doc: Any) -> dict[str, str] | None:
    """The model and optimizer nodes of a project dict (id → type); None if unreadable.

    Their parameter shapes are compared once the model is built (``_check_resumable``);
    data nodes, parameters such as a dropout rate, and training settings may change.
    """
    from engine import catalog

    try:
        sig = {}
        for nd in doc["nodes"]:
            try:
                kind = catalog.get(nd["type"]).kind
            except Exception:  # an unknown type: compare it as a model node
                kind = "model"
            if kind in ("model", "optimizer"):
                sig[str(nd["id"])] = str(nd["type"])
        return sig
    except (KeyError, TypeError):
        return None


def _first_difference(mine: dict[str, str], theirs: dict[str, str]) -> str:
    for k in sorted(set(mine) | set(theirs)):
        if k not in theirs:
            return f"node {k} ({mine[k]}) is only in this project"
        if k not in mine:
            return f"node {k} ({theirs[k]}) is only in the checkpoint"
        if mine[k] != theirs[k]:
            return f"node {k} is a {theirs[k]} there, a {mine[k]} here"
    return "?"


def _slug(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "run"


def _project_dict(g: Any) -> dict[str, Any]:
    from engine.project import project_to_dict

    return project_to_dict(g)


def train(graph_or_path: Any, **kw: Any) -> TrainResult:
    """Train in this thread; raises ``TrainError`` with the readable reason on failure.

    Keywords: those of ``TrainingSession`` (``out_dir``, ``epochs``, ``device``, ``resume``,
    ``settings``) and ``on_event`` (a subscriber).
    """
    on_event = kw.pop("on_event", None)
    s = TrainingSession(graph_or_path, **kw)
    if on_event is not None:
        s.subscribe(on_event)
    res = s.run()
    if res is None:
        assert s.failure is not None
        raise TrainError(s.failure.reason, s.failure.step, s.failure.kind, file=s._failure_file)
    return res
