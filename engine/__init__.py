"""Torchwire's engine: catalog, graph, check, compile, projects; no Qt here."""

from engine.check import Diagnostic, Report, check
from engine.compile import compile_model
from engine.graph import Edge, Graph, GraphError, Node
from engine.project import ProjectError, load_project, save_project

__version__ = "0.1.0"

__all__ = [
    "Diagnostic",
    "Edge",
    "Graph",
    "GraphError",
    "Node",
    "ProjectError",
    "Report",
    "check",
    "compile_model",
    "load_project",
    "save_project",
]
