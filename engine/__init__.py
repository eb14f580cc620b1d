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


_LAZY = {
    "export_onnx": "engine.export",
    "export_python": "engine.export",
    "ExportError": "engine.export",
    "TrainingSession": "engine.train",
    "train": "engine.train",
    "evaluate": "engine.train",
    "predict": "engine.train",
    "tune": "engine.tune",
    "import_onnx": "engine.imports",
    "import_module": "engine.imports",
    "ModelImportError": "engine.imports",
}


def __getattr__(name: str) -> object:
    """Training and export load on first use, so ``import engine`` stays light."""
    if name in _LAZY:
        import importlib

        mod = importlib.import_module(_LAZY[name])
        return mod if name == "tune" else getattr(mod, name)  # engine.tune is callable
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
