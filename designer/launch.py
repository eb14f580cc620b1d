"""The ``torchwire`` entry point: engine subcommands run without Qt; otherwise the app opens.

``torchwire check FILE`` and friends never import Qt; ``torchwire`` and ``torchwire FILE``
start the designer. A word that is neither a command nor a file (a typo) is an error, never
a window waiting for nothing; so is opening the designer where there is no display.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path


def _commands() -> list[str]:
    from engine.cli import build_parser

    return sorted(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def no_display() -> bool:
    """On Linux, whether a window could not be shown: no X or Wayland display and no Qt
    platform chosen (``QT_QPA_PLATFORM=offscreen`` renders without one)."""
    if not sys.platform.startswith("linux"):
        return False
    env = os.environ
    return not (env.get("QT_QPA_PLATFORM") or env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def _run_app(args: list[str]) -> int:
    if no_display():
        print(
            "torchwire: no display to open the designer on (neither DISPLAY nor "
            "WAYLAND_DISPLAY is set); the commands work without one: torchwire --help",
            file=sys.stderr,
        )
        return 2
    from designer.app import run

    return run(args)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        return _run_app(args)
    first = args[0]
    if first.lower().endswith(".json") and Path(first).is_file():
        # the app: show the window before torch loads (engine.cli would import it first)
        return _run_app(args)
    commands = _commands()
    if first in commands or first in ("-h", "--help"):
        from engine.cli import main as cli_main

        return cli_main(args)
    if first.startswith("-") or Path(first).is_file():  # Qt's own options, or any file
        return _run_app(args)
    print(f"torchwire: no such command or file: {first}", file=sys.stderr)
    print("commands: " + ", ".join(commands), file=sys.stderr)
    print("torchwire --help describes them; torchwire FILE.json opens a project", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
