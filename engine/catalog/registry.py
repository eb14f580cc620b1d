"""The registry of node types: one ``NodeSpec`` per type name.

The declaration modules (``layers``, ``tensors``, ``data``, ``training``) register their
types here when ``engine.catalog`` is imported; plugins add and remove theirs at run time.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.catalog.base import Kind, NodeSpec

_REGISTRY: dict[str, NodeSpec] = {}
_BUILTIN: dict[str, NodeSpec] = {}  # the types the declaration modules registered
_generation = 0

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
    global _generation
    if spec.type in _REGISTRY:
        raise ValueError(f"node type {spec.type!r} declared twice")
    _REGISTRY[spec.type] = spec
    _generation += 1
    return spec


def unregister(type_name: str) -> None:
    """Drop a node type (``engine.catalog.plugins.unload``: plugin types come and go; built-ins stay)."""
    global _generation
    if _REGISTRY.pop(type_name, None) is not None:
        _generation += 1


def seal_builtins() -> None:
    """Remember the types registered so far as the built-in ones (``engine.catalog`` calls it
    once its declaration modules are imported; whatever registers later is a plugin)."""
    if not _BUILTIN:
        _BUILTIN.update(_REGISTRY)


def builtin(spec: NodeSpec) -> bool:
    """Whether ``spec`` is a built-in type's declaration: what depends only on engine code
    (a node's shape on disk, say) may outlive the process; a plugin's code can change under
    the same name."""
    return _BUILTIN.get(spec.type) is spec


def generation() -> int:
    """Counts registrations and removals: what was computed from a type's declaration
    (a node's shape, say) is stale once this moved, so caches keep it in their keys."""
    return _generation


def get(type_name: str) -> NodeSpec:
    try:
        return _REGISTRY[type_name]
    except KeyError:
        raise KeyError(f"unknown node type {type_name!r}") from None


def has(type_name: str) -> bool:
    return type_name in _REGISTRY


def all_specs() -> Iterator[NodeSpec]:
    order = {c: i for i, c in enumerate(CATEGORIES)}
    yield from sorted(_REGISTRY.values(), key=lambda s: (order.get(s.category, 99), s.group))


def by_kind(kind: Kind) -> list[NodeSpec]:
    return [s for s in all_specs() if s.kind == kind]
