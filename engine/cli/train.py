"""``torchwire train | evaluate | predict``: the training pipeline from the command line.

Exit codes as everywhere: 0 ok, 1 the project has problems (it cannot train, or training
failed), 2 an input cannot be read. Never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from engine.cli.common import EXIT_OK, EXIT_PROBLEMS, EXIT_UNREADABLE, CliError, load
from engine.runtime.device import DEVICE_CHOICES
from engine.runtime.distributed import from_env
from engine.train import events as E
from engine.train.distill import Teacher
from engine.train.inference import evaluate, predict
from engine.train.launch import EVENTS_ENV, EventLog, LaunchOptions, launch, report_failure
from engine.train.session import TrainError, TrainingSession


def register(sub: Any) -> None:
    p = sub.add_parser("train", help="train a project: progress, a table per epoch, a run folder")
    p.add_argument("file")
    p.add_argument("--epochs", type=int, help="override the project's epochs")
    p.add_argument("--device", choices=DEVICE_CHOICES, help="override the device")
    p.add_argument("--out", help="run folder (default: runs/<name>-<time>)")
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue from a last.pt checkpoint")
    p.add_argument("--seed", type=int, help="override the seed")
    p.add_argument(
        "--init-from", metavar="WEIGHTS",
        help="start from these weights (run folder, checkpoint, .safetensors, state_dict .pt), "
        "matched to the nodes by name: overrides the init_from setting",
    )  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--teacher", metavar="TEACHER.json",
        help="distill: train this project as a student of the teacher project (the training "
        "settings distill_alpha and distill_temperature weigh the two terms)",
    )  # fmt: skip
    p.add_argument(
        "--teacher-checkpoint", metavar="RUN", help="the teacher's checkpoint or run folder"
    )
    g = p.add_argument_group(
        "several processes (DistributedDataParallel through torch.distributed.run)"
    )
    g.add_argument(
        "--nproc-per-node", type=int, default=0, metavar="N",
        help="train on N processes on this machine (one per GPU on CUDA; gloo on the CPU)",
    )  # fmt: skip
    g.add_argument("--nnodes", type=int, default=1, help="machines in the job (default 1)")
    g.add_argument("--node-rank", type=int, default=0, help="this machine's rank (0 … nnodes-1)")
    g.add_argument("--master-addr", help="address of the rank-0 machine")
    g.add_argument("--master-port", type=int, help="port of the rank-0 machine")
    g.add_argument("--rdzv-endpoint", metavar="HOST:PORT", help="c10d rendezvous endpoint")
    p.set_defaults(func=_train)

    p = sub.add_parser("evaluate", help="metrics of a checkpoint on the project's test split")
    p.add_argument("file")
    p.add_argument(
        "--checkpoint", required=True, help="best.pt, last.pt, .safetensors or a run folder"
    )
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--device", default="cpu", choices=DEVICE_CHOICES)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("predict", help="predict on new data (CSV, image folder, .npz)")
    p.add_argument("file")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--input", required=True, help="CSV file, image folder or .npz")
    p.add_argument("--output", "-o", help="write predictions as CSV here (default: print)")
    p.add_argument("--device", default="cpu", choices=DEVICE_CHOICES)
    p.set_defaults(func=_predict)


def _fmt_metrics(m: dict[str, Any]) -> str:
    keys = [
        k for k in ("loss", "accuracy", "f1", "precision", "recall", "mse", "mae", "r2") if k in m
    ]
    return "  ".join(f"{k} {m[k]:.4f}" for k in keys)


class _Printer:
    """A one-line progress bar (on a terminal) and one table row per epoch."""

    def __init__(self, quiet: bool) -> None:
        self.tty = sys.stderr.isatty() and not quiet
        self.cols: list[str] = []
        self.last = 0.0

    def __call__(self, ev: Any) -> None:
        if isinstance(ev, E.Started):
            print(
                f"training on {ev.device}: {ev.epochs} epochs × {ev.batches_per_epoch} batches"
                f" → {ev.run_dir}",
                flush=True,
            )
        elif isinstance(ev, E.BatchEnded) and self.tty:
            now = time.monotonic()
            if now - self.last < 0.1 and ev.batch != ev.batches:
                return
            self.last = now
            w = 30
            done = int(w * ev.batch / max(1, ev.batches))
            bar = "█" * done + "·" * (w - done)
            sys.stderr.write(
                f"\r  epoch {ev.epoch} [{bar}] {ev.batch}/{ev.batches}  loss {ev.loss:.4f}  "
                f"{ev.samples_per_s:,.0f} samples/s "
            )
            sys.stderr.flush()
        elif isinstance(ev, E.EpochEnded):
            if self.tty:
                sys.stderr.write("\r" + " " * 100 + "\r")
            row = {"epoch": f"{ev.epoch}/{ev.epochs}"}
            for prefix, m in (("train", ev.train), ("val", ev.val)):
                for k in ("loss", "accuracy", "f1", "mse", "mae", "r2"):
                    if k in m:
                        row[f"{prefix} {k}"] = f"{m[k]:.4f}"
            row["lr"] = f"{ev.lr:.3g}"
            row["s"] = f"{ev.seconds:.2f}"
            if not self.cols:
                self.cols = list(row)
                print("  ".join(c.rjust(max(len(c), 8)) for c in self.cols), flush=True)
            print("  ".join(row.get(c, "").rjust(max(len(c), 8)) for c in self.cols), flush=True)
        elif isinstance(ev, E.InitReport):
            print(f"init_from: {ev.summary()}", flush=True)
        elif isinstance(ev, E.Failed) and self.tty:
            sys.stderr.write("\n")


def _worker_args(args: argparse.Namespace) -> list[str]:
    """The ``train`` arguments each worker runs: the parsed options, without the launch's."""
    out = [args.file]
    flags = ("epochs", "device", "out", "resume", "seed", "teacher", "teacher_checkpoint")
    for flag in (*flags, "init_from"):
        value = getattr(args, flag)
        if value is not None:
            out += [f"--{flag.replace('_', '-')}", str(value)]
    if args.quiet:
        out.append("--quiet")
    return out


def _launch(args: argparse.Namespace) -> int:
    """Run this command again as N workers under torchrun and wait for them."""
    if args.nproc_per_node < 1 or args.nnodes < 1 or not 0 <= args.node_rank < args.nnodes:
        raise CliError("--nproc-per-node and --nnodes must be at least 1, and --node-rank "
                       "between 0 and nnodes - 1", EXIT_PROBLEMS)  # fmt: skip
    load(args.file)  # a project that cannot be read fails here, once, not in N workers
    opts = LaunchOptions(
        args.nproc_per_node, args.nnodes, args.node_rank, args.master_addr, args.master_port,
        args.rdzv_endpoint,
    )  # fmt: skip
    code, reason = launch(opts, _worker_args(args))
    if code != 0:
        why = reason or f"the workers exited with code {code}"
        print(f"error: {args.file}: {why}", file=sys.stderr)
        return code if code in (EXIT_PROBLEMS, EXIT_UNREADABLE, 130) else EXIT_PROBLEMS
    return EXIT_OK


def _train(args: argparse.Namespace) -> int:
    if getattr(args, "nproc_per_node", 0) and not from_env().enabled:
        return _launch(args)
    dist = from_env()
    g = load(args.file)
    settings: dict[str, Any] = {}
    if args.seed is not None:
        settings["seed"] = args.seed
    if args.init_from:  # relative to where the command runs, as every path on its line
        settings["init_from"] = os.path.abspath(args.init_from)
    teacher = None
    if bool(args.teacher) != bool(args.teacher_checkpoint):
        raise CliError("--teacher and --teacher-checkpoint go together", EXIT_PROBLEMS)
    if args.teacher:
        if not os.path.exists(args.teacher_checkpoint):
            raise CliError(f"{args.teacher_checkpoint}: no such checkpoint", EXIT_UNREADABLE)
        teacher = Teacher(load(args.teacher), args.teacher_checkpoint)
    s = TrainingSession(
        g,
        out_dir=args.out,
        epochs=args.epochs,
        device=args.device,
        resume=args.resume,
        settings=settings or None,
        teacher=teacher,
    )
    log = None
    if dist.is_main:
        s.subscribe(_Printer(args.quiet))
        if os.environ.get(EVENTS_ENV):  # a ProcessSession reads rank 0's events from here
            log = EventLog(os.environ[EVENTS_ENV])
            s.subscribe(log)
    if dist.enabled:  # torchrun's SIGTERM (another rank failed, or Ctrl-C): stop at a batch
        import signal

        signal.signal(signal.SIGTERM, lambda *_: s.stop())
    try:
        res = s.run()
    finally:
        if log is not None:
            log.close()
    if res is None:
        assert s.failure is not None
        reason = s.failure.reason
        report_failure(dist.rank, reason)
        print(f"error: {args.file}: {reason}", file=sys.stderr)
        return EXIT_UNREADABLE if s.failure.kind == "data" else EXIT_PROBLEMS
    if not dist.is_main:
        return EXIT_OK
    word = "stopped" if res.stopped else "done"
    print(f"{word}: test {_fmt_metrics(res.test_metrics)}")
    print(f"run folder: {res.run_dir} (metrics.json, history.csv, best.pt, last.pt)")
    return EXIT_OK


def _evaluate(args: argparse.Namespace) -> int:
    g = load(args.file)
    if not os.path.exists(args.checkpoint):
        raise CliError(f"{args.checkpoint}: no such checkpoint", EXIT_UNREADABLE)
    try:
        m = evaluate(g, args.checkpoint, split=args.split, device=args.device)
    except TrainError as e:
        raise CliError(str(e), _code(e)) from None
    m = {k: v for k, v in m.items() if k not in ("y_true", "y_pred")}
    if args.json:
        print(json.dumps(m, indent=2))
    else:
        print(f"{args.split}: {_fmt_metrics(m)}")
        if "confusion_matrix" in m:
            print("confusion matrix (rows: true class, columns: predicted):")
            for row in m["confusion_matrix"]:
                print("  " + " ".join(f"{v:5d}" for v in row))
    return EXIT_OK


def _predict(args: argparse.Namespace) -> int:
    g = load(args.file)
    if not os.path.exists(args.checkpoint):
        raise CliError(f"{args.checkpoint}: no such checkpoint", EXIT_UNREADABLE)
    if not os.path.exists(args.input):
        raise CliError(f"{args.input}: no such file or folder", EXIT_UNREADABLE)
    try:
        pred = predict(g, args.checkpoint, args.input, device=args.device)
    except TrainError as e:
        raise CliError(str(e), EXIT_UNREADABLE) from None
    for w in pred.warnings:
        print(f"warning: {w}", file=sys.stderr)
    import csv
    import io

    rows = pred.to_rows()
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(buf.getvalue())
        print(f"wrote {len(rows)} predictions to {args.output}")
    else:
        sys.stdout.write(buf.getvalue())
    return EXIT_OK


def _code(e: Any) -> int:
    """2 for an input that cannot be read or used (a damaged checkpoint, missing data)."""
    if getattr(e, "kind", None) == "data":
        return EXIT_UNREADABLE
    low = str(e).lower()
    if "no such" in low or "not a readable" in low or "cannot be read" in low:
        return EXIT_UNREADABLE
    return EXIT_PROBLEMS
