"""``torchwire blocks list FILE``: the blocks of a block library or project file."""

from __future__ import annotations

import argparse
from typing import Any

from engine.project.library import blocks_of_file, describe


def register(sub: Any) -> None:
    """``torchwire blocks list FILE`` ."""
    p = sub.add_parser("blocks", help="blocks of a block library or project file")
    bs = p.add_subparsers(dest="blocks_command", metavar="ACTION", required=True)
    q = bs.add_parser("list", help="list the blocks: name, version, inputs, parameters")
    q.add_argument("file")
    q.set_defaults(func=_list_command)


def _list_command(args: argparse.Namespace) -> int:
    for b in blocks_of_file(args.file):
        print(describe(b))
    return 0
