"""The search space of a study: what may be tuned, within which limits, and how it is saved.

A ``Dimension`` names a target, ``NODE.PARAM`` (a node's id or name, then one of its
declared parameters) or ``training.SETTING``, and either a numeric range (low, high, log,
step) or a list of choices. The catalog's declarations are the limits: a range outside a
parameter's declared min/max, or a choice its declaration refuses, is a ``TuneError``
that says which target and why.

The space lives in the project, ``settings["tuning"]``::

    {"space": [{"target": "linear.out_features", "low": 8, "high": 64, "step": 8},
               {"target": "adam.lr", "low": 1e-4, "high": 0.1, "log": true},
               {"target": "training.epochs", "choices": [10, 20]}],
     "sampler": "tpe", "pruner": "auto", "trials": 20, "timeout": null,
     "direction": "auto", "seed": null}

This module is plain Python (no Optuna): the project loader checks that section with
``check_tuning_settings`` and the designer's editor reads the limits from here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.catalog.base import TUNABLE_TYPES, Param, ParamError
from engine.catalog.settings import TRAINING_SETTINGS
from engine.errors import TorchwireError

SAMPLERS = ("tpe", "random", "grid", "cmaes")
# "auto": no pruner for a grid (it evaluates every point), the median pruner otherwise
PRUNERS = ("auto", "none", "median", "hyperband")
DIRECTIONS = ("auto", "minimize", "maximize")
TRAINING = "training"
# A grid over a range with a step enumerates at most this many values per dimension.
MAX_GRID_VALUES = 1000
BIG = 1e12  # the bound of a range whose declaration has none
_DIM_KEYS = {"target", "low", "high", "log", "step", "choices"}
_TUNING_KEYS = {"space", "sampler", "pruner", "trials", "timeout", "direction", "seed"}
NUMERIC = ("int", "float")


class TuneError(TorchwireError, ValueError):
    """A study that cannot run as asked: a target, range, sampler or storage that is wrong."""


@dataclass(frozen=True)
class Dimension:
    """One tuned value: a range (``low``..``high``, ``log``, ``step``) or ``choices``."""

    target: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] | None = None

    @property
    def is_range(self) -> bool:
        return self.choices is None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"target": self.target}
        if self.choices is not None:
            d["choices"] = list(self.choices)
            return d
        d["low"], d["high"] = self.low, self.high
        if self.log:
            d["log"] = True
        if self.step is not None:
            d["step"] = self.step
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Dimension:
        """A dimension from its saved form; its structure is checked, not its target."""
        if not isinstance(d, Mapping):
            raise TuneError(f"a tuned value must be an object, got {_kind(d)}")
        target = d.get("target")
        if not isinstance(target, str) or "." not in target:
            raise TuneError(
                f"a tuned value needs a 'target' NODE.PARAM or training.SETTING, got {target!r}"
            )
        unknown = sorted(set(d) - _DIM_KEYS)
        if unknown:
            raise TuneError(
                f"{target}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_DIM_KEYS))})"
            )
        if "choices" in d:
            ch = d["choices"]
            if not isinstance(ch, list | tuple) or not ch:
                raise TuneError(f"{target}: 'choices' must be a non-empty list, got {_kind(ch)}")
            if any(k in d for k in ("low", "high", "log", "step")):
                raise TuneError(f"{target}: give either choices or a range (low, high), not both")
            for c in ch:
                if c is not None and not isinstance(c, bool | int | float | str):
                    raise TuneError(
                        f"{target}: a choice must be a number, text or true/false, got {_kind(c)}"
                    )
            if len(set(map(_key, ch))) != len(ch):
                raise TuneError(f"{target}: a choice is given twice")
            return cls(target, choices=tuple(ch))
        low, high = d.get("low"), d.get("high")
        for name, v in (("low", low), ("high", high)):
            if not _number(v):
                raise TuneError(f"{target}: '{name}' must be a number, got {_kind(v)}")
        if low > high:  # type: ignore[operator]
            raise TuneError(f"{target}: low ({low:g}) is above high ({high:g})")
        log = d.get("log", False)
        if not isinstance(log, bool):
            raise TuneError(f"{target}: 'log' must be true or false, got {_kind(log)}")
        step = d.get("step")
        if step is not None and (not _number(step) or step <= 0):
            raise TuneError(f"{target}: 'step' must be a positive number, got {_kind(step)}")
        if log and step is not None:
            raise TuneError(f"{target}: a range is either log or stepped, not both")
        if log and low <= 0:  # type: ignore[operator]
            raise TuneError(f"{target}: a log range needs low above 0, got {low:g}")
        return cls(target, float(low), float(high), log, None if step is None else float(step))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Resolved:
    """A dimension checked against its declaration: where it goes and what type it is."""

    dim: Dimension
    node: str | None  # the node id; None for a training setting
    param: Param

    @property
    def name(self) -> str:
        return self.dim.target

    @property
    def kind(self) -> str:
        """``int``/``float`` for a range, else ``choice``."""
        if self.dim.choices is not None:
            return "choice"
        return "int" if self.param.type in ("int", "ints") else "float"

    def grid_values(self) -> list[Any]:
        """Every value a grid visits: the choices, or a stepped (int: step 1) range."""
        d = self.dim
        if d.choices is not None:
            return list(d.choices)
        step = d.step if d.step is not None else (1.0 if self.kind == "int" else None)
        if step is None:
            raise TuneError(
                f"{d.target}: a grid needs choices, or a step for a float range "
                f'(e.g. {d.target}={_fmt(d.low)}:{_fmt(d.high)} with "step", or A,B,C)'
            )
        n = math.floor((d.high - d.low) / step + 1e-9) + 1  # type: ignore[operator]
        if n > MAX_GRID_VALUES:
            raise TuneError(
                f"{d.target}: a grid of {n} values is too large (at most {MAX_GRID_VALUES})"
            )
        vals = [d.low + i * step for i in range(n)]  # type: ignore[operator]
        return [round(v) for v in vals] if self.kind == "int" else [round(v, 12) for v in vals]


def find_target(graph: Any, target: str) -> tuple[str | None, Param]:
    """(node id or None, declaration) of ``NODE.PARAM`` / ``training.SETTING``, or TuneError."""
    where, _, pname = target.rpartition(".")
    if not where or not pname:
        raise TuneError(f"{target}: a target is NODE.PARAM or training.SETTING")
    nid: str | None
    if where == TRAINING and where not in graph.nodes:
        nid, params = None, TRAINING_SETTINGS
        label = "the training settings have"
    else:
        if where in graph.nodes:
            nid = where
        else:
            nid = next((n.id for n in graph.nodes.values() if n.name == where), None)
            if nid is None:
                raise TuneError(f"{target}: no node {where!r} in the project")
        params = graph.nodes[nid].spec.params
        label = f"{graph.nodes[nid].type} has"
    p = next((p for p in params if p.name == pname), None)
    if p is None:
        known = ", ".join(q.name for q in params)
        raise TuneError(f"{target}: {label} no parameter {pname!r} (known: {known})")
    if not p.tunable:
        if p.type in TUNABLE_TYPES:
            raise TuneError(f"{target}: {pname} is not a value to tune ({p.doc})")
        raise TuneError(
            f"{target}: a {p.type} parameter cannot be tuned (numbers, choices, true/false)"
        )
    return nid, p


def resolve(graph: Any, dims: Sequence[Dimension]) -> list[Resolved]:
    """Check every dimension against the project's declarations; TuneError says why not."""
    out: list[Resolved] = []
    seen: set[tuple[str | None, str]] = set()
    if not dims:
        raise TuneError(
            "nothing to tune: give at least one --space (or mark parameters in the designer)"
        )
    for d in dims:
        nid, p = find_target(graph, d.target)
        if (nid, p.name) in seen:
            raise TuneError(f"{d.target}: tuned twice")
        seen.add((nid, p.name))
        out.append(Resolved(check_limits(d, p), nid, p))
    return out


def check_limits(d: Dimension, p: Param) -> Dimension:
    """``d`` with its choices in canonical form, if the declaration ``p`` allows it all."""
    if d.choices is not None:
        vals = []
        for c in d.choices:
            try:
                vals.append(p.coerce(c))
            except (ParamError, TypeError, ValueError) as e:
                raise TuneError(
                    f"{d.target}: the choice {c!r} is outside the declared limits ({e})"
                ) from None
            if isinstance(vals[-1], list):
                raise TuneError(f"{d.target}: choices must be single values")
        return Dimension(d.target, choices=tuple(vals))
    if p.type not in NUMERIC and p.type != "ints":
        opts = f" ({', '.join(map(repr, p.choices))})" if p.choices else ""
        raise TuneError(f"{d.target}: a {p.type} parameter takes choices{opts}, not a range")
    for v in (d.low, d.high):
        try:
            p.coerce(int(v) if p.type != "float" and float(v).is_integer() else v)  # type: ignore[arg-type]
        except (ParamError, TypeError, ValueError) as e:
            raise TuneError(
                f"{d.target}: the range {_fmt(d.low)}…{_fmt(d.high)} is outside the declared limits ({e})"
            ) from None
    if p.type != "float":
        if not (float(d.low).is_integer() and float(d.high).is_integer()):  # type: ignore[arg-type]
            raise TuneError(f"{d.target}: a whole-number parameter needs a whole-number range")
        if d.step is not None and not float(d.step).is_integer():
            raise TuneError(f"{d.target}: a whole-number parameter needs a whole-number step")
    return d


def effective_pruner(sampler: str, pruner: str) -> str:
    """The pruner a study uses: ``auto`` is none for a grid (a grid evaluates every point
    unless a pruner is asked for by name) and the median pruner for any other sampler."""
    if pruner != "auto":
        return pruner
    return "none" if sampler == "grid" else "median"


@dataclass(frozen=True)
class Plan:
    """Where a study stands: ``total`` is the number of finished trials it should hold
    (``trials``), so a continued study runs only the rest; trials other workers are
    running count as places taken."""

    finished: int
    running: int
    total: int

    @property
    def more(self) -> int:
        """The trials still to start."""
        return max(0, self.total - self.finished - self.running)

    def describe(self) -> str:
        """The plan in a sentence, for the command line and the designer."""
        if not self.finished and not self.running:
            return f"{self.total} trials will run (trials is the study's total)"
        held = f"the study holds {self.finished} finished trial{'s' * (self.finished != 1)}"
        if self.running:
            held += f" ({self.running} running)"
        if self.more:
            return f"{held}; {self.more} more will run to reach {self.total} in total"
        return (
            f"{held}; trials {self.total} is a total, so none more will run "
            f"(ask for more than {self.finished + self.running})"
        )


def default_dimension(target: str, p: Param, value: Any) -> Dimension:
    """The first range tried when a parameter is marked for tuning: its declared usual
    range (the same one its lint warns outside of), else around its value, within its
    declared limits."""
    lo_lim = p.min if p.min is not None else -BIG
    hi_lim = p.max if p.max is not None else BIG
    if p.type == "float" and p.usual is not None:
        lo, hi = max(lo_lim, p.usual[0]), min(hi_lim, p.usual[1])
        return Dimension(target, float(lo), float(max(lo, hi)), log=lo > 0)
    if p.type == "float":
        v = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
        if v > 0:
            lo, hi, log = max(lo_lim, v / 10), min(hi_lim, v * 10), True
            if lo <= 0:
                lo, log = lo_lim, False
        else:
            lo, hi, log = max(lo_lim, 0.0), min(hi_lim, 1.0), False
        return Dimension(target, float(lo), float(max(lo, hi)), log=log and lo > 0)
    if p.type in ("int", "ints"):
        v = value if isinstance(value, int) and not isinstance(value, bool) else 1
        lo, hi = max(lo_lim, v // 2), min(hi_lim, max(v * 2, v + 1))
        return Dimension(target, float(int(lo)), float(int(max(lo, hi))))
    if p.type == "bool":
        return Dimension(target, choices=(False, True))
    if p.choices:
        return Dimension(target, choices=tuple(p.choices))
    return Dimension(target, choices=(value,))


# -- the project's section -------------------------------------------------------------------
def default_tuning() -> dict[str, Any]:
    return {"space": [], "sampler": "tpe", "pruner": "auto", "trials": 20, "timeout": None,
            "direction": "auto", "seed": None}  # fmt: skip


def check_tuning_settings(doc: Any) -> dict[str, Any]:
    """``settings["tuning"]`` checked for structure (targets are checked when tuning)."""
    if not isinstance(doc, Mapping):
        raise TuneError(f"'settings.tuning' must be an object, got {_kind(doc)}")
    unknown = sorted(set(doc) - _TUNING_KEYS)
    if unknown:
        raise TuneError(
            f"'settings.tuning': unknown key {unknown[0]!r} (known: {', '.join(sorted(_TUNING_KEYS))})"
        )
    out = {**default_tuning(), **doc}
    space = out["space"]
    if not isinstance(space, list):
        raise TuneError(f"'settings.tuning.space' must be a list, got {_kind(space)}")
    out["space"] = [Dimension.from_dict(d).to_dict() for d in space]
    for key, allowed in (("sampler", SAMPLERS), ("pruner", PRUNERS), ("direction", DIRECTIONS)):
        if out[key] not in allowed:
            raise TuneError(
                f"'settings.tuning.{key}' must be one of {', '.join(allowed)}, got {out[key]!r}"
            )
    for key, lo in (("trials", 1), ("seed", 0)):
        v = out[key]
        if key == "seed" and v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise TuneError(
                f"'settings.tuning.{key}' must be a whole number of at least {lo}, got {v!r}"
            )
    t = out["timeout"]
    if t is not None and (not _number(t) or t <= 0):
        raise TuneError(
            f"'settings.tuning.timeout' must be a positive number of seconds or null, got {t!r}"
        )
    return out


def space_of(graph: Any) -> list[Dimension]:
    """The dimensions saved in the project (``settings["tuning"]["space"]``)."""
    t = graph.settings.get("tuning") if isinstance(graph.settings, dict) else None
    if not t:
        return []
    return [Dimension.from_dict(d) for d in check_tuning_settings(t)["space"]]


# -- the command line's form -------------------------------------------------------------------
def parse_space(text: str) -> Dimension:
    """``NODE.PARAM=LOW:HIGH[:log]`` or ``NODE.PARAM=LOW:HIGH:STEP`` or ``NODE.PARAM=A,B,C``."""
    target, eq, rhs = text.partition("=")
    target, rhs = target.strip(), rhs.strip()
    if not eq or "." not in target or not rhs:
        raise TuneError(
            f"--space {text!r}: expected NODE.PARAM=LOW:HIGH[:log], NODE.PARAM=A,B,C "
            "or training.SETTING=…"
        )
    if ":" in rhs and "," not in rhs:
        parts = [s.strip() for s in rhs.split(":")]
        if len(parts) not in (2, 3):
            raise TuneError(f"--space {text!r}: a range is LOW:HIGH, LOW:HIGH:log or LOW:HIGH:STEP")
        lo, hi = _parse_value(parts[0]), _parse_value(parts[1])
        d: dict[str, Any] = {"target": target, "low": lo, "high": hi}
        if len(parts) == 3:
            if parts[2].lower() == "log":
                d["log"] = True
            else:
                d["step"] = _parse_value(parts[2])
        return Dimension.from_dict(d)
    return Dimension.from_dict(
        {"target": target, "choices": [_parse_value(s.strip()) for s in rhs.split(",")]}
    )


def merge(saved: Iterable[Dimension], given: Iterable[Dimension]) -> list[Dimension]:
    """The project's dimensions, each replaced by a given one for the same target."""
    given = list(given)
    names = {d.target for d in given}
    return [d for d in saved if d.target not in names] + given


def _parse_value(s: str) -> Any:
    low = s.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "null":  # "none" stays text: it is a choice of several parameters
        return None
    try:
        return int(s)
    except ValueError:
        pass
    try:
        v = float(s)
        if math.isfinite(v):
            return v
    except ValueError:
        pass
    return s


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _key(v: Any) -> tuple[str, Any]:
    return (type(v).__name__, v)


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _kind(v: Any) -> str:
    if isinstance(v, str):
        return f"the text {v[:40]!r}"
    if isinstance(v, list | tuple):
        return "a list"
    if v is None:
        return "nothing"
    return repr(v) if isinstance(v, int | float | bool) else f"a {type(v).__name__}"
