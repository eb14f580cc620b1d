"""``torchwire export FILE --onnx OUT.onnx | --python OUT.py``: both print the parity report.

Exit codes as the rest of the CLI: 0 exported and proven equal, 1 the project or the export
has problems (nothing written), 2 the project or checkpoint cannot be read. Every failure is
one line naming its file, never a traceback (other errors reach ``engine.cli.main``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from engine.cli.common import describe, load
from engine.export import ExportError, export_onnx, export_python
from engine.train.checkpoint import load_checkpoint

EXIT_OK, EXIT_PROBLEMS, EXIT_UNREADABLE = 0, 1, 2


def register(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="export to ONNX (checked by onnxruntime) or to a standalone PyTorch script",
        description="Export a project's model. Every export is run and compared with torch "
        "before the file is written; the comparison is printed.",
    )
    p.add_argument("file", help="project file (.json)")
    p.add_argument("--onnx", metavar="OUT.onnx", help="write an ONNX model")
    p.add_argument("--python", metavar="OUT.py", help="write a standalone PyTorch script")
    p.add_argument(
        "--checkpoint", help="trained weights: best.pt, last.pt, .safetensors or a run folder"
    )
    p.add_argument("--opset", type=int, help="ONNX opset (default 18; below 18: TorchScript)")
    p.add_argument(
        "--bake-preprocessing",
        action="store_true",
        help="ONNX: the model takes raw features (the checkpoint's statistics inside the graph)",
    )
    p.add_argument(
        "--with-training",
        action="store_true",
        help="Python: add the data loading, preprocessing and training loop",
    )
    p.add_argument("--tolerance", type=float, help="largest absolute difference allowed (1e-4)")
    p.add_argument("--json", action="store_true", help="print the parity report(s) as JSON")
    p.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    if not args.onnx and not args.python:
        print("error: say what to write: --onnx OUT.onnx and/or --python OUT.py", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.bake_preprocessing and not args.onnx:
        print("error: --bake-preprocessing applies to --onnx", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.with_training and not args.python:
        print("error: --with-training applies to --python", file=sys.stderr)
        return EXIT_UNREADABLE
    graph = load(args.file)  # CliError (exit 2) when unreadable
    ckpt = None
    if args.checkpoint:
        try:
            ckpt = load_checkpoint(args.checkpoint)
        except Exception as e:  # CheckpointError, or anything torch says of a bad file
            print(f"error: {describe(e, args.checkpoint)}", file=sys.stderr)
            return EXIT_UNREADABLE
    extra: dict[str, Any] = {}
    if args.tolerance is not None:
        extra["tolerance"] = args.tolerance
    progress = None if args.json else _progress
    reports = []
    try:
        if args.onnx:
            reports.append(
                export_onnx(
                    graph,
                    args.onnx,
                    checkpoint=ckpt,
                    opset=args.opset,
                    bake_preprocessing=args.bake_preprocessing,
                    progress=progress,
                    **extra,
                )
            )
        if args.python:
            reports.append(
                export_python(
                    graph,
                    args.python,
                    checkpoint=ckpt,
                    with_training=args.with_training,
                    progress=progress,
                    **extra,
                )
            )
    except ExportError as e:
        if args.json:
            print(json.dumps({"ok": False, "error": str(e), "node": e.node}, indent=2))
        else:
            print(f"{args.file}: export failed: {describe(e)}", file=sys.stderr)
        return EXIT_PROBLEMS
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=2))
    else:
        for r in reports:
            print(r)
            print(f"wrote {r.path}")
    return EXIT_OK if all(r.ok for r in reports) else EXIT_PROBLEMS


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
