"""The node catalog: one ``NodeSpec`` per node type, looked up by type name.

Importing the package registers every built-in node type (the declaration modules are
imported here, the one place that knows them); ``registry`` holds the lookups.
"""

from engine.catalog import data, layers, tensors, training
from engine.catalog.base import Kind, NodeSpec, Param, ParamError, Port, Shape
from engine.catalog.registry import (
    CATEGORIES,
    all_specs,
    builtin,
    by_kind,
    generation,
    get,
    has,
    register,
    seal_builtins,
    unregister,
)

DECLARATIONS = (layers, tensors, data, training)
seal_builtins()

__all__ = [
    "CATEGORIES",
    "DECLARATIONS",
    "Kind",
    "NodeSpec",
    "Param",
    "ParamError",
    "Port",
    "Shape",
    "all_specs",
    "builtin",
    "by_kind",
    "generation",
    "get",
    "has",
    "register",
    "unregister",
]
