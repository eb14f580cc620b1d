"""``torchwire compress``: prune, quantize, distill a trained project; print the report.

Exit codes as everywhere: 0 ok, 1 the project cannot be compressed or every variant was
refused (``--max-drop``, 0.05 unless said), 2 an input cannot be read. Never a traceback.
A variant refused beside accepted ones is marked in the table and named on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from engine.cli.common import EXIT_OK, EXIT_PROBLEMS, EXIT_UNREADABLE, CliError, load
from engine.compress import CompressError, compress
from engine.compress.options import DEFAULT_MAX_DROP
from engine.runtime.device import DEVICE_CHOICES


def register(sub: Any) -> None:
    p = sub.add_parser(
        "compress",
        help="prune / quantize / distill a trained project; a table of size, latency, metric",
    )
    p.add_argument("file", help="the trained project")
    p.add_argument(
        "--checkpoint", required=True, metavar="RUN", help="its checkpoint or run folder"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the variants")
    p.add_argument("--prune", type=float, default=0.0, metavar="FRACTION",
                   help="remove this fraction of the weights (or, --structured, of each "
                   "prunable layer's channels)")  # fmt: skip
    p.add_argument("--structured", action="store_true",
                   help="remove whole channels/neurons: a smaller project")  # fmt: skip
    p.add_argument("--norm", type=int, choices=(1, 2), default=1,
                   help="structured: rank channels by their L1 or L2 norm (default 1)")  # fmt: skip
    p.add_argument("--scope", choices=("layer", "global"), default="layer",
                   help="unstructured: the fraction per layer or over all layers")  # fmt: skip
    p.add_argument("--steps", type=int, default=1,
                   help="iterative schedule: prune in this many steps, fine-tuning after each")  # fmt: skip
    p.add_argument("--finetune-epochs", type=int, default=0, metavar="N",
                   help="epochs of training after each pruning step")  # fmt: skip
    p.add_argument(
        "--finetune-lr",
        type=float,
        help="learning rate for fine-tuning (default: the project's optimizer's)",
    )
    p.add_argument("--prune-frozen", action="store_true",
                   help="prune frozen layers too (they are unfrozen for the fine-tune); by "
                   "default they keep their weights")  # fmt: skip
    p.add_argument("--quantize", action="append", default=[],
                   choices=("int8-dynamic", "int8-static", "fp16"),
                   help="quantize the ONNX export (repeat for several)")  # fmt: skip
    p.add_argument("--distill", metavar="STUDENT.json",
                   help="also train this student project against the trained one")  # fmt: skip
    p.add_argument("--distill-epochs", type=int, metavar="N", help="the student's epochs")
    p.add_argument("--max-drop", type=_max_drop, default=DEFAULT_MAX_DROP, metavar="X",
                   help="refuse (do not write) variants whose test accuracy / R² falls by "
                   f"more than X (a fraction: 0.01 is one point; default {DEFAULT_MAX_DROP:g}; "
                   "'none' keeps them all)")  # fmt: skip
    p.add_argument("--device", default="cpu", choices=DEVICE_CHOICES,
                   help="device for fine-tuning and distillation")  # fmt: skip
    p.add_argument("--repeats", type=int, default=30, help="timed runs per variant and batch")
    p.add_argument("--threads", type=int, default=1, help="onnxruntime threads when timing")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=_compress)


def _compress(args: argparse.Namespace) -> int:
    g = load(args.file)
    if not os.path.exists(args.checkpoint):
        raise CliError(f"{args.checkpoint}: no such checkpoint", EXIT_UNREADABLE)
    student = load(args.distill) if args.distill else None
    if args.repeats < 1 or args.threads < 1:
        raise CliError("--repeats and --threads must be at least 1", EXIT_PROBLEMS)

    def progress(text: str) -> None:
        if not args.quiet:
            print(text, file=sys.stderr, flush=True)

    _quiet_ort_warnings()
    try:
        report = compress(
            g, args.checkpoint, args.out, prune=args.prune, structured=args.structured,
            norm=args.norm, scope=args.scope, steps=args.steps,
            finetune_epochs=args.finetune_epochs, finetune_lr=args.finetune_lr,
            prune_frozen=args.prune_frozen,
            quantize_modes=tuple(args.quantize), distill=student,
            distill_epochs=args.distill_epochs, max_drop=args.max_drop, device=args.device,
            repeats=args.repeats, threads=args.threads, progress=progress,
        )  # fmt: skip
    except CompressError as e:
        raise CliError(str(e), EXIT_PROBLEMS) from None
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.table())
        for v in report.variants:
            for note in v.notes:
                print(f"  {v.name}: {note}")
        print(f"report: {os.path.join(args.out, 'report.json')}")
    if report.refused:
        names = ", ".join(v.name for v in report.refused)
        every = len(report.refused) == len(report.variants) - 1
        print(f"{'error' if every else 'warning'}: refused (too lossy for --max-drop "
              f"{args.max_drop:g}), not written: {names}", file=sys.stderr)  # fmt: skip
        if every:
            return EXIT_PROBLEMS
    return EXIT_OK


def _max_drop(text: str) -> float | None:
    """``--max-drop``: a fraction, or ``none`` to keep every variant."""
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a fraction or 'none': {text!r}") from None


def _quiet_ort_warnings() -> None:
    """ONNX Runtime's quantizer logs advice through the root logger; we already follow it."""
    import logging

    logging.getLogger().setLevel(logging.ERROR)
