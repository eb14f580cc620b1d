"""What every ``torchwire`` command shares: exit codes, the one-line error, loading a project,
loading the user's node folders.

Exit codes: 0 success, 1 the project has problems, 2 the input cannot be read or used.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from engine.catalog import plugins
from engine.errors import TorchwireError
from engine.fileio import WriteError
from engine.project import ProjectError, load_project
from engine.train.checkpoint import CheckpointError

EXIT_OK, EXIT_PROBLEMS, EXIT_UNREADABLE = 0, 1, 2


class CliError(Exception):
    """A failure to report in one line, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_UNREADABLE) -> None:
        super().__init__(message)
        self.code = code


def load(path: str) -> Any:
    """The project at ``path``; an unreadable one is a CliError (exit 2) naming the file."""

    try:
        return load_project(path)
    except ProjectError as e:
        raise CliError(str(e), EXIT_UNREADABLE) from None


def one_line(text: str) -> str:
    """A (possibly multi-line) message as one line: "problems:\n  - a\n  - b" → "problems: a; b"."""
    lines = [ln.strip().removeprefix("- ").strip() for ln in str(text).splitlines()]
    lines = [ln for ln in lines if ln]
    if not lines:
        return ""
    head, rest = lines[0], lines[1:]
    return f"{head} {'; '.join(rest)}" if rest else head


def describe(e: BaseException, file: str | None = None) -> str:
    """One line for an error, naming its file (the error's own, else ``file``) first."""

    text = one_line(str(e)) or type(e).__name__
    where = (e.file if isinstance(e, TorchwireError) else None) or file
    if where and where not in text:
        text = f"{where}: {text}"
    return text


def exit_code_for(e: BaseException) -> int:
    """2 when the input (a project, checkpoint, or a file to write) cannot be used, else 1."""
    unreadable = (ProjectError, WriteError, CheckpointError)
    return EXIT_UNREADABLE if isinstance(e, unreadable) else EXIT_PROBLEMS


def load_plugins(folders: Sequence[str]) -> None:
    """Custom layers: installed ``torchwire.nodes`` entry points and the node folders.

    A plugin that cannot be a node type is a warning here (the commands that do not need it
    still run); a project that uses it then fails to open, naming it.
    """

    for problem in plugins.load(folders).problems:
        print(f"warning: {one_line(str(problem))}", file=sys.stderr)
