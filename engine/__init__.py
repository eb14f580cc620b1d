"""Torchwire's engine: catalog, graph, check, compile, projects, training; no Qt here.

Nothing is imported until it is used (PEP 562), so ``import engine`` and the parts that
must stay light (the model server that bundles ship without torch) import no more than
they need. ``docs/architecture.md`` shows the layers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_WHERE = {
    "Diagnostic": "engine.analysis.report",
    "Report": "engine.analysis.report",
    "check": "engine.analysis.check",
    "compile_model": "engine.build.compile",
    "Edge": "engine.graph",
    "Graph": "engine.graph",
    "GraphError": "engine.graph",
    "Node": "engine.graph",
    "ProjectError": "engine.project",
    "load_project": "engine.project",
    "save_project": "engine.project",
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

__all__ = [
    "Diagnostic",
    "Edge",
    "ExportError",
    "Graph",
    "GraphError",
    "ModelImportError",
    "Node",
    "ProjectError",
    "Report",
    "TrainingSession",
    "check",
    "compile_model",
    "evaluate",
    "export_onnx",
    "export_python",
    "import_module",
    "import_onnx",
    "load_project",
    "predict",
    "save_project",
    "train",
    "tune",
]

if TYPE_CHECKING:
    from engine.analysis.check import check
    from engine.analysis.report import Diagnostic, Report
    from engine.build.compile import compile_model
    from engine.graph import Edge, Graph, GraphError, Node
    from engine.project import ProjectError, load_project, save_project


def __getattr__(name: str) -> Any:
    """Each public name loads its module on first use."""
    if name in _WHERE:
        mod = importlib.import_module(_WHERE[name])
        return mod if name == "tune" else getattr(mod, name)  # engine.tune is callable
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
