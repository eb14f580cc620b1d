"""The body of a generated ``forward``: lines in op order, locals released after last use.

A forward that gives every node its own local keeps every intermediate tensor alive until
it returns (ResNet-18 at batch 8 peaked at 4.4× a hand-written forward's memory). Like a
hand-written forward, this one reuses a small pool of names (``x``, ``x1``, …): an op's
result takes the name of an input that dies at that op (``x = self.conv1(x)``), else a
free name; a name that dies and is not taken again is ``del``-ed at once. Last uses come
from the op order the compiler already has, so the lines are straight-line code and the
memory they hold at any point is what is still to be read, as in hand-written code.

Only an op rendered as one line may take a dying input's name (Python evaluates the whole
right-hand side before it binds the target); an op of several lines could read an input
after writing its output, so it gets a name that was free before it ran.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine import names

Ref = tuple[str, str]  # (node id, output port)
# render(inputs, outputs) -> lines: outputs is one name, or a tuple of names (multi-output)
Render = Callable[[Sequence[str | None], Any], list[str]]
_POOL = re.compile(r"x\d*\Z")
UNUSED = "_"


@dataclass(frozen=True)
class Op:
    """One node's step of ``forward``.

    ``inputs`` are the refs it reads (``None``: an optional input left unconnected),
    ``outputs`` the refs it makes, in port order; ``multi`` says the render gets a tuple
    of output names. ``alias`` ops (an ``Output``) write no line: their one output is
    their input, under the same name.
    """

    node: str
    inputs: tuple[Ref | None, ...]
    outputs: tuple[Ref, ...]
    render: Render
    multi: bool = False
    alias: bool = False


@dataclass
class Forward:
    lines: list[tuple[str, str]]  # (line without indentation, node id)
    returns: list[str]  # the name holding each returned ref


def write_forward(args: dict[Ref, str], ops: Sequence[Op], returns: Sequence[Ref]) -> Forward:
    """Lines for ``ops`` given the argument names of the input refs; see the module doc."""
    end = len(ops)
    last: dict[Ref, int] = {}
    for i, op in enumerate(ops):
        for r in op.inputs:
            if r is not None:
                last[r] = i
    for r in returns:
        last[r] = end

    env: dict[Ref, str] = dict(args)
    holders: dict[str, set[Ref]] = {}  # name -> the live refs it holds
    for r, n in args.items():
        holders.setdefault(n, set()).add(r)
    is_arg = set(args.values())
    taken = set(is_arg)
    free: list[str] = []  # released names, reused smallest first
    counter = 0

    def new_name() -> str:
        nonlocal counter
        while True:
            n = "x" if counter == 0 else f"x{counter}"
            counter += 1
            if n not in taken and n not in names.reserved():
                taken.add(n)
                return n

    def take_free() -> str:
        if free:
            free.sort(key=_pool_rank)
            return free.pop(0)
        return new_name()

    lines: list[tuple[str, str]] = []
    for i, op in enumerate(ops):
        if op.alias:
            src = op.inputs[0]
            assert src is not None
            name = env[src]
            for r in op.outputs:
                env[r] = name
                holders[name].add(r)
            _release(src, i, last, holders, env)  # the output keeps the name alive
            continue
        in_names = [None if r is None else env[r] for r in op.inputs]
        dying: list[str] = []
        for r in dict.fromkeys(r for r in op.inputs if r is not None):
            if last.get(r) == i:
                n = env[r]
                holders[n].discard(r)
                if not holders[n] and n not in dying:
                    dying.append(n)
        # one line? then a dying input's name may take the result (never an argument's,
        # unless it is a pool name: ``x = self.conv1(x)`` but not ``image = ...(image)``)
        probe = _outs(op, [f"__o{k}" for k in range(len(op.outputs))])
        one_line = len(op.render(in_names, probe)) == 1
        reusable = [n for n in dying if one_line and (n not in is_arg or _POOL.match(n))]
        out_names: list[str] = []
        for r in op.outputs:
            if r not in last:  # nothing reads this output
                out_names.append(UNUSED)
                continue
            n = reusable.pop(0) if reusable else take_free()
            out_names.append(n)
            env[r] = n
            holders.setdefault(n, set()).add(r)
            is_arg.discard(n)
        for text in op.render(in_names, _outs(op, out_names)):
            lines.append((text, op.node))
        released = [n for n in dying if n not in out_names]
        gone = [n for n in released if n not in is_arg]
        if UNUSED in out_names:
            gone.append(UNUSED)
        if gone:
            lines.append((f"del {', '.join(gone)}", op.node))
        free.extend(n for n in released if n not in is_arg or _POOL.match(n))
    return Forward(lines, [env[r] for r in returns])


def _outs(op: Op, out_names: list[str]) -> Any:
    return tuple(out_names) if op.multi else out_names[0]


def _release(
    r: Ref, i: int, last: dict[Ref, int], holders: dict[str, set[Ref]], env: dict[Ref, str]
) -> None:
    if last.get(r) == i:
        holders[env[r]].discard(r)


def _pool_rank(name: str) -> tuple[int, str]:
    m = re.fullmatch(r"x(\d*)", name)
    return (int(m.group(1) or 0), "") if m else (1 << 30, name)
