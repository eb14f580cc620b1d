"""The ``torchwire`` entry point: engine subcommands run without Qt; otherwise the app opens.

``torchwire check FILE`` and friends never import Qt; ``torchwire`` and ``torchwire FILE``
start the designer.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].lower().endswith(".json"):
        # the app: show the window before torch loads (engine.cli would import it first)
        from designer.app import run

        return run(args)
    from engine.cli import build_parser

    commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    if args and (args[0] in commands or args[0] in ("-h", "--help")):
        from engine.cli import main as cli_main

        return cli_main(args)
    from designer.app import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
