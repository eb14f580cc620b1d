"""The ``torchwire`` command line, Qt-free: ``main`` runs one command, ``build_parser`` makes
the parser (the CLI reference in docs/ is generated from it).

``common`` holds what every command shares; ``main`` the parser and the project commands
(check, lints, compile, nodes); one module per other command group.
"""

from engine.cli.common import (
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_UNREADABLE,
    CliError,
    describe,
    exit_code_for,
    load,
    load_plugins,
    one_line,
)
from engine.cli.main import build_parser, format_report, main

__all__ = [
    "EXIT_OK",
    "EXIT_PROBLEMS",
    "EXIT_UNREADABLE",
    "CliError",
    "build_parser",
    "describe",
    "exit_code_for",
    "format_report",
    "load",
    "load_plugins",
    "main",
    "one_line",
]
