"""``torchwire import MODEL.onnx|pkg.module:factory -o project.json``: the project and its
weights (``project.safetensors`` beside it), with the import's summary.

``--list-ops`` prints the ONNX op table (``--markdown``: the table in docs/guide/import-and-transfer-learning.md, which a test
compares with that page). Exit codes as the rest of the CLI: 0 imported, 1 the model has
unsupported ops (all listed), 2 the model or an output file cannot be read or written.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from engine.cli.common import CliError
from engine.imports import (
    ModelImportError,
    check_import_outputs,
    import_model,
    onnx_op_table,
    save_import,
)

EXIT_OK, EXIT_PROBLEMS, EXIT_UNREADABLE = 0, 1, 2


def register(sub: Any) -> None:
    p = sub.add_parser(
        "import",
        help="import an ONNX file or a PyTorch module (pkg.module:factory) as a project",
        description="Import a trained model as an editable project of catalog nodes; the "
        "weights go to a .safetensors file beside the project. The import is checked "
        "against the original (onnxruntime, or the module) before anything is written.",
    )
    p.add_argument("model", nargs="?", help="MODEL.onnx, or package.module:callable")
    p.add_argument("-o", "--output", help="project file to write (.json)")
    p.add_argument("--input-shape", help="one sample's shape, batch excluded: 3,224,224")
    p.add_argument("--dtype", default="float32", choices=("float32", "int64"))
    p.add_argument(
        "--freeze-all-but-last",
        type=int,
        metavar="N",
        help="freeze every imported layer except the last N (fine-tune only the head)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace the project and weights files if they exist (never the model imported)",
    )
    p.add_argument("--list-ops", action="store_true", help="list the ONNX ops that map")
    p.add_argument("--markdown", action="store_true", help="with --list-ops: a Markdown table")
    p.set_defaults(func=_import)


def op_table_markdown() -> str:
    """The guide's "ONNX op → node type" table, from the importer's own rules."""
    lines = ["| ONNX op | node type | conditions |", "|---|---|---|"]
    for op, types, note in onnx_op_table():
        lines.append(f"| `{op}` | {types} | {note} |")
    return "\n".join(lines) + "\n"


def _shape(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        dims = tuple(int(v) for v in text.replace("x", ",").split(",") if v.strip())
    except ValueError:
        raise CliError(f"--input-shape {text!r}: expected sizes like 3,224,224") from None
    if not dims or any(d < 1 for d in dims):
        raise CliError(f"--input-shape {text!r}: sizes must be positive")
    return dims


def _import(args: argparse.Namespace) -> int:
    if args.list_ops:
        if args.markdown:
            sys.stdout.write(op_table_markdown())
        else:
            for op, types, note in onnx_op_table():
                print(f"{op:<22} {types:<36} {note}")
        return EXIT_OK
    if not args.model or not args.output:
        print("error: give the model and -o project.json (or --list-ops)", file=sys.stderr)
        return EXIT_UNREADABLE
    source = args.model
    is_file = source.lower().endswith(".onnx") or os.path.isfile(source)
    if is_file and not os.path.isfile(source):
        print(f"error: {source}: no such file", file=sys.stderr)
        return EXIT_UNREADABLE
    # before the import (which may take minutes): where it would write is known now
    check_import_outputs(args.output, source if is_file else None, overwrite=args.force)
    if not is_file and ":" in source:
        sys.path.insert(0, os.getcwd())  # the user's own package, as `python -m` would find it
    try:
        result = import_model(source, input_shape=_shape(args.input_shape), dtype=args.dtype)
    except ModelImportError as e:
        print(f"error: {e}", file=sys.stderr)  # the whole list, one op a line
        return EXIT_PROBLEMS
    wpath = save_import(
        result, args.output, freeze_all_but=args.freeze_all_but_last, overwrite=args.force
    )
    print(result.report.summary())
    frozen = sum(1 for n in result.graph.nodes.values() if n.frozen)
    if frozen:
        print(f"frozen: {frozen} layers (all but the last {args.freeze_all_but_last})")
    print(f"wrote {args.output} and {wpath} (the project's init_from)")
    return EXIT_OK
