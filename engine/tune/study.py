"""A study on Optuna: each trial trains the project (a normal run folder) with sampled values.

Optuna does all of the searching: its samplers (TPE, random, grid, CMA-ES), its pruners
(median, Hyperband) fed the monitored metric every epoch through a loop ``Callback``, its
RDB storage (SQLite in the output folder by default, any SQLAlchemy URL otherwise) and its
parameter importances. What is ours is only the mapping from a trial to a training run and
the files at the end (``trials.csv``, ``importances.json``, ``best.json``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import socket
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from engine.catalog.settings import resolve_settings
from engine.catalog.tuning import (
    DIRECTIONS,
    PRUNERS,
    SAMPLERS,
    Dimension,
    Plan,
    Resolved,
    TuneError,
    check_tuning_settings,
    effective_pruner,
    merge,
    parse_space,
    resolve,
    space_of,
)
from engine.fileio import atomic_write
from engine.project import save_project
from engine.runtime.loop import Callback, EpochEnd, Trainer
from engine.runtime.schedule import lower_is_better
from engine.train.graphs import as_graph
from engine.train.rundir import study_dir, study_slug
from engine.train.session import TrainingSession

FINISHED = (
    optuna.trial.TrialState.COMPLETE,
    optuna.trial.TrialState.PRUNED,
    optuna.trial.TrialState.FAIL,
)
# SQLite: a writer waits this long for another process's lock instead of failing at once.
SQLITE_TIMEOUT_S = 60
# A trial whose process died stops beating; after this grace Optuna marks it failed.
HEARTBEAT_S, GRACE_S = 10, 30
# A trial started past the study's total (another worker took the last place) carries this
# user attribute: it never trains, is failed at once and counts nowhere.
SURPLUS = "surplus"
STOPPED = "stopped before it finished"
ENDED = "its process ended before the trial finished"


class Pruning(Callback):
    """Reports the monitored value every ``every`` epochs (the pruner reads the whole study
    each time it is asked, so not after every short epoch); ends the run when the pruner
    says so. All trials report at the same epochs, which is what pruners compare."""

    def __init__(self, trial: optuna.Trial, every: int = 1) -> None:
        self.trial, self.every = trial, max(1, every)
        self.pruned_at: int | None = None

    def on_epoch_end(self, trainer: Trainer, info: EpochEnd) -> None:
        v = info.value
        if v is None or not math.isfinite(v) or info.epoch % self.every:
            return
        self.trial.report(float(v), info.epoch)
        if self.trial.should_prune():
            self.pruned_at = info.epoch
            trainer.state.early_stopped = True  # the loop ends after this epoch, files written
            trainer.state.finished = True


class StorageError(TuneError):
    """The study's storage cannot be opened (a bad URL, a missing driver, a locked file)."""


class TrialFailed(Exception):
    """A trial's training failed (recorded as a failed trial; the study goes on)."""


class _Stopped(Exception):
    """The study was asked to stop in the middle of a trial."""


@dataclass
class TuneResult:
    study_name: str
    storage: str
    out_dir: str
    direction: str
    monitor: str
    trials: list[dict[str, Any]]
    best_value: float | None = None
    best_params: dict[str, Any] = field(default_factory=dict)
    best_trial: int | None = None
    best_path: str | None = None
    csv_path: str = ""
    importances: dict[str, float] = field(default_factory=dict)
    importance_note: str = ""
    stopped: bool = False
    plan: Plan | None = None  # where the study stood when this worker began


def storage_url(out_dir: str | os.PathLike[str]) -> str:
    """The default storage: a SQLite database in the output folder."""
    return "sqlite:///" + str(Path(out_dir).resolve() / "study.db")


def make_storage(url: str) -> optuna.storages.BaseStorage:
    """Optuna's RDB storage for ``url``, with a lock timeout and heartbeats on SQLite.

    Two processes creating the tables of a new SQLite file at once can race; the loser
    retries. Any SQLAlchemy URL Optuna accepts works (postgresql://, mysql://, sqlite://).
    """
    kw: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kw = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            try:
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StorageError(f"storage {url}: cannot make its folder ({e})") from None
    last: Exception | None = None
    for attempt in range(8):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna 5
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                storage = optuna.storages.RDBStorage(
                    url, engine_kwargs=kw, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S
                )
            if url.startswith("sqlite"):
                _sqlite_pragmas(storage)
            return storage
        except ImportError as e:  # a driver that is not installed (psycopg2, pymysql)
            raise StorageError(f"storage {safe_url(url)}: {e}") from None
        except Exception as e:  # sqlalchemy's OperationalError on a table-creation race
            last = e
            time.sleep(0.2 * (attempt + 1))
    raise StorageError(f"storage {safe_url(url)} cannot be used ({_first_line(last)})")


def _sqlite_pragmas(storage: optuna.storages.RDBStorage) -> None:
    """WAL (readers never block the writer: several workers on one file) and no fsync per
    commit (a trial reports every epoch; WAL stays consistent after a crash, a power cut
    may lose the last commits). Set on every new connection of the storage's engine."""
    import sqlalchemy

    def pragmas(conn: Any, _record: Any) -> None:
        cur = conn.cursor()
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        except Exception:  # another process holds the lock: its connection set them
            pass
        finally:
            cur.close()

    sqlalchemy.event.listen(storage.engine, "connect", pragmas)
    storage.engine.dispose()  # the connections opened to create the tables go


def make_sampler(
    name: str, dims: Sequence[Resolved], seed: int | None
) -> optuna.samplers.BaseSampler:
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=_startup(dims))
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler({r.name: r.grid_values() for r in dims}, seed=seed)
    if name == "cmaes":
        if not any(r.kind != "choice" for r in dims):
            raise TuneError("cmaes searches number ranges: give at least one LOW:HIGH range")
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    raise TuneError(f"unknown sampler {name!r} (one of {', '.join(SAMPLERS)})")


def _startup(dims: Sequence[Resolved]) -> int:
    """Random trials before TPE models the space: Optuna's 10, fewer for a small space."""
    return max(4, min(10, 3 * len(dims) + 1))


def report_interval(epochs: int) -> int:
    """Trials report every this many epochs: about ten times a run."""
    return max(1, epochs // 10)


def make_pruner(name: str, epochs: int) -> optuna.pruners.BasePruner:
    """Optuna's pruner; ``epochs`` is the (shortest) number of epochs of a trial."""
    every = report_interval(epochs)
    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "median":
        # no pruning in the first quarter of training: early epochs say little
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=max(1, epochs // 4))
    if name == "hyperband":  # rungs at every·3^k epochs: all of them reported epochs
        return optuna.pruners.HyperbandPruner(min_resource=every, max_resource=max(every, epochs))
    raise TuneError(f"unknown pruner {name!r} (one of {', '.join(PRUNERS)})")


class Study:
    """One process's work on a study; ``run()`` blocks, ``stop()`` may come from any thread.

    ``on_trial(row, summary)`` runs after every finished trial, on the tuning thread.
    """

    def __init__(
        self,
        graph: Any,
        space: Sequence[Dimension | str] = (),
        *,
        trials: int | None = None,
        sampler: str | None = None,
        pruner: str | None = None,
        timeout: float | None = None,
        study: str | None = None,
        storage: str | None = None,
        out: str | os.PathLike[str] | None = None,
        direction: str | None = None,
        epochs: int | None = None,
        device: str | None = None,
        seed: int | None = None,
        on_trial: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
        on_event: Callable[[Any], None] | None = None,
    ) -> None:
        self.graph = as_graph(graph).copy()
        cfg = check_tuning_settings(self._saved())

        given = [d if isinstance(d, Dimension) else parse_space(d) for d in space]
        self.dims = resolve(self.graph, merge(space_of(self.graph), given))
        self.sampler_name = sampler or cfg["sampler"]
        self.pruner_name = effective_pruner(self.sampler_name, pruner or cfg["pruner"])
        self.timeout = timeout if timeout is not None else cfg["timeout"]
        self.direction_setting = direction or cfg["direction"]
        if self.direction_setting not in DIRECTIONS:
            raise TuneError(f"direction must be one of {', '.join(DIRECTIONS)}")
        self.seed = seed if seed is not None else cfg["seed"]
        if epochs is not None and any(
            r.node is None and r.param.name == "epochs" for r in self.dims
        ):
            raise TuneError("training.epochs is tuned: do not also give --epochs")
        self.epochs, self.device = epochs, device
        if self.sampler_name == "grid":
            grid = 1
            for r in self.dims:
                grid *= len(r.grid_values())
            self.trials = trials if trials is not None else grid
        else:
            self.trials = trials if trials is not None else cfg["trials"]
        if self.trials < 1:
            raise TuneError("--trials must be at least 1")
        if self.timeout is not None and self.timeout <= 0:
            raise TuneError("--timeout must be a positive number of seconds")
        self.out_dir = Path(out) if out is not None else study_dir(Path(), self.graph.name)
        self.study_name = study or study_slug(self.graph.name)
        self.storage_url = storage or storage_url(self.out_dir)
        self.on_trial, self.on_event = on_trial, on_event
        self.monitor = self._monitor()
        self.min_epochs = self._min_epochs()
        self.report_every = report_interval(self.min_epochs)
        self._stop = threading.Event()
        self._session: Any = None
        self._lock = threading.Lock()
        self.study: optuna.Study | None = None

    # -- setup ---------------------------------------------------------------------------------
    def _saved(self) -> Any:
        s = self.graph.settings if isinstance(self.graph.settings, dict) else {}
        return s.get("tuning") or {}

    def _training(self) -> dict[str, Any]:
        s = self.graph.settings if isinstance(self.graph.settings, dict) else {}
        try:
            return resolve_settings(s.get("training"))
        except ValueError as e:
            raise TuneError(str(e)) from None

    def _monitor(self) -> str:
        return str(self._training()["monitor"])

    @property
    def direction(self) -> str:
        if self.direction_setting != "auto":
            return self.direction_setting
        return "minimize" if lower_is_better(self.monitor) else "maximize"

    def _epochs(self) -> int:
        return int(self.epochs or self._training()["epochs"])

    def _min_epochs(self) -> int:
        """The fewest epochs a trial trains (``training.epochs`` may be tuned)."""
        for r in self.dims:
            if r.node is None and r.param.name == "epochs":
                d = r.dim
                return int(min(d.choices) if d.choices is not None else d.low)  # type: ignore[type-var,arg-type]
        return self._epochs()

    def _open(self) -> optuna.Study:
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise TuneError(f"{self.out_dir}: cannot be made ({e.strerror or e})") from None
        storage = make_storage(self.storage_url)
        try:
            study = optuna.create_study(
                storage=storage,
                study_name=self.study_name,
                sampler=make_sampler(self.sampler_name, self.dims, self.seed),
                pruner=make_pruner(self.pruner_name, self.min_epochs),
                direction=self.direction,
                load_if_exists=True,
            )
        except ValueError as e:  # e.g. the saved study has another direction
            raise TuneError(
                f"study {self.study_name!r} in {safe_url(self.storage_url)}: {e}"
            ) from None
        if study.direction.name.lower() != self.direction:
            raise TuneError(
                f"study {self.study_name!r} in {safe_url(self.storage_url)} was made to "
                f"{study.direction.name.lower()}; this one would {self.direction} {self.monitor}"
            )
        study.set_user_attr("monitor", self.monitor)
        fail_stale(study)
        return study

    def plan(self) -> Plan:
        """Where the study stands before this worker runs: its finished trials, those other
        workers are running, and how many more this one will run (``trials`` is the total)."""
        if self.study is None:
            self.study = self._open()
        return plan_of(self.study, self.trials)

    # -- control ---------------------------------------------------------------------------------
    def stop(self) -> None:
        """End after the running trial stops (at its next batch); its trial is failed."""
        self._stop.set()
        with self._lock:
            s = self._session
        if s is not None:
            s.stop()

    # -- the trials ------------------------------------------------------------------------------
    def apply(self, values: dict[str, Any]) -> Any:
        """A copy of the project with ``values`` (target → value) written in."""
        g = self.graph.copy()
        settings = dict(g.settings) if isinstance(g.settings, dict) else {}
        training = dict(settings.get("training") or {})
        for r in self.dims:
            if r.name not in values:
                continue
            v = values[r.name]
            if r.node is None:
                training[r.param.name] = r.param.coerce(v)
            else:
                g.set(r.node, **{r.param.name: v})
        settings["training"] = training
        g.settings = settings
        return g

    def _suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for r in self.dims:
            d = r.dim
            if r.kind == "choice":
                out[r.name] = trial.suggest_categorical(r.name, list(d.choices or ()))
            elif r.kind == "int":
                step = int(d.step) if d.step is not None else 1
                out[r.name] = trial.suggest_int(
                    r.name, int(d.low), int(d.high), step=step, log=d.log
                )  # type: ignore[arg-type]
            else:
                out[r.name] = trial.suggest_float(r.name, d.low, d.high, step=d.step, log=d.log)  # type: ignore[arg-type]
        return out

    def _objective(self, trial: optuna.Trial) -> float:
        if self._stop.is_set():
            raise _Stopped()
        if _surplus(trial, self.trials):
            # the study already holds (or is running) its total: this worker trains no more;
            # pruned, not failed, so Optuna ends it quietly (counted() leaves it out)
            trial.set_user_attr(SURPLUS, True)
            trial.study.stop()
            raise optuna.TrialPruned("the study already holds its total")
        values = self._suggest(trial)
        run_dir = self.out_dir / f"trial-{trial.number:04d}"
        trial.set_user_attr("run_dir", str(run_dir.resolve()))
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        pruning = Pruning(trial, self.report_every)
        callbacks = [pruning] if self.pruner_name != "none" else []
        try:
            g = self.apply(values)
        except Exception as e:  # a value the graph refuses in combination
            trial.set_user_attr("error", _first_line(e))
            raise TrialFailed(_first_line(e)) from None
        s = TrainingSession(
            g, out_dir=run_dir, epochs=self.epochs, device=self.device, callbacks=callbacks
        )
        if self.on_event is not None:
            s.subscribe(self.on_event)
        with self._lock:
            if self._stop.is_set():
                raise _Stopped()
            self._session = s
        try:
            res = s.run()
        except RuntimeError:  # stop() came before the session started: it never ran
            if self._stop.is_set():
                trial.set_user_attr("error", STOPPED)
                raise _Stopped() from None
            raise
        finally:
            with self._lock:
                self._session = None
        if res is None:
            reason = s.failure.reason if s.failure is not None else "training failed"
            trial.set_user_attr("error", reason)
            raise TrialFailed(reason)
        if res.stopped:
            trial.set_user_attr("error", STOPPED)
            raise _Stopped()
        monitor = str(res.extra.get("monitor") or self.monitor)
        vals = [float(h[monitor]) for h in res.history if _finite(h.get(monitor))]
        if not vals:
            trial.set_user_attr("error", f"no {monitor} was measured")
            raise TrialFailed(f"no {monitor} was measured")
        trial.set_user_attr("epochs", len(res.history))
        if pruning.pruned_at is not None:
            trial.set_user_attr("pruned_at", pruning.pruned_at)
            raise optuna.TrialPruned(f"pruned at epoch {pruning.pruned_at}")
        return min(vals) if self.direction == "minimize" else max(vals)

    def _after(self, study: optuna.Study, frozen: optuna.trial.FrozenTrial) -> None:
        done = _done(study)
        if done >= self.trials or self._stop.is_set():
            study.stop()
        if self.on_trial is not None:
            best = _best(study)
            summary = {
                "done": done,
                "trials": self.trials,
                "best_value": best.value if best else None,
                "best_trial": best.number if best else None,
                "direction": self.direction,
                "monitor": self.monitor,
            }
            self.on_trial(trial_row(frozen), summary)

    def run(self) -> TuneResult:
        """Run trials until the study holds ``trials`` finished ones (or the timeout, or
        the grid is done, or ``stop()``); then write the tables and ``best.json``."""
        plan = self.plan()
        study = self.study
        assert study is not None
        stopped = False
        if plan.more > 0 and not self._stop.is_set():
            try:
                study.optimize(
                    self._objective,
                    n_trials=plan.more,
                    timeout=self.timeout,
                    catch=(TrialFailed,),
                    callbacks=[self._after],
                )
            except _Stopped:
                stopped = True
        res = self.finish(stopped=stopped or self._stop.is_set())
        res.plan = plan
        return res

    # -- the end ---------------------------------------------------------------------------------
    def finish(self, stopped: bool = False) -> TuneResult:
        study = self.study if self.study is not None else self._open()
        fail_stale(study)
        rows = [trial_row(t) for t in counted(study.get_trials(deepcopy=False))]
        res = TuneResult(
            study.study_name, safe_url(self.storage_url), str(self.out_dir), self.direction,
            self.monitor, rows, stopped=stopped,
        )  # fmt: skip
        res.csv_path = str(self.out_dir / "trials.csv")
        atomic_write(res.csv_path, trials_csv(rows, [r.name for r in self.dims]))
        best = _best(study)
        if best is not None:
            res.best_value, res.best_params, res.best_trial = (
                best.value,
                dict(best.params),
                best.number,
            )
            res.best_path = str(self.out_dir / "best.json")
            self.write_best(best.params, res.best_path)
        res.importances, res.importance_note = importances(study)
        atomic_write(
            self.out_dir / "importances.json",
            json.dumps({"importances": res.importances, "note": res.importance_note}, indent=2)
            + "\n",
        )
        return res

    def write_best(self, params: dict[str, Any], path: str) -> None:
        """The project with the best values written in, its data paths made absolute."""
        g = self.apply(params)
        base = Path(self.graph.source_path).parent if self.graph.source_path else None
        if base is not None:
            for n in g.nodes.values():
                for p in n.spec.params:
                    v = n.params.get(p.name)
                    if p.type == "path" and isinstance(v, str) and v and not os.path.isabs(v):
                        g.set(n.id, **{p.name: str((base / v).resolve())})
        save_project(g, path)


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def counted(trials: Sequence[optuna.trial.FrozenTrial]) -> list[optuna.trial.FrozenTrial]:
    """The study's trials less those started past its total (never trained)."""
    return [t for t in trials if not t.user_attrs.get(SURPLUS)]


def _done(study: optuna.Study) -> int:
    return len(counted(study.get_trials(deepcopy=False, states=FINISHED)))


def plan_of(study: optuna.Study, total: int) -> Plan:
    """The study's finished and running trials against ``total``."""
    ts = counted(study.get_trials(deepcopy=False))
    finished = sum(1 for t in ts if t.state in FINISHED)
    running = sum(1 for t in ts if t.state == optuna.trial.TrialState.RUNNING)
    return Plan(finished, running, total)


def _surplus(trial: optuna.Trial, total: int) -> bool:
    """Whether ``total`` trials were started before this one (numbers are given out in
    order, one at a time, by the storage): then another worker took the last place and
    this trial must not run. A trial below whose verdict is not yet written counts as
    running: had it been surplus, so would this one be."""
    below = [t for t in trial.study.get_trials(deepcopy=False) if t.number < trial.number]
    return len(counted(below)) >= total


def fail_stale(study: optuna.Study) -> None:
    """Trials whose process stopped beating (killed, crashed) for the grace period become
    failed, as Optuna does only before it starts a trial: here also when a study is opened
    or finished, so that none stays running for ever."""
    with warnings.catch_warnings():  # experimental; says so when heartbeats are off
        warnings.simplefilter("ignore")
        optuna.storages.fail_stale_trials(study)


def _best(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    try:
        return study.best_trial
    except ValueError:  # no completed trial yet
        return None


def trial_row(t: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """One trial as a plain row: number, state, value, duration, params, run folder."""
    dur = t.duration.total_seconds() if t.duration is not None else None
    return {
        "number": t.number,
        "state": t.state.name.lower(),
        "value": t.value,
        "duration_s": None if dur is None else round(dur, 3),
        "params": dict(t.params),
        "epochs": t.user_attrs.get("epochs"),
        "run_dir": t.user_attrs.get("run_dir", ""),
        "error": t.user_attrs.get("error", "")
        or (ENDED if t.state == optuna.trial.TrialState.FAIL else ""),
    }


def trials_csv(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> str:
    buf = io.StringIO()
    cols = ["number", "state", "value", "duration_s", *names, "epochs", "run_dir", "error"]
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow(
            [r["number"], r["state"], "" if r["value"] is None else repr(float(r["value"])),
             "" if r["duration_s"] is None else r["duration_s"],
             *[r["params"].get(n, "") for n in names], r["epochs"] or "", r["run_dir"], r["error"]]
        )  # fmt: skip
    return buf.getvalue()


def format_table(res: TuneResult, names: Sequence[str]) -> str:
    """The trials as an aligned text table, the best marked with ``*``."""
    head = ["#", "state", res.monitor, "s", *names]
    lines = [head]
    for r in res.trials:
        v = r["value"]
        lines.append(
            [f"{r['number']}{'*' if r['number'] == res.best_trial else ''}", r["state"],
             "" if v is None else f"{v:.4g}",
             "" if r["duration_s"] is None else f"{r['duration_s']:.2f}",
             *[_cell(r["params"].get(n)) for n in names]]
        )  # fmt: skip
    widths = [max(len(str(row[i])) for row in lines) for i in range(len(head))]
    return "\n".join(
        "  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)) for row in lines
    )


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def importances(study: optuna.Study) -> tuple[dict[str, float], str]:
    """Optuna's parameter importances (its default evaluator), or none and why not."""
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(done) < 2:
        return {}, "importances need at least two completed trials"
    try:
        with warnings.catch_warnings():  # "importances will be equal" is said in the result
            warnings.simplefilter("ignore", UserWarning)
            imp = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError) as e:
        return {}, f"no importances: {_first_line(e)}"
    return {k: float(v) for k, v in imp.items()}, ""


def _first_line(e: Any) -> str:
    t = str(e).strip()
    return t.splitlines()[0] if t else type(e).__name__


def safe_url(url: str) -> str:
    """``url`` without a password."""
    import re

    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)


def tune(graph_or_path: Any, space: Sequence[Dimension | str] = (), **kw: Any) -> TuneResult:
    """Run a study on a project (a Graph or a file); see ``Study`` for the keywords.

    ``space`` adds to (or replaces, per target) the project's ``settings["tuning"]``
    space: ``Dimension``s or ``"NODE.PARAM=LOW:HIGH[:log]"`` / ``"NODE.PARAM=A,B,C"``.
    """
    return Study(graph_or_path, space, **kw).run()


@dataclass
class StudyState:
    """A saved study as it stands, read without running it: its trials (as rows), the
    parameters they searched, and its plan against a total."""

    rows: list[dict[str, Any]]
    names: list[str]
    monitor: str
    direction: str
    plan: Plan


def read_study(out_dir: str | os.PathLike[str], study_name: str, total: int) -> StudyState | None:
    """The study ``study_name`` in ``out_dir``'s database, or None when there is none."""
    db = Path(out_dir) / "study.db"
    if not db.is_file():
        return None
    try:
        study = optuna.load_study(study_name=study_name, storage=make_storage(storage_url(out_dir)))
    except KeyError:  # the database holds other studies only
        return None
    ts = counted(study.get_trials(deepcopy=False))
    names: list[str] = []
    for t in ts:
        names += [n for n in t.params if n not in names]
    return StudyState(
        [trial_row(t) for t in ts],
        names,
        str(study.user_attrs.get("monitor", "value")),
        study.direction.name.lower(),
        plan_of(study, total),
    )
