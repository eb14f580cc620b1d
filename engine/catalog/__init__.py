"""The node catalog: one ``NodeSpec`` per node type, looked up by type name."""

from __future__ import annotations

from collections.abc import Iterator

from engine.catalog.base import Kind, NodeSpec, Param, ParamError, Port, Shape

_REGISTRY: dict[str, NodeSpec] = {}

# Palette order; a category not listed here goes last.
CATEGORIES = (
    "Datasets",
    "Preprocessing",
    "Input/Output",
    "Layers",
    "Activations",
    "Shape",
    "Merges",
    "Losses",
    "Optimizers",
    "Custom",
)


def register(spec: NodeSpec) -> NodeSpec:
    if spec.type in _REGISTRY:
        raise ValueError(f"node type {spec.type!r} declared twice")
    _REGISTRY[spec.type] = spec
    return spec


def unregister(type_name: str) -> None:
    """Drop a node type (``engine.plugins.unload``: plugin types come and go; built-ins stay)."""
    _REGISTRY.pop(type_name, None)


def get(type_name: str) -> NodeSpec:
    _load()
    try:
        return _REGISTRY[type_name]
    except KeyError:
        raise KeyError(f"unknown node type {type_name!r}") from None


def has(type_name: str) -> bool:
    _load()
    return type_name in _REGISTRY


def all_specs() -> Iterator[NodeSpec]:
    _load()
    order = {c: i for i, c in enumerate(CATEGORIES)}
    yield from sorted(_REGISTRY.values(), key=lambda s: (order.get(s.category, 99), s.group))


def by_kind(kind: Kind) -> list[NodeSpec]:
    return [s for s in all_specs() if s.kind == kind]


_loaded = False


def _load() -> None:
    """Import the declaration modules once; each registers its node types."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib

    for mod in ("layers", "tensors", "data", "training"):
        try:
            importlib.import_module(f"engine.catalog.{mod}")
        except ModuleNotFoundError as e:
            if e.name != f"engine.catalog.{mod}":
                raise


__all__ = [
    "CATEGORIES",
    "Kind",
    "NodeSpec",
    "Param",
    "ParamError",
    "Port",
    "Shape",
    "all_specs",
    "by_kind",
    "get",
    "has",
    "register",
    "unregister",
]
