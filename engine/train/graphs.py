"""A project given as a ``Graph`` or a path, as every entry point of training accepts it."""

from __future__ import annotations

import os

from engine.graph import Graph
from engine.project import ProjectError, load_project
from engine.train.errors import TrainError


def as_graph(graph_or_path: Graph | str | os.PathLike[str]) -> Graph:
    """The graph itself, or the project loaded from the path; an unreadable project is a
    TrainError (kind "data") naming the file."""
    if isinstance(graph_or_path, Graph):
        return graph_or_path
    try:
        return load_project(graph_or_path)
    except ProjectError as e:
        raise TrainError(str(e), kind="data") from None


__all__ = ["as_graph"]
