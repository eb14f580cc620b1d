"""``torchwire runs PROJECT``: a project's runs, their status, metrics and what differs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from engine.cli.common import CliError
from engine.train.runs import format_runs, list_runs


def _runs(args: argparse.Namespace) -> int:
    if not Path(args.file).is_file():
        raise CliError(f"{args.file}: no such file", 2)
    runs = list_runs(args.file, args.root)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": r.name,
                        "path": str(r.path),
                        "started": r.started.isoformat(timespec="seconds"),
                        "status": r.status.value,
                        "epochs": r.epochs,
                        "metrics": r.metrics,
                        "differs": r.differs,
                    }
                    for r in runs
                ],
                indent=2,
            )
        )
    else:
        print(format_runs(runs))
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("runs", help="list a project's runs: date, status, metrics, what differs")
    p.add_argument("file")
    p.add_argument("--root", help="the runs folder (default: runs/ beside the project)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_runs)
