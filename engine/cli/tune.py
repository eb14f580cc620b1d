"""``torchwire tune``: a study from the command line, one progress line per trial.

Exit codes as everywhere: 0 the study ran (failed or pruned trials are part of a study),
1 it cannot run (a space outside the declared limits, an unknown target, no trial
completed), 2 an input (the project, the storage) cannot be read. Never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.catalog.tuning import PRUNERS, SAMPLERS
from engine.cli.common import EXIT_OK, EXIT_PROBLEMS, EXIT_UNREADABLE, CliError, load
from engine.runtime.device import DEVICE_CHOICES
from engine.tune.study import StorageError, Study, format_table, safe_url

EPILOG = """\
spaces: NODE.PARAM=LOW:HIGH (a range), NODE.PARAM=LOW:HIGH:log, NODE.PARAM=LOW:HIGH:STEP,
NODE.PARAM=A,B,C (choices; also how to give a grid), training.SETTING=... for a training
setting. NODE is a node's id or name. Spaces saved in the project (settings.tuning) are used
too; a --space for the same target replaces the saved one.
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "tune",
        help="tune hyperparameters with Optuna: grid, random, TPE or CMA-ES search",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file")
    p.add_argument("--space", action="append", default=[], metavar="TARGET=RANGE|CHOICES")
    p.add_argument("--trials", type=int, help="finished trials the study should hold in total, "
                   "a continued study runs only the rest (default: the project's, or every "
                   "grid point)")  # fmt: skip
    p.add_argument("--sampler", choices=SAMPLERS)
    p.add_argument("--pruner", choices=PRUNERS,
                   help="auto: none for a grid (every point is evaluated), else median")  # fmt: skip
    p.add_argument(
        "--timeout", type=float, metavar="S", help="stop starting trials after S seconds"
    )
    p.add_argument("--study", metavar="NAME", help="study name (an existing one continues)")
    p.add_argument("--storage", metavar="URL",
                   help="Optuna RDB URL (default sqlite:///DIR/study.db)")  # fmt: skip
    p.add_argument("--out", metavar="DIR", help="output folder (default runs/tune-<name>)")
    p.add_argument("--direction", choices=("auto", "minimize", "maximize"))
    p.add_argument("--epochs", type=int, help="override the project's epochs in every trial")
    p.add_argument("--device", choices=DEVICE_CHOICES)
    p.add_argument("--seed", type=int, help="the sampler's seed")
    p.add_argument("--quiet", action="store_true", help="no per-trial lines")
    p.set_defaults(func=_tune)


class _Progress:
    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def __call__(self, row: dict[str, Any], s: dict[str, Any]) -> None:
        if self.quiet:
            return
        w = 20
        k, n = s["done"], max(1, s["trials"])
        bar = "#" * min(w, w * k // n) + "-" * (w - min(w, w * k // n))
        v = row["value"]
        val = f"{v:.4g}" if v is not None else "-"
        best = (
            "-" if s["best_value"] is None else f"{s['best_value']:.4g} (trial {s['best_trial']})"
        )
        extra = f"  {row['error']}" if row["error"] else ""
        print(
            f"[{bar}] {k}/{s['trials']}  trial {row['number']} {row['state']} {s['monitor']} {val}"
            f"  best {best}{extra}",
            flush=True,
        )


def _tune(args: argparse.Namespace) -> int:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    g = load(args.file)
    st = Study(
        g, args.space, trials=args.trials, sampler=args.sampler, pruner=args.pruner,
        timeout=args.timeout, study=args.study, storage=args.storage, out=args.out,
        direction=args.direction, epochs=args.epochs, device=args.device, seed=args.seed,
        on_trial=_Progress(args.quiet),
    )  # fmt: skip
    print(
        f"tuning {args.file}: {st.sampler_name} sampler, {st.pruner_name} pruner, "
        f"{st.trials} trials, {st.direction} {st.monitor}; study {st.study_name!r} in "
        f"{safe_url(st.storage_url)}",
        flush=True,
    )
    try:
        print(st.plan().describe(), flush=True)
        res = st.run()
    except StorageError as e:  # an input that cannot be used: exit 2, like a bad project
        raise CliError(str(e), EXIT_UNREADABLE) from None
    names = [r.name for r in st.dims]
    print(format_table(res, names))
    print(f"trials: {res.csv_path}")
    if res.importances:
        print("importances: " + ", ".join(f"{k} {v:.2f}" for k, v in res.importances.items()))
    elif res.importance_note:
        print(f"importances: {res.importance_note}")
    if res.stopped:
        print("stopped", file=sys.stderr)
    if res.best_trial is None:
        print(f"error: {args.file}: no trial completed", file=sys.stderr)
        return EXIT_PROBLEMS
    params = ", ".join(f"{k}={_fmt(v)}" for k, v in res.best_params.items())
    print(f"best: trial {res.best_trial} {res.monitor} {res.best_value:.6g} with {params}")
    print(f"best project: {res.best_path}")
    return EXIT_OK


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)
