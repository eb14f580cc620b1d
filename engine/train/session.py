"""A training session: runs a whole project on any thread, reports through frozen events.

In-memory data is batched from tensors already on the training device (one gather per
epoch, then views), so the loop does no per-sample Python work. ``stop()`` takes effect at
the next batch and writes a ``last`` checkpoint holding the exact position (epoch, batch,
this epoch's order, every random generator's state, the running metrics), so a resumed run
continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import torch

from engine.analysis.check import check
from engine.build.compile import compile_model, exception_path, plugin_in_traceback
from engine.catalog.base import ParamError
from engine.catalog.settings import resolve_settings
from engine.data.errors import DataError
from engine.data.pipeline import base_dir_of, chain_of, prepare
from engine.errors import failure_text
from engine.fileio import WriteError, atomic_write, clean_stale
from engine.graph.blocks import SEP
from engine.project import project_to_dict
from engine.runtime.batches import n_targets, split_batches
from engine.runtime.device import pick_device
from engine.runtime.distributed import Distributed, from_env
from engine.runtime.errors import RunError, StateError
from engine.runtime.loop import NonFiniteLoss, Trainer
from engine.runtime.sources import resolve_path
from engine.runtime.state import RunState
from engine.train import checkpoint as ck
from engine.train import events
from engine.train.callbacks import SAVE_INTERVAL_S as _SAVE_INTERVAL_S
from engine.train.callbacks import Checkpoints, Controls, Events
from engine.train.distill import Distillation, load_teacher
from engine.train.errors import TrainError
from engine.train.graphs import as_graph
from engine.train.oom import device_memory_bytes, is_oom, oom_advice, training_memory_bytes
from engine.train.resume import check_position
from engine.train.rundir import RUNS_FOLDER, new_run_dir
from engine.train.runfiles import init_json, write_run_files
from engine.train.runlock import RunFolderBusy, RunLock
from engine.train.runs import write_run_project
from engine.train.specs import loop_settings, make_head, optimizer_spec
from engine.train.weights import WeightsError, init_from


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
SAVE_INTERVAL_S = _SAVE_INTERVAL_S
# The files a training writes in its run folder.
RUN_FILES = (
    "best.pt", "last.pt", "model.safetensors", "metrics.json", "history.csv", "init.json",
    "project.json",
)  # fmt: skip


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


class TrainingSession:
    """Train a project. ``start()`` runs in a background thread; ``run()`` in this one.

    ``epochs`` and ``device`` override ``graph.settings["training"]``; ``resume`` is a
    checkpoint (``last.pt``) to continue from; ``settings`` overrides other settings.

    Extension points (the loop itself is the runtime's ``Trainer``, unchanged):
    ``teacher`` (an ``engine.train.distill.Teacher``) trains this project as a student
    against it (``distill_alpha``, ``distill_temperature``); ``init_weights`` (a state dict)
    starts from those weights instead of fresh ones (fine-tuning a pruned model);
    ``callbacks`` are more runtime ``Callback``s (a tuning trial's pruner, compression's
    pruning mask), run before the session's own, on the training thread.
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
        teacher: Any = None,
        init_weights: dict[str, torch.Tensor] | None = None,
        callbacks: Any = (),
    ) -> None:
        self.graph = as_graph(graph).copy()
        self.teacher = teacher
        self.init_weights = init_weights
        self.extra_callbacks = list(callbacks)
        self.out_dir = str(out_dir) if out_dir is not None else None
        self.overrides = {**(settings or {}), "epochs": epochs, "device": device}
        self.resume_from = str(resume) if resume is not None else None
        self._listeners = events.Subscribers()
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
        return self._listeners.subscribe(fn)

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
        self._listeners.emit(ev)

    # -- the run ---------------------------------------------------------------------------
    def _run(self) -> None:
        """Train, then end in a final state; the last event (Finished or Failed) comes after.

        The state is final and the run folder's lock released before that event, so a
        listener sees the end it is told about (and may start a new run in the same folder),
        and ``join()`` returning means the state is final.
        """
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
                if is_oom(e):
                    reason = self._oom_reason(step_ref[0])
                    self.failure = events.Failed(reason, step_ref[0], "runtime")
                else:
                    kind = "data" if isinstance(e, DataError) else "runtime"
                    self.failure = events.Failed(self._explain(e), step_ref[0] or None, kind)
            except SystemExit as e:  # a plugin's code called sys.exit: its failure, said
                self.failure = events.Failed(self._explain(e), step_ref[0] or None, "runtime")
            except BaseException:  # KeyboardInterrupt in run(): end failed, then re-raise
                self.failure = events.Failed("interrupted", step_ref[0] or None, "runtime")
                raise
            finally:
                dist = getattr(self, "_dist", None)
                if dist is not None:
                    dist.close(wait=self.failure is None)
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

    def _explain(self, e: BaseException) -> str:
        """An unexpected error in the user's terms: which node's generated line raised it,
        and the plugin whose code it was (``sys.exit`` said as the call)."""
        if isinstance(e, DataError):
            return str(e)
        model = getattr(self, "_model", None)
        path: list[str] = []
        plugin = None
        if model is not None:
            path = exception_path(model, e)  # inside a block: "instance › inner node"
            info = getattr(model, "torchwire", None)
            plugin = plugin_in_traceback(e, info.plugins) if info is not None else None
        if isinstance(e, SystemExit):
            text = failure_text(e)
        else:
            text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if plugin is not None:
            text = f"{plugin.module}.{plugin.class_name}: {text}"
        if path:
            return f"{SEP.join(path)}: {text}"
        if plugin is not None or isinstance(e, SystemExit):
            return text
        return f"{type(e).__name__}: {text}"

    def _train(self, step_ref: list[int]) -> TrainResult:
        """Prepare everything from the project, then hand the loop to the runtime."""
        resume = self._load_resume()
        settings = self._settings(resume)
        rep, plan, prep = self._plan()
        dist = Distributed(from_env())
        self._dist = dist
        device = self._device_for(settings, dist)
        dist.setup(device)
        model, head = self._build(settings, rep, plan, prep, device)
        loaders = split_batches(prep, device)
        run_dir = self._open(resume) if dist.is_main else None
        trainer = self._trainer(settings, model, head, loaders, prep, device, dist, resume)
        init = self.init_report
        self._trainer_ref = trainer
        meta = self._meta_base(settings, prep, plan)
        if run_dir is not None:
            trained = project_to_dict(self.graph)
            trained["settings"] = {**trained.get("settings", {}), "training": dict(settings)}
            write_run_project(run_dir, trained)  # the Runs dock and "open this run's project"
            trainer.callbacks.append(Checkpoints(run_dir, meta, self._emit, SAVE_INTERVAL_S))
        self._emit(
            events.Started(
                settings["epochs"],
                trainer.n_batches,
                str(device),
                str(run_dir or ""),
                prep.info.task,
                tuple(prep.info.class_names),
                trainer.state.resume_epoch,
            )
        )
        if init is not None and dist.is_main:
            if run_dir is not None:
                atomic_write(run_dir / "init.json", json.dumps(init_json(init), indent=2) + "\n")
            self._emit(init)
        try:
            state = trainer.fit()
        except NonFiniteLoss as e:
            last = run_dir / "last.pt" if run_dir is not None else None
            keep = f"; the last good checkpoint is {last}" if last and last.exists() else ""
            raise TrainError(
                f"{e}{keep}. Lower the learning rate (now {e.lr:g}) or set grad_clip in the "
                "training settings",
                e.step,
            ) from None
        finally:
            step_ref[0] = trainer.state.step
        return self._finish(trainer, state, loaders, prep.info, meta, run_dir)

    def _load_resume(self) -> Any:
        """The checkpoint to resume from, checked to hold a position of this project."""
        if not self.resume_from:
            return None
        try:
            resume = ck.load_checkpoint(self.resume_from)
        except ck.CheckpointError as e:
            raise TrainError(str(e), kind="data", file=self.resume_from) from None
        check_position(resume, self.graph)
        return resume

    def _settings(self, resume: Any) -> dict[str, Any]:
        try:
            base = (
                self.graph.settings.get("training")
                if isinstance(self.graph.settings, dict)
                else None
            )
            base = dict(base) if isinstance(base, dict) else base
            if resume is not None:
                base = {**(base if isinstance(base, dict) else {}), **resume.meta["settings"]}
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
        return settings

    def _plan(self) -> tuple[Any, Any, Any]:
        """The check's report and training plan, and the prepared data."""
        g = self.graph
        rep = check(g)
        if rep.training is None or not rep.training.ready:
            reasons = (rep.training.messages if rep.training else []) or [
                d.message for d in rep.errors
            ]
            data_err = any(
                d.node in g.nodes and g.nodes[d.node].spec.extra.get("role") == "dataset"
                for d in rep.errors
            )
            raise TrainError(
                "the project cannot train yet: " + "; ".join(reasons),
                kind="data" if data_err else "project",
            )
        plan = rep.training.plan
        try:
            prep = prepare(chain_of(g, plan.data))
        except DataError as e:
            raise TrainError(str(e), kind="data") from None
        return rep, plan, prep

    def _device_for(self, settings: dict[str, Any], dist: Any) -> torch.device:
        try:
            device = pick_device(settings["device"], dist.info.local_rank if dist.enabled else None)
        except RuntimeError as e:
            raise TrainError(str(e)) from None
        self._device = str(device)
        threads = settings["cpu_threads"]
        if device.type == "cpu" and (threads > 0 or dist.enabled):
            self._threads_before = torch.get_num_threads()
            # N processes on one machine share its cores
            n = threads or max(1, self._threads_before // max(1, dist.info.world_size))
            torch.set_num_threads(n)
        return device

    def _build(
        self, settings: dict[str, Any], rep: Any, plan: Any, prep: Any, device: torch.device
    ) -> tuple[torch.nn.Module, Any]:
        """Seed, then the model (weights initialise in graph order) and the loss head."""
        g, info = self.graph, prep.info
        seed = settings["seed"]
        torch.manual_seed(seed)
        if device.type == "cuda":
            torch.cuda.manual_seed_all(seed)
        model = compile_model(g, rep)
        self._init_weights(model, settings)
        model = model.to(device)
        self._model = model
        self._out_shape = tuple(rep.shapes[plan.output])
        self._batch_size = prep.batch["batch_size"]
        lnode = g.nodes[plan.loss]
        self._optimizer_type = g.nodes[plan.optimizer].type
        self._plan_ids = (plan.loss, plan.optimizer)
        tt = prep.target_transform
        head = make_head(
            lnode.type,
            lnode.params,
            info.task,
            info.n_classes,
            tuple(rep.shapes[plan.output]),
            device,
            tt.y_mean if tt else None,
            tt.y_std if tt else None,
        )
        return model, head

    def _init_weights(self, model: torch.nn.Module, settings: dict[str, Any]) -> None:
        """The starting weights: ``init_weights`` (all of them, from Python: fine-tuning a
        pruned model), else the ``init_from`` setting (what fits by name, reported in
        ``self.init_report``), else fresh ones. A resumed run takes its checkpoint's weights
        instead, so neither is read then."""
        self.init_report: events.InitReport | None = None
        if self.resume_from:
            return
        if self.init_weights is not None:
            try:
                model.load_state_dict(self.init_weights)
            except RuntimeError:
                raise TrainError("the initial weights do not fit this project's model") from None
            return
        path = settings.get("init_from") or ""
        if not path:
            return

        try:
            path = resolve_path(path, base_dir_of(self.graph))
            self.init_report = init_from(model, path)
        except (WeightsError, DataError) as e:
            raise TrainError(f"init_from: {e}", kind="data", file=path) from None

    def _open(self, resume: Any) -> Path:
        """The run folder, ours alone while we write it (released in ``_run``)."""
        run_dir = Path(self._run_dir(self.graph, resume))
        self._open_run_dir(run_dir)
        self.run_dir = str(run_dir)
        return run_dir

    def _trainer(
        self,
        settings: dict[str, Any],
        model: torch.nn.Module,
        head: Any,
        loaders: dict[str, Any],
        prep: Any,
        device: torch.device,
        dist: Any,
        resume: Any,
    ) -> Any:
        info = prep.info
        onode = self.graph.nodes[self._plan_ids[1]]
        keep_best = settings["checkpoint"] == "best_and_last"
        state = opt_state = best_state = None
        if resume is not None:
            self._check_resumable(resume, model)
            try:
                model.load_state_dict(resume.state_dict)
                state = RunState.from_checkpoint(resume.meta, resume.extra, resume.path)
            except (StateError, RuntimeError, KeyError, TypeError, ValueError) as e:
                raise TrainError(
                    f"{resume.path} is not a valid Torchwire checkpoint (its training position "
                    f"cannot be restored: {e})",
                    kind="data",
                    file=resume.path,
                ) from None
            opt_state = resume.optimizer
            best_state = self._resume_best(resume, keep_best, state.best_epoch)
        controls: list[Any] = [*self.extra_callbacks, Controls(self._running, self._stop)]
        objective = None
        if self.teacher is not None:
            objective = self._distillation(settings, head, prep, device, controls)
        if dist.is_main and self._listeners:
            controls.append(Events(self._emit, device))
        try:
            return Trainer(
                model,
                head,
                optimizer_spec(onode.type, onode.params, self.graph, model.torchwire.node_of_attr),
                loaders["train"],
                loaders.get("val"),
                loop_settings(settings),
                device=device,
                seed=settings["seed"],
                task=info.task,
                n_classes=info.n_classes,
                n_targets=n_targets(info),
                augment=prep.augment,
                callbacks=controls,
                dist=dist,
                resume=state,
                optimizer_state=opt_state,
                best_state=best_state,
                objective=objective,
            )
        except StateError as e:  # a position or optimizer state that does not fit
            path = resume.path if resume is not None else None
            raise TrainError(
                f"{path} is not a valid Torchwire checkpoint (its {e})", kind="data", file=path
            ) from None
        except RunError as e:
            raise TrainError(str(e), kind=e.kind if e.kind != "runtime" else "project") from None

    def _distillation(
        self, settings: dict[str, Any], head: Any, prep: Any, device: torch.device, cbs: list[Any]
    ) -> Any:
        """The teacher's objective; its callback (recording both terms) goes first in ``cbs``."""
        rng = torch.get_rng_state()  # building the teacher initialises weights first:
        try:  # the student's dropout and augmentation draw as they would without it
            teacher, path = load_teacher(self.teacher, prep.record, self._out_shape, device)
        finally:
            torch.set_rng_state(rng)
        self._teacher_path = path
        d = Distillation(
            teacher, head, prep.info.task, settings["distill_alpha"],
            settings["distill_temperature"],
        )  # fmt: skip
        cbs.insert(0, d)
        return d.objective

    def _meta_base(self, settings: dict[str, Any], prep: Any, plan: Any) -> dict[str, Any]:
        """What every checkpoint of this run says about the project it belongs to."""
        info = prep.info
        return {
            "graph": project_to_dict(self.graph),
            "preprocessing": prep.record,
            "task": info.task,
            "class_names": list(info.class_names),
            "settings": settings,
            "loss": self.graph.nodes[plan.loss].type,
            "torch": torch.__version__,
            **(
                {"teacher": str(self._teacher_path)} if getattr(self, "_teacher_path", None) else {}
            ),
        }

    def _finish(
        self,
        trainer: Any,
        state: Any,
        loaders: dict[str, Any],
        info: Any,
        meta: dict[str, Any],
        run_dir: Path | None,
    ) -> TrainResult:
        """Test metrics with the best weights (else the last), the final files, the result."""
        split = "test" if "test" in loaders else "val" if "val" in loaders else "train"
        samples = 2000 if info.task == "regression" else 0
        with trainer.best_weights() as best:
            test_m, pairs = trainer.evaluate(loaders[split], confusion=True, samples=samples)
            if run_dir is not None:
                ck.save_safetensors(
                    run_dir / "model.safetensors",
                    trainer.model.state_dict(),
                    {**meta, "kind": "final", "epoch": state.best_epoch if best else state.epoch},
                )
        if pairs is not None:
            test_m["y_true"], test_m["y_pred"] = pairs
        if split != "test":
            test_m["split"] = split
        if run_dir is not None:
            write_run_files(
                run_dir, test_m, state.history, state.stopped, state.best_epoch, state.epoch,
                trainer.monitor,
            )  # fmt: skip
        best_path = run_dir / "best.pt" if run_dir is not None else None
        last_path = run_dir / "last.pt" if run_dir is not None else None
        return TrainResult(
            run_dir=str(run_dir or ""),
            test_metrics=test_m,
            history=state.history,
            best_checkpoint=str(best_path) if best_path and best_path.exists() else None,
            last_checkpoint=str(last_path) if last_path and last_path.exists() else None,
            stopped=state.stopped,
            device=str(trainer.device),
            epochs_completed=len(state.history),
            extra={
                "init": getattr(self, "init_report", None),
                "best_epoch": state.best_epoch,
                "monitor": trainer.monitor,
                "model": trainer.model,
            },
        )

    def _check_resumable(self, resume: Any, model: torch.nn.Module) -> None:
        """The checkpoint's weights must be this model's: same tensors, same shapes, finite."""
        mine = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        theirs = {k: tuple(v.shape) for k, v in resume.state_dict.items()}
        if mine == theirs:
            bad = ck.non_finite_weights(resume.state_dict)
            if bad is not None:
                raise TrainError(
                    f"{resume.path}: {bad}; the weights are damaged (a diverged run saved "
                    "them?): resume from an earlier checkpoint, or train afresh",
                    kind="data",
                    file=resume.path,
                )
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
        return str(new_run_dir(RUNS_FOLDER, g.name))


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
