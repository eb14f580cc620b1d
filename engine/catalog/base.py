"""Node type declarations: the one place a node type is described.

Palette, property editors, validator, compiler, project files and docs all read a
``NodeSpec``; nothing else re-declares ports or parameters.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.errors import TorchwireError

Shape = tuple[int, ...]
ParamType = Literal[
    "int", "float", "bool", "str", "choice", "ints", "shape", "floats", "strs", "path"
]
Kind = Literal["io", "model", "data", "loss", "optimizer"]
# the types a study can search: numbers, choices and true/false (free text and paths cannot)
TUNABLE_TYPES = ("int", "float", "ints", "choice", "bool")


class ParamError(TorchwireError, ValueError):
    """A parameter value that its declaration refuses; the message is for the user."""


@dataclass(frozen=True)
class Param:
    """A typed parameter: what the property editor shows and what the validator enforces.

    ``ctor`` says whether the value is passed to the torch constructor under ``name``.
    ``length`` applies to ``ints``: a single int or a list of exactly that many ints.
    """

    name: str
    type: ParamType
    default: Any
    doc: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    optional: bool = False
    length: int | None = None
    ctor: bool = True
    allow_minus_one: bool = False
    # (other parameter, its values that make this one matter): e.g. ``("lr_schedule",
    # ("step",))``; otherwise the property editor hides it and ``torchwire nodes`` says when
    # it applies. Declared once here, read by both.
    enabled_if: tuple[str, tuple[Any, ...]] | None = None
    # False: not a value a study searches (a file's layout, the task's kind, a data-cleaning
    # switch, where training runs); no "tune" box, and a tuning target naming it is refused.
    tune: bool = True
    # (low, high): where this value usually lies; the tuner's first range for it, and the
    # range a lint names when the value is far outside it.
    usual: tuple[float, float] | None = None

    @property
    def tunable(self) -> bool:
        """Whether a study may search this parameter (its type and its declaration)."""
        return self.tune and self.type in TUNABLE_TYPES

    def enabled(self, params: Mapping[str, Any]) -> bool:
        """Whether this parameter has an effect given the node's other ``params``."""
        if self.enabled_if is None:
            return True
        other, values = self.enabled_if
        return params.get(other) in values

    def applies_when(self) -> str:
        """``enabled_if`` in words ("" when it always applies)."""
        if self.enabled_if is None:
            return ""
        other, values = self.enabled_if
        return f"only when {other} is " + " or ".join(
            str(v).lower() if isinstance(v, bool) else str(v) for v in values
        )

    def coerce(self, value: Any) -> Any:
        """Return ``value`` in canonical form, or raise ParamError saying what is wrong."""
        if value is None:
            if self.optional:
                return None
            raise ParamError(f"{self.name}: a value is required")
        t = self.type
        if t == "bool":
            if isinstance(value, bool):
                return value
            raise ParamError(f"{self.name}: expected true or false, got {value!r}")
        if t == "int":
            return self._check_range(self._as_int(value))
        if t == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ParamError(f"{self.name}: expected a number, got {value!r}")
            try:
                v = float(value)
            except OverflowError:
                raise ParamError(f"{self.name}: {value} is too large a number") from None
            if math.isnan(v) or math.isinf(v):
                raise ParamError(f"{self.name}: expected a finite number, got {value!r}")
            return self._check_range(v)
        if t in ("str", "path"):
            if not isinstance(value, str):
                raise ParamError(f"{self.name}: expected text, got {value!r}")
            return value
        if t == "choice":
            assert self.choices is not None
            if value not in self.choices:
                opts = ", ".join(repr(c) for c in self.choices)
                raise ParamError(f"{self.name}: {value!r} is not one of {opts}")
            return value
        if t == "ints":
            if isinstance(value, (list, tuple)):
                items = [self._check_range(self._as_int(v)) for v in value]
                if self.length is not None and len(items) != self.length:
                    raise ParamError(
                        f"{self.name}: expected one number or {self.length} numbers, "
                        f"got {len(items)}"
                    )
                if len(set(items)) == 1 and self.length is not None:
                    return items[0]
                return items
            return self._check_range(self._as_int(value))
        if t == "shape":
            if not isinstance(value, (list, tuple)):
                raise ParamError(f"{self.name}: expected a list of sizes, got {value!r}")
            items = [self._as_int(v) for v in value]
            for v in items:
                if v == -1 and self.allow_minus_one:
                    continue
                if v < (self.min if self.min is not None else 1):
                    raise ParamError(f"{self.name}: sizes must be positive, got {list(items)}")
            if self.allow_minus_one and items.count(-1) > 1:
                raise ParamError(f"{self.name}: at most one size may be -1")
            return items
        if t == "floats":
            if not isinstance(value, (list, tuple)):
                raise ParamError(f"{self.name}: expected a list of numbers, got {value!r}")
            out = []
            for v in value:
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise ParamError(f"{self.name}: expected numbers, got {v!r}")
                try:
                    f = float(v)
                except OverflowError:
                    raise ParamError(f"{self.name}: {v} is too large a number") from None
                if math.isnan(f) or math.isinf(f):
                    raise ParamError(f"{self.name}: expected finite numbers, got {v!r}")
                out.append(self._check_range(f))
            return out
        if t == "strs":
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise ParamError(f"{self.name}: expected a list of names, got {value!r}")
            return list(value)
        raise AssertionError(f"unknown parameter type {t}")

    def _as_int(self, value: Any) -> int:
        if isinstance(value, bool):
            raise ParamError(f"{self.name}: expected a whole number, got {value!r}")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if not isinstance(value, int):
            raise ParamError(f"{self.name}: expected a whole number, got {value!r}")
        return value

    def _check_range(self, v: Any) -> Any:
        if self.min is not None and v < self.min:
            raise ParamError(f"{self.name}: must be at least {_fmt(self.min)}, got {_fmt(v)}")
        if self.max is not None and v > self.max:
            raise ParamError(f"{self.name}: must be at most {_fmt(self.max)}, got {_fmt(v)}")
        return v

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "type": self.type, "default": self.default}
        for k in ("doc", "min", "max", "choices", "optional", "length"):
            v = getattr(self, k)
            if v not in (None, False, ""):
                d[k] = list(v) if isinstance(v, tuple) else v
        if self.enabled_if is not None:
            d["enabled_if"] = {"param": self.enabled_if[0], "values": list(self.enabled_if[1])}
        return d


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


@dataclass(frozen=True)
class Port:
    """A named port. ``multi`` input ports take any number of edges, in edge order.

    An ``optional`` tensor input may stay unconnected (an initial state, a mask); the
    node's ``call`` then gets ``None`` for it.

    ``kind`` tells what flows: ``tensor`` inside a model, ``data`` from datasets through
    preprocessing, ``target`` for labels into a loss, ``loss`` into an optimizer.
    """

    name: str
    kind: str = "tensor"
    multi: bool = False
    optional: bool = False
    doc: str = ""
    # the dtype this input takes when it differs from the node's ``input_dtype`` (a mask)
    dtype: Literal["float", "long", "any"] | None = None


def _default_call(m: str | None, ins: Sequence[str], out: str, params: dict[str, Any]) -> list[str]:
    return [f"{out} = {m}({', '.join(ins)})"]


# call(module, inputs, outputs, params): ``inputs`` holds one variable name per connected
# tensor input (``None`` for an optional input left unconnected); ``outputs`` is one name
# (a ``str``) for a node type with one output port, else a tuple with one name per live
# output port (``_`` for an output nothing reads).
CallFn = Callable[[str | None, Sequence[Any], Any, dict[str, Any]], list[str]]
InferFn = Callable[[Sequence[Shape], dict[str, Any]], Any]
ValidateFn = Callable[[dict[str, Any], Sequence[Shape], Sequence[str]], list[str]]


@dataclass(frozen=True)
class NodeSpec:
    """Everything about one node type.

    ``module`` is the torch class (or one of ours) the node builds; ``infer`` fills the
    constructor's input-size arguments from the per-sample input shapes; ``fixed`` are
    constructor arguments the user never sets (``batch_first=True``). ``call`` renders the
    node's lines of ``forward``: the shape check executes exactly those lines on the meta
    device and the compiler writes them into the generated module, so the two cannot
    disagree. ``ranks`` lists the per-sample input ranks a node accepts, for a clear error.

    Several ``outputs`` make a multi-output node (``a, b = self.split1(x)``). When how many
    are used depends on a parameter (Split's ``sizes``, Chunk's ``chunks``), ``outputs``
    declares the most there can be and ``n_outputs(params)`` says how many are live: the
    first n. Port names stay fixed whatever the parameters, so a wire never points at a
    port that disappears and reappears under another name; one from a port that is not
    live is an error of the check.
    """

    type: str
    category: str
    doc: str
    inputs: tuple[Port, ...] = (Port("input"),)
    outputs: tuple[Port, ...] = (Port("output"),)
    params: tuple[Param, ...] = ()
    kind: Kind = "model"
    group: str = ""
    module: type | None = None
    module_ref: str | None = None
    infer: dict[str, InferFn] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    call: CallFn = _default_call
    ranks: tuple[int, ...] | None = None
    input_dtype: Literal["float", "long", "any"] = "float"
    validate: ValidateFn | None = None
    version: int = 1
    migrate: Callable[[int, dict[str, Any]], dict[str, Any]] | None = None
    exportable: bool = True
    export_note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    n_outputs: Callable[[dict[str, Any]], int] | None = None

    # -- ports --------------------------------------------------------------------------
    @property
    def multi_output(self) -> bool:
        """Whether ``call`` gets a tuple of output names (several output ports declared)."""
        return len(self.outputs) > 1

    def live_outputs(self, params: dict[str, Any]) -> tuple[Port, ...]:
        """The output ports these parameters make live (all, unless ``n_outputs`` says)."""
        if self.n_outputs is None:
            return self.outputs
        return self.outputs[: max(1, min(len(self.outputs), self.n_outputs(params)))]

    # -- parameters -------------------------------------------------------------------
    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def coerce_params(self, values: dict[str, Any]) -> dict[str, Any]:
        """Validate ``values`` against the declaration; unknown names are refused."""
        known = {p.name for p in self.params}
        for k in values:
            if k not in known:
                raise ParamError(
                    f"{self.type} has no parameter {k!r}"
                    + (f" (it has {', '.join(sorted(known))})" if known else "")
                )
        out = {}
        for p in self.params:
            out[p.name] = p.coerce(values[p.name]) if p.name in values else p.default
        return out

    # -- torch object -----------------------------------------------------------------
    @property
    def has_module(self) -> bool:
        return self.module is not None

    def ctor_kwargs(self, params: dict[str, Any], in_shapes: Sequence[Shape]) -> dict[str, Any]:
        """Constructor arguments, in the torch signature's order."""
        kw: dict[str, Any] = {}
        for name, fn in self.infer.items():
            kw[name] = fn(in_shapes, params)
        for p in self.params:
            if p.ctor:
                v = params[p.name]
                kw[p.name] = tuple(v) if isinstance(v, list) and p.type == "ints" else v
        kw.update(self.fixed)
        order = _signature_order(self.module)
        return dict(sorted(kw.items(), key=lambda kv: order.get(kv[0], 1000)))

    def build(self, params: dict[str, Any], in_shapes: Sequence[Shape]) -> Any:
        if self.module is None:
            return None
        return self.module(**self.ctor_kwargs(params, in_shapes))

    def ctor_source(
        self,
        params: dict[str, Any],
        in_shapes: Sequence[Shape],
        exprs: dict[str, str] | None = None,
    ) -> str:
        """``nn.Conv2d(1, 6, kernel_size=5, padding=2)``: arguments equal to torch's defaults left out.

        ``exprs`` gives source expressions for some arguments (a block class passes its
        own constructor arguments through: ``nn.Conv2d(in_channels, channels, …)``).
        """
        assert self.module is not None
        kw = self.ctor_kwargs(params, in_shapes)
        defaults = _signature_defaults(self.module)
        required = _signature_required(self.module)
        args: list[str] = []
        positional = True
        for k, v in kw.items():
            if exprs and k in exprs:
                text = exprs[k]
            elif k in defaults and _same(defaults[k], v):
                positional = False
                continue
            else:
                text = _src(v)
            if positional and k in required:
                args.append(text)
            else:
                positional = False
                args.append(f"{k}={text}")
        ref = self.module_ref or f"nn.{self.module.__name__}"
        return f"{ref}({', '.join(args)})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "category": self.category,
            "group": self.group,
            "kind": self.kind,
            "doc": self.doc,
            "inputs": [p.__dict__ for p in self.inputs],
            "outputs": [p.__dict__ for p in self.outputs],
            "params": [p.to_dict() for p in self.params],
            "inferred": list(self.infer),
            "version": self.version,
            "exportable": self.exportable,
        }


def _src(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return repr(v)
    if isinstance(v, list):
        return repr(tuple(v))
    return repr(v)


def _same(a: Any, b: Any) -> bool:
    if type(a) is bool or type(b) is bool:
        return a is b
    try:
        return bool(a == b)
    except Exception:
        return False


_sig_cache: dict[Any, inspect.Signature | None] = {}


def _sig(cls: Any) -> inspect.Signature | None:
    if cls not in _sig_cache:
        try:
            sig = inspect.signature(cls)
            if any(p.kind == p.VAR_POSITIONAL for p in sig.parameters.values()):
                # RNN/LSTM/GRU take *args: read the real signature from RNNBase.
                import torch.nn as nn

                sig = inspect.signature(nn.RNNBase.__init__)
                params = list(sig.parameters.values())[2:]  # drop self, mode
                if cls is nn.RNN:
                    nl = inspect.Parameter(
                        "nonlinearity", inspect.Parameter.KEYWORD_ONLY, default="tanh"
                    )
                    params = [p for p in params if p.kind != p.KEYWORD_ONLY] + [nl]
                sig = sig.replace(parameters=params)
            _sig_cache[cls] = sig
        except (TypeError, ValueError):
            _sig_cache[cls] = None
    return _sig_cache[cls]


def _signature_order(cls: Any) -> dict[str, int]:
    sig = _sig(cls)
    if sig is None:
        return {}
    return {name: i for i, name in enumerate(sig.parameters)}


def _signature_defaults(cls: Any) -> dict[str, Any]:
    sig = _sig(cls)
    if sig is None:
        return {}
    return {
        n: p.default for n, p in sig.parameters.items() if p.default is not inspect.Parameter.empty
    }


def _signature_required(cls: Any) -> set[str]:
    sig = _sig(cls)
    if sig is None:
        return set()
    return {
        n
        for n, p in sig.parameters.items()
        if p.default is inspect.Parameter.empty and p.kind == p.POSITIONAL_OR_KEYWORD
    }


def signature_names(cls: Any) -> set[str]:
    """Parameter names of a torch class's constructor (tests check ours against it)."""
    sig = _sig(cls)
    return set(sig.parameters) if sig is not None else set()
