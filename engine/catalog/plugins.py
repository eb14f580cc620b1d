"""Custom layers: a user's own ``nn.Module`` classes as node types.

Two sources, both chosen by the user on their machine, never by a project file:

- the entry point group ``torchwire.nodes`` of installed packages. Each entry point names
  an ``nn.Module`` subclass (``ScaleShift = "mypkg.layers:ScaleShift"``) or a module,
  whose public ``nn.Module`` subclasses all become node types;
- node folders of ``*.py`` files: the designer's Settings ▸ Node folders, the environment
  variable ``TORCHWIRE_NODE_PATH`` (``os.pathsep``-separated) and the CLI's ``--nodes-dir``.

Discovery is explicit: ``load()`` is called by the CLI and the designer at start-up, never
by ``import engine``, and opening a project never imports anything: a project only records
which plugin types it uses (``records``), so a missing one is one clear error
(``missing_message``).

A node type is read from the class itself: its name is the class name, its parameters come
from the constructor's signature and type hints (``int``, ``float``, ``bool``, ``str``,
``Literal[...]`` → a choice, ``tuple[int, ...]`` → a list of ints, ``X | None`` → optional),
with defaults, and ranges and docs from ``Annotated[int, Range(1, 4096), Doc("...")]``
(``annotated_types.Ge/Le/Gt/Lt/Interval`` work too). The input-size argument is filled from
the arriving shape as torch's own layers are (``in_features``, ``in_channels``,
``num_features``, ``embed_dim``, ``input_size``, or the class's ``torchwire_input_size``).
A constructor argument that no node parameter can hold refuses the whole type, with a
message saying which and why: a node type that silently lost an argument would build a
different layer than its author wrote.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import os
import sys
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from torch import nn

from engine import names
from engine.catalog import registry as catalog
from engine.catalog.base import NodeSpec, Param, ParamError, Port
from engine.catalog.layers import channels, last_dim
from engine.errors import TorchwireError, failure_text

ENTRY_POINT_GROUP = "torchwire.nodes"
NODE_PATH_ENV = "TORCHWIRE_NODE_PATH"
CATEGORY = "Custom"
SETTINGS_HINT = "install it or add its folder in Settings ▸ Node folders"

# Constructor arguments torch's layers take for the size of what arrives, and which
# per-sample dimension they read: the channel dimension (0) or the feature dimension (-1).
INPUT_SIZE_ARGS: dict[str, int] = {
    "in_features": -1,
    "in_channels": 0,
    "num_features": 0,
    "num_channels": 0,
    "embed_dim": -1,
    "input_size": -1,
    "d_model": -1,
}
# torch's factory arguments: never node parameters (the check builds on meta by itself).
_FACTORY_ARGS = ("device", "dtype")
# Keyword arguments of Graph.add: a parameter of that name could not be passed through it.
_RESERVED_PARAMS = ("type_name", "id", "name", "pos")


class PluginError(TorchwireError):
    """A plugin that cannot become a node type; the message names its class and source."""


@dataclass(frozen=True)
class Range:
    """``Annotated[int, Range(1, 4096)]``: the values a node parameter accepts (inclusive)."""

    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Doc:
    """``Annotated[float, Doc("scale of the output")]``: the parameter's doc line."""

    text: str


def torchwire_input_size(*arg_names: str, dim: int = -1) -> Callable[[type], type]:
    """Class decorator: these constructor arguments are the size of per-sample dimension
    ``dim`` of the first input (``-1``: the last, as ``in_features``; ``0``: channels)."""

    def mark(cls: type) -> type:
        cls.torchwire_input_size = {a: dim for a in arg_names}  # type: ignore[attr-defined]
        return cls

    return mark


@dataclass(frozen=True)
class PluginInfo:
    """Where a plugin node type comes from: what a project records and an export imports."""

    type: str
    module: str  # the importable module that defines the class
    class_name: str
    package: str | None = None  # the distribution of an entry point; None for a node folder
    version: str | None = None
    file: str | None = None  # a node folder's file (shown to the user; never imported from)

    def record(self) -> dict[str, Any]:
        """The project file's entry for this type."""
        return {
            "type": self.type,
            "module": self.module,
            "package": self.package,
            "version": self.version,
        }

    def import_line(self) -> str:
        return f"from {self.module} import {self.class_name}"

    def needs(self) -> str:
        """``package mypkg 1.2`` or ``node file scale_shift.py``, for messages and comments."""
        if self.package:
            return f"package {self.package}" + (f" {self.version}" if self.version else "")
        return f"node file {self.file or self.module + '.py'} (a node folder on PYTHONPATH)"

    @property
    def root(self) -> str | None:
        """The ``sys.path`` folder the module was imported from (an export's check adds it)."""
        top = sys.modules.get(self.module.split(".")[0])
        f = getattr(top, "__file__", None)
        if not f:
            return None
        p = Path(f).resolve()
        return str(p.parent.parent if p.name == "__init__.py" else p.parent)


@dataclass
class LoadResult:
    """What ``load`` found: the plugin types now registered, and every plugin refused."""

    types: list[PluginInfo] = field(default_factory=list)
    problems: list[PluginError] = field(default_factory=list)


_LOADED: dict[str, PluginInfo] = {}  # type name -> where it came from
_PROBLEMS: list[PluginError] = []  # of the last load, for the designer's status and errors


# -- discovery ------------------------------------------------------------------------------
def env_folders() -> list[str]:
    """The node folders named by ``TORCHWIRE_NODE_PATH``."""
    return [p for p in os.environ.get(NODE_PATH_ENV, "").split(os.pathsep) if p.strip()]


def load(
    folders: Iterable[str | os.PathLike[str]] = (),
    *,
    entry_points: bool = True,
    use_env: bool = True,
    strict: bool = False,
) -> LoadResult:
    """Register the node types of installed entry points and of the node folders.

    ``folders`` are added to those of ``TORCHWIRE_NODE_PATH`` (``use_env``); afterwards the
    variable names all of them, so worker processes (torchrun, a training subprocess) load
    the same types. Safe to call again (settings changed): types already loaded stay, new
    ones are added. A plugin that cannot be a node type is in ``problems`` (``strict``:
    raised), and the others still load.
    """
    catalog.has("Input")  # the built-in types first: a plugin may not take their names
    result = LoadResult()
    if entry_points:
        for ep in _entry_points():
            _guard(result, lambda ep=ep: _load_entry_point(ep, result))
    all_folders = [*(env_folders() if use_env else []), *(os.fspath(f) for f in folders)]
    seen: list[str] = []
    for folder in all_folders:
        folder = str(Path(folder).expanduser().resolve())
        if folder in seen:
            continue
        seen.append(folder)
        _guard(result, lambda folder=folder: _load_folder(Path(folder), result))
    if seen:
        os.environ[NODE_PATH_ENV] = os.pathsep.join(seen)
    _PROBLEMS[:] = result.problems
    if strict and result.problems:
        raise result.problems[0]
    return result


def _guard(result: LoadResult, fn: Callable[[], None]) -> None:
    try:
        fn()
    except PluginError as e:
        result.problems.append(e)


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    return sorted(
        importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.value, e.name)
    )


def _load_entry_point(ep: importlib.metadata.EntryPoint, result: LoadResult) -> None:
    dist = getattr(ep, "dist", None)
    package = dist.metadata["Name"] if dist is not None else None
    version = dist.version if dist is not None else None
    where = f"entry point {ep.name} = {ep.value!r}" + (f" of {package}" if package else "")
    try:
        obj = ep.load()
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # the package's own code failed (or exited): say whose
        raise PluginError(f"{where} cannot be loaded: {failure_text(e)}") from None
    if isinstance(obj, types.ModuleType):
        classes = _module_classes(obj)
        if not classes:
            raise PluginError(f"{where}: module {obj.__name__} defines no nn.Module class")
    elif isinstance(obj, type) and issubclass(obj, nn.Module):
        classes = [obj]
    else:
        raise PluginError(
            f"{where} names {obj!r}, which is neither an nn.Module class nor a module"
        )
    for cls in classes:
        _guard(result, lambda cls=cls: _register(cls, result, package=package, version=version))


def _load_folder(folder: Path, result: LoadResult) -> None:
    if not folder.is_dir():
        raise PluginError(f"node folder {folder} does not exist", file=str(folder))
    if str(folder) not in sys.path:
        sys.path.append(str(folder))  # after everything installed: a node file shadows nothing
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        _guard(result, lambda path=path: _load_file(path, result))


def _load_file(path: Path, result: LoadResult) -> None:
    stem = path.stem
    if not names.is_identifier(stem):
        raise PluginError(
            f"{path}: a node file's name must be a Python module name", file=str(path)
        )
    spec = importlib.util.find_spec(stem) if stem not in sys.modules else None
    mod = sys.modules.get(stem)
    origin = getattr(mod, "__file__", None) if mod is not None else (spec and spec.origin)
    if not origin or Path(origin).resolve() != path.resolve():
        raise PluginError(
            f"{path}: the module name {stem!r} is already taken by {origin or 'Python'}; "
            "rename the node file",
            file=str(path),
        )
    try:
        mod = importlib.import_module(stem)
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # the user's file failed (or exited): name it and why
        sys.modules.pop(stem, None)
        raise PluginError(f"{path} cannot be loaded: {failure_text(e)}", file=str(path)) from None
    classes = _module_classes(mod)
    for cls in classes:
        _guard(result, lambda cls=cls: _register(cls, result, file=path.name))


def _module_classes(mod: types.ModuleType) -> list[type[nn.Module]]:
    """The public ``nn.Module`` subclasses ``mod`` defines (``__all__`` when it has one)."""
    public = getattr(mod, "__all__", None)
    out = []
    for name, obj in vars(mod).items():
        if public is not None and name not in public:
            continue
        if name.startswith("_") or not isinstance(obj, type) or not issubclass(obj, nn.Module):
            continue
        if obj.__module__ != mod.__name__ or obj.__name__ != name:
            continue  # imported from elsewhere (nn.Linear), or an alias
        out.append(obj)
    return out


def _register(
    cls: type[nn.Module],
    result: LoadResult,
    *,
    package: str | None = None,
    version: str | None = None,
    file: str | None = None,
) -> None:
    info = PluginInfo(cls.__name__, cls.__module__, cls.__name__, package, version, file)
    known = _LOADED.get(info.type)
    if catalog.has(info.type):
        spec = catalog.get(info.type)
        if known is not None and spec.module is cls:
            result.types.append(known)
            return  # loaded before (start-up, then a settings change)
        other = (
            f"the plugin {known.module}.{known.class_name} ({known.needs()})"
            if known is not None
            else f"the built-in node type {info.type} ({spec.category})"
        )
        raise PluginError(
            f"{info.module}.{info.class_name} ({info.needs()}) cannot be a node type: "
            f"its name {info.type} is already taken by {other}"
        )
    catalog.register(spec_for(cls, info))
    _LOADED[info.type] = info
    result.types.append(info)


def register(cls: type[nn.Module], *, package: str | None = None) -> PluginInfo:
    """Make one class a node type from Python (a notebook, a test); PluginError if it
    cannot be one. ``package`` is the distribution a project should name when it is missing."""
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise PluginError(f"{cls!r} is not an nn.Module class")
    result = LoadResult()
    version = None
    if package is not None:
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    _register(cls, result, package=package, version=version)
    return result.types[0]


# -- the node type of a class -------------------------------------------------------------------
def spec_for(cls: type[nn.Module], info: PluginInfo | None = None) -> NodeSpec:
    """The node type of ``cls``, or PluginError saying which argument no parameter can hold."""
    info = info or PluginInfo(cls.__name__, cls.__module__, cls.__name__)
    label = f"{info.module}.{info.class_name}"
    for part in (*info.module.split("."), info.class_name):
        if not names.is_identifier(part):
            raise PluginError(f"{label}: {part!r} is not a Python name")
    if info.class_name in names.reserved():
        raise PluginError(
            f"{label}: the class name {info.class_name} is a name generated code needs; rename it"
        )
    try:
        sig = inspect.signature(cls)
        hints = typing.get_type_hints(cls.__init__, include_extras=True)
    except Exception as e:  # an unresolvable annotation, a C signature
        raise PluginError(f"{label}: its constructor cannot be read ({e})") from e
    sizes = _input_sizes(cls, sig)
    params: list[Param] = []
    for name, p in sig.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or name in sizes:
            continue
        if name in _FACTORY_ARGS and p.default is None:
            continue
        params.append(_param(label, name, hints.get(name, p.annotation), p.default))
    forward = _forward_inputs(cls)
    doc = (cls.__dict__.get("__doc__") or "").strip().splitlines()
    return NodeSpec(
        type=info.type,
        category=CATEGORY,
        group=info.module,
        doc=doc[0].strip() if doc else f"Custom layer {info.class_name} from {info.module}.",
        inputs=tuple(Port(n) for n in forward),
        params=tuple(params),
        module=cls,
        module_ref=info.class_name,
        infer={n: _size_of(d) for n, d in sizes.items()},
        extra={"plugin": info},
    )


def _input_sizes(cls: type, sig: inspect.Signature) -> dict[str, int]:
    declared = getattr(cls, "torchwire_input_size", None)
    if declared is None:
        return {n: d for n, d in INPUT_SIZE_ARGS.items() if n in sig.parameters}
    if isinstance(declared, str):
        declared = {declared: -1}
    elif isinstance(declared, (list, tuple)):
        declared = dict.fromkeys(declared, -1)
    if not isinstance(declared, dict):
        raise PluginError(
            f"{cls.__module__}.{cls.__name__}: torchwire_input_size must name constructor "
            f"arguments, got {declared!r}"
        )
    for n in declared:
        if n not in sig.parameters:
            raise PluginError(
                f"{cls.__module__}.{cls.__name__}: torchwire_input_size names {n!r}, "
                "which the constructor does not take"
            )
    return {str(n): int(d) for n, d in declared.items()}


def _size_of(dim: int) -> Callable[[Sequence[tuple[int, ...]], dict[str, Any]], int]:
    if dim == 0:
        return channels
    if dim == -1:
        return last_dim
    return lambda shapes, _p: shapes[0][dim]


def _forward_inputs(cls: type) -> list[str]:
    """``forward(self, x)`` → one port ``input``; ``forward(self, x, skip)`` → ``x``, ``skip``."""
    try:
        sig = inspect.signature(cls.forward)
    except (TypeError, ValueError):
        return ["input"]
    args = [
        n
        for n, p in list(sig.parameters.items())[1:]
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return ["input"] if len(args) <= 1 else args


_HOLDABLE = "int, float, bool, str, Literal[...] or tuple[int, ...]"


def _param(label: str, name: str, hint: Any, default: Any) -> Param:
    where = f"{label}: constructor argument {name!r}"
    if name in _RESERVED_PARAMS:
        raise PluginError(f"{where}: a node parameter cannot be called {name!r}; rename it")
    has_default = default is not inspect.Parameter.empty
    meta: list[Any] = []
    if typing.get_origin(hint) is typing.Annotated:
        hint, *meta = typing.get_args(hint)
    if hint is inspect.Parameter.empty:
        if not has_default or default is None or not isinstance(default, (int, float, str)):
            raise PluginError(
                f"{where} has no type hint and no default a node can hold; annotate it "
                f"({_HOLDABLE})"
            )
        hint = type(default)
    optional = False
    args = typing.get_args(hint)
    if _is_union(hint) and type(None) in args:
        optional = True
        rest = [a for a in args if a is not type(None)]
        hint = rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]  # noqa: UP007
    kw = _bounds(where, meta)
    ptype, extra = _ptype(where, hint)
    kw.update(extra)
    if not has_default:
        default = _default_for(ptype, kw)
    elif default is None and not optional:
        optional = True
    try:
        param = Param(name, ptype, default, optional=optional, **kw)  # type: ignore[arg-type]
        value = param.coerce(default)
    except ParamError as e:
        raise PluginError(f"{where}: its default {default!r} is not a valid value ({e})") from None
    if isinstance(value, list):
        value = list(value)
    return Param(name, ptype, value, optional=optional, **kw)  # type: ignore[arg-type]


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _ptype(where: str, hint: Any) -> tuple[str, dict[str, Any]]:
    if hint is bool:
        return "bool", {}
    if hint is int:
        return "int", {}
    if hint is float:
        return "float", {}
    if hint is str:
        return "str", {}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        if not args or not all(isinstance(a, (str, int, float, bool)) for a in args):
            raise PluginError(f"{where}: Literal choices must be text or numbers")
        return "choice", {"choices": tuple(args)}
    if origin is tuple and args and all(a is int for a in args if a is not Ellipsis):
        if len(args) == 2 and args[1] is Ellipsis:
            return "ints", {}
        if Ellipsis not in args:
            return "ints", {"length": len(args)}
    if _is_union(hint):  # int | tuple[int, int], as torch's kernel_size
        ints = [a for a in args if a is not int]
        if int in args and len(ints) == 1 and typing.get_origin(ints[0]) is tuple:
            return _ptype(where, ints[0])
    raise PluginError(
        f"{where} has the type {_type_name(hint)}, which a node parameter cannot hold "
        f"(use {_HOLDABLE})"
    )


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) if isinstance(hint, type) else str(hint)  # type: ignore[return-value]


def _bounds(where: str, meta: list[Any]) -> dict[str, Any]:
    """``Range``/``Doc`` of ours, annotated_types' ``Ge/Le/Gt/Lt/Interval``, or a doc text."""
    kw: dict[str, Any] = {}
    for m in meta:
        if isinstance(m, Range):
            if m.min is not None:
                kw["min"] = m.min
            if m.max is not None:
                kw["max"] = m.max
        elif isinstance(m, Doc):
            kw["doc"] = m.text
        elif isinstance(m, str):
            kw["doc"] = m
        else:
            for attr, key, step in (("ge", "min", 0), ("le", "max", 0), ("gt", "min", 1),
                                    ("lt", "max", -1)):  # fmt: skip
                v = getattr(m, attr, None)
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    # Param bounds are inclusive: a strict bound moves by one for ints and
                    # stays (inclusive) for floats.
                    kw[key] = v + step if isinstance(v, int) else v
    if "min" in kw and "max" in kw and kw["min"] > kw["max"]:
        raise PluginError(f"{where}: its range is empty ({kw['min']} > {kw['max']})")
    return kw


def _default_for(ptype: str, kw: dict[str, Any]) -> Any:
    """A required argument's starting value on a new node: the first choice, or 1 in range."""
    if ptype == "choice":
        return kw["choices"][0]
    if ptype == "bool":
        return False
    if ptype == "str":
        return ""
    lo, hi = kw.get("min"), kw.get("max")
    v = 1 if lo is None else max(lo, 1) if hi is None or hi >= 1 else lo
    v = min(v, hi) if hi is not None else v
    if ptype == "float":
        return float(v)
    v = int(v)
    return [v] * kw["length"] if ptype == "ints" and kw.get("length") else v


# -- what projects and exports need -------------------------------------------------------------
def loaded() -> list[PluginInfo]:
    """The plugin types registered in this process."""
    return list(_LOADED.values())


def problems() -> list[PluginError]:
    """The plugins the last ``load`` refused."""
    return list(_PROBLEMS)


def info(type_name: str) -> PluginInfo | None:
    """Where a plugin node type comes from; None for a built-in type."""
    if not catalog.has(type_name):
        return None
    p = catalog.get(type_name).extra.get("plugin")
    return p if isinstance(p, PluginInfo) else None


def used_by(type_names: Iterable[str]) -> list[PluginInfo]:
    """The plugins among ``type_names`` (a graph's node types), each once, in first use."""
    out: dict[str, PluginInfo] = {}
    for t in type_names:
        p = info(t)
        if p is not None and t not in out:
            out[t] = p
    return list(out.values())


def records(type_names: Iterable[str]) -> list[dict[str, Any]]:
    """The project file's ``plugins`` list for a graph's node types."""
    return [p.record() for p in used_by(type_names)]


def missing_message(missing: Sequence[str], recorded: Sequence[dict[str, Any]]) -> str:
    """One sentence naming every missing type and, where the project recorded it, its package."""
    by_type = {r.get("type"): r for r in recorded if isinstance(r, dict)}
    parts = []
    for t in missing:
        r = by_type.get(t) or {}
        pkg, ver, mod = r.get("package"), r.get("version"), r.get("module")
        if pkg:
            parts.append(f"{t} (package {pkg}{' ' + ver if ver else ''})")
        elif mod:
            parts.append(f"{t} (module {mod}, from a node folder)")
        else:
            parts.append(t)
    text = f"needs node type{'s' if len(missing) != 1 else ''} {', '.join(parts)} — {SETTINGS_HINT}"
    if _PROBLEMS:
        text += "; plugins that failed to load: " + "; ".join(str(e) for e in _PROBLEMS[:3])
    return text


def unload(type_names: Iterable[str] | None = None) -> None:
    """Forget plugin types (all by default): for tests, and a node folder removed."""
    for t in list(_LOADED if type_names is None else type_names):
        if t in _LOADED:
            del _LOADED[t]
            catalog.unregister(t)
    _PROBLEMS.clear()


__all__ = [
    "CATEGORY",
    "ENTRY_POINT_GROUP",
    "NODE_PATH_ENV",
    "Doc",
    "LoadResult",
    "PluginError",
    "PluginInfo",
    "Range",
    "env_folders",
    "info",
    "load",
    "loaded",
    "missing_message",
    "problems",
    "records",
    "register",
    "spec_for",
    "torchwire_input_size",
    "unload",
    "used_by",
]
