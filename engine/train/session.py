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
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.errors import TorchwireError
from engine.train import events
from engine.train.settings import lower_is_better, resolve_settings

State = str  # "idle"|"running"|"paused"|"stopping"|"finished"|"stopped"|"failed"


# Epochs shorter than this write their checkpoints at most this often (and always at the end,
# on stop and on early stopping), so that checkpointing never dominates a fast epoch.
SAVE_INTERVAL_S = 10.0


class TrainError(TorchwireError, RuntimeError):
    """Training could not run or failed; the message is the readable reason."""

    def __init__(self, reason: str, step: int | None = None, kind: str = "project") -> None:
        super().__init__(reason)
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
        self._state: State = "idle"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self.result: TrainResult | None = None
        self.failure: events.Failed | None = None
        self.run_dir: str | None = None
        self._threads_before: int | None = None

    # -- control ---------------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._state

    def subscribe(self, fn: Callable[[Any], None]) -> Callable[[], None]:
        """``fn(event)`` runs on the training thread; keep it cheap and non-blocking."""
        with self._lock:
            self._listeners = [*self._listeners, fn]

        def unsubscribe() -> None:
            with self._lock:
                self._listeners = [f for f in self._listeners if f is not fn]

        return unsubscribe

    def start(self) -> None:
        if self._state != "idle":
            raise RuntimeError(f"this session has already run (state: {self._state})")
        self._state = "running"
        self._thread = threading.Thread(target=self._run, name="torchwire-train", daemon=True)
        self._thread.start()

    def run(self) -> TrainResult | None:
        """Train in the calling thread; the result, or None when it failed (see ``failure``)."""
        if self._state != "idle":
            raise RuntimeError(f"this session has already run (state: {self._state})")
        self._state = "running"
        self._run()
        return self.result

    def pause(self) -> None:
        if self._state == "running":
            self._running.clear()
            self._state = "paused"

    def resume(self) -> None:
        if self._state == "paused":
            self._state = "running"
            self._running.set()

    def stop(self) -> None:
        """Stop at the next batch; the model stays consistent and ``last`` is written."""
        if self._state in ("running", "paused", "idle"):
            self._state = "stopping"
            self._stop.set()
            self._running.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the end; True when it ended."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return self._done.is_set() or self._state == "idle"

    # -- events ----------------------------------------------------------------------------
    def _emit(self, ev: Any) -> None:
        for fn in self._listeners:
            try:
                fn(ev)
            except Exception:  # a broken subscriber must not break training
                traceback.print_exc()

    # -- the run ---------------------------------------------------------------------------
    def _run(self) -> None:
        step_ref = [0]
        try:
            self.result = self._train(step_ref)
            self._state = "stopped" if self.result.stopped else "finished"
        except TrainError as e:
            self._fail(str(e), e.step, e.kind)
        except torch.OutOfMemoryError:
            self._fail(self._oom_reason(step_ref[0]), step_ref[0], "runtime")
        except Exception as e:
            if "out of memory" in str(e).lower() or "can't allocate memory" in str(e).lower():
                self._fail(self._oom_reason(step_ref[0]), step_ref[0], "runtime")
            else:
                from engine.data.errors import DataError

                kind = "data" if isinstance(e, DataError) else "runtime"
                self._fail(self._explain(e), step_ref[0] or None, kind)
        finally:
            if self._threads_before is not None:
                torch.set_num_threads(self._threads_before)
            self._done.set()

    def _fail(self, reason: str, step: int | None, kind: str = "project") -> None:
        self._state = "failed"
        self.failure = events.Failed(reason, step, kind)
        self._emit(self.failure)

    def _oom_reason(self, step: int) -> str:
        bs = getattr(self, "_batch_size", None)
        dev = getattr(self, "_device", "the device")
        smaller = f" (e.g. {max(1, bs // 2)})" if bs else ""
        return (
            f"out of memory on {dev} at step {step}"
            + (f" with batch size {bs}" if bs else "")
            + f": set a smaller batch_size in the Batch node{smaller} or a smaller model"
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
        from engine.data.loaders import InMemoryBatches, StreamingBatches, augment_batch
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
                raise TrainError(str(e), kind="data") from None
        try:
            base = dict(g.settings.get("training") or {})
            if resume is not None:
                base = {**base, **resume.meta.get("settings", {})}
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

        # run folder
        run_dir = Path(self._run_dir(g, resume))
        run_dir.mkdir(parents=True, exist_ok=True)
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
            model.load_state_dict(resume.state_dict)
            if resume.optimizer is not None:
                opt.load_state_dict(resume.optimizer)
            m = resume.meta
            history = list(m["history"])
            best_value, best_epoch, bad_epochs = m["best_value"], m["best_epoch"], m["bad_epochs"]
            sched.load_state(m["schedule"])
            step = m["step"]
            start_epoch, start_batch = m["resume_epoch"], m["resume_batch"]
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
            bp = Path(resume.path).with_name("best.pt")
            if keep_best and bp.exists():
                best_state = ck.load_checkpoint(bp).state_dict
            if scaler is not None and "scaler" in m:
                scaler.load_state_dict(m["scaler"])

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

        def save_last(epoch: int, **pos: Any) -> None:
            ck.save(last_path, payload("last", model.state_dict(), epoch, **pos))
            self._emit(events.CheckpointSaved(str(last_path), "last", epoch))

        def save_best() -> None:
            ck.save(best_path, payload("best", best_state or {}, best_epoch))
            self._emit(events.CheckpointSaved(str(best_path), "best", best_epoch))

        best_dirty = False
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
                    if best_dirty:
                        save_best()
                        best_dirty = False
                    save_last(
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
                        save_last(
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
                if best_dirty:
                    save_best()
                    best_dirty = False
                save_last(epoch, finished=early or epoch == epochs)
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
        self._emit(events.Finished(str(run_dir), test_m, stopped, list(history)))
        return result

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

    @staticmethod
    def _check_resumable(resume: Any, model: torch.nn.Module) -> None:
        mine = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        theirs = {k: tuple(v.shape) for k, v in resume.state_dict.items()}
        if mine != theirs:
            raise TrainError(
                f"{resume.path}: the checkpoint's model differs from this project's model; "
                "resume with the project it was trained from"
            )

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
        _atomic_text(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
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
        _atomic_text(run_dir / "history.csv", buf.getvalue())


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


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
        raise TrainError(s.failure.reason, s.failure.step)
    return res
