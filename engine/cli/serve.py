"""``torchwire serve`` and ``torchwire bundle``.

Exit codes as everywhere: 0 ok (``serve``: after SIGTERM/Ctrl-C, the requests in flight
answered), 1 the model cannot be exported or served (or the address is taken), 2 an input
cannot be read (no such file, an unreadable project or checkpoint). Never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from typing import Any

from engine.cli.common import EXIT_OK, EXIT_UNREADABLE, CliError
from engine.serve.bundle import image_tag, write_bundle
from engine.serve.model import DEFAULT_MAX_BATCH, ServedModel, default_name
from engine.serve.prepare import model_file
from engine.serve.server import add_server_options, options, serve


def register(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="serve a model over HTTP (Open Inference Protocol v2 and /predict)",
        description="Serve a trained model on onnxruntime: the KServe v2 / Triton HTTP "
        "endpoints (any client of that protocol works, e.g. tritonclient.http), /predict "
        "for raw feature rows, and the API page at /docs. A run folder or project is "
        "exported first, its preprocessing baked in and the parity check passing.",
    )
    p.add_argument("file", metavar="RUN_DIR|MODEL.onnx|PROJECT")
    p.add_argument("--checkpoint", help="with a project: best.pt, last.pt or a run folder")
    add_server_options(p)
    p.set_defaults(func=_serve)

    p = sub.add_parser(
        "bundle",
        help="write a folder that serves the model anywhere (Dockerfile, Triton, KServe)",
        description="Write the model, a small server, requirements.txt, a Dockerfile and a "
        "README into a new folder; --triton adds a Triton model repository and a KServe "
        "InferenceService.",
    )
    p.add_argument("file", metavar="RUN_DIR|MODEL.onnx|PROJECT")
    p.add_argument("--out", required=True, help="the new folder")
    p.add_argument("--checkpoint", help="with a project: best.pt, last.pt or a run folder")
    p.add_argument("--name", help="model name (default: the project's name)")
    p.add_argument("--triton", action="store_true",
                   help="also write model_repository/ (Triton) and a KServe InferenceService")  # fmt: skip
    p.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH,
                   help=f"largest batch (server and Triton max_batch_size; default {DEFAULT_MAX_BATCH})")  # fmt: skip
    p.set_defaults(func=_bundle)


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _exists(args: argparse.Namespace) -> None:
    if not os.path.exists(args.file):
        raise CliError(f"{args.file}: no such run folder, model or project", EXIT_UNREADABLE)
    if args.checkpoint and not os.path.exists(args.checkpoint):
        raise CliError(f"{args.checkpoint}: no such checkpoint", EXIT_UNREADABLE)


def _model(args: argparse.Namespace, tmp: str) -> Any:
    """An .onnx as it is; a run folder or project exported into ``tmp``."""
    if args.file.lower().endswith(".onnx") and os.path.isfile(args.file) and not args.checkpoint:
        return args.file
    return model_file(args.file, os.path.join(tmp, "model.onnx"), checkpoint=args.checkpoint,
                      progress=_progress)  # fmt: skip


def _serve(args: argparse.Namespace) -> int:
    _exists(args)
    with tempfile.TemporaryDirectory(prefix="torchwire-serve-") as tmp:
        path = _model(args, tmp)
        opts = options(args)
        if not opts["name"]:
            opts["name"] = default_name(args.file, _meta(path))
        serve(str(path), **opts)
    return EXIT_OK


def _meta(path: Any) -> dict[str, str]:
    return ServedModel(path, "model", threads=1).metadata  # a bad model: one clear line


def _bundle(args: argparse.Namespace) -> int:
    _exists(args)
    if args.max_batch < 1:
        raise CliError("--max-batch must be at least 1", EXIT_UNREADABLE)
    with tempfile.TemporaryDirectory(prefix="torchwire-bundle-") as tmp:
        path = _model(args, tmp)
        name = args.name or default_name(args.file, _meta(path))
        b = write_bundle(path, args.out, name=name, triton=args.triton,
                         max_batch=args.max_batch)  # fmt: skip
    tag = image_tag(b.name)
    print(b)
    print(f"  docker build -t {tag} {b.path} && docker run --rm -p 8000:8000 {tag}")
    return EXIT_OK
