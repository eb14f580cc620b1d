"""A node's shape, dtype, parameters and MACs, from running its real torch module on the
``meta`` device (through the lines of ``forward`` the compiler writes), cached in memory and
on disk (``engine.analysis.shape_cache``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from engine import catalog
from engine.analysis import shape_cache
from engine.analysis.report import CHECK_BATCH, fmt_shape
from engine.catalog.base import NodeSpec, Shape
from engine.errors import failure_text
from engine.memo import Memo, freeze


class NodeFailure(Exception):
    """torch refused the node; the message is rewritten in the user's terms."""


class Evaluation(NamedTuple):
    """One node run on meta: output shape (per sample) and dtype, weights, cost."""

    shape: Shape  # the first output's
    dtype: torch.dtype
    params: int
    macs: int
    param_bytes: int  # parameters and buffers, as the real module would allocate them
    shapes: tuple[Shape, ...] = ()  # every live output's, in port order
    dtypes: tuple[torch.dtype, ...] = ()


_cache: Memo[Evaluation] = Memo(8192, remember=(NodeFailure,))
_call_fns: dict[tuple[str, ...], Callable[..., Any]] = {}


def call_function(
    spec: NodeSpec, params: dict[str, Any], n_inputs: int, absent: Sequence[int] = ()
) -> Callable[..., Any]:
    """The node's forward lines as a function ``f(m, x0, x1, ...)`` (cached by source).

    The lines hold no user text: the names are fixed here (``m``, ``x0``…, ``y``) and a
    spec's ``call`` puts parameters in only as numbers or ``repr()`` literals. The
    namespace matches the compiled module's imports, so a line that runs here runs there.
    ``absent`` are the optional inputs left unconnected (the call sees ``None`` for them).
    A multi-output node's function returns a tuple, one tensor per live output.
    """
    args = [f"x{i}" for i in range(n_inputs)]
    ins = [None if i in absent else a for i, a in enumerate(args)]
    n_out = len(spec.live_outputs(params))
    outs: Any = tuple(f"y{i}" for i in range(n_out)) if spec.multi_output else "y"
    lines = spec.call("m" if spec.has_module else None, ins, outs, params)
    ret = f"({', '.join(outs)},)" if spec.multi_output else "y"
    key = (*lines, str(n_inputs), ret, *map(str, absent))
    fn = _call_fns.get(key)
    if fn is None:
        body = "\n".join(f"    {ln}" for ln in lines) or "    pass"
        src = f"def _node(m, {', '.join(args)}):\n{body}\n    return {ret}\n"
        ns: dict[str, Any] = {"torch": torch, "nn": torch.nn}
        exec(compile(src, f"<torchwire {spec.type}>", "exec"), ns)
        fn = _call_fns[key] = ns["_node"]
    return fn


def evaluate(
    spec: NodeSpec,
    params: dict[str, Any],
    in_shapes: Sequence[Shape | None],
    in_dtypes: Sequence[torch.dtype | None],
) -> Evaluation:
    """Output shape, dtype, parameter count, MACs and weight bytes of one node, on meta.

    ``None`` in ``in_shapes`` is an optional input left unconnected."""
    key = (
        spec.type,
        catalog.generation(),
        freeze(params),
        tuple(None if s is None else tuple(s) for s in in_shapes),
        tuple(in_dtypes),
    )
    return _cache.get(key, lambda: _evaluate_cached(spec, params, in_shapes, in_dtypes))


def _evaluate_cached(
    spec: NodeSpec,
    params: dict[str, Any],
    in_shapes: Sequence[Shape | None],
    in_dtypes: Sequence[torch.dtype | None],
) -> Evaluation:
    """``_evaluate`` through the disk cache (engine.analysis.shape_cache) for built-in types
    only: a plugin's code can change under the same name, and the disk outlives the process."""
    dk = None
    if shape_cache.enabled() and catalog.builtin(spec):
        dk = shape_cache.key(
            spec.type,
            spec.version,
            params,
            [None if s is None else list(s) for s in in_shapes],
            in_dtypes,
        )
    if dk is not None:
        hit = _from_entry(shape_cache.get(dk))
        if hit is not None:
            return hit
    ev = _evaluate(spec, params, in_shapes, in_dtypes)
    if dk is not None:
        shape_cache.put(
            dk,
            {
                "shape": list(ev.shape),
                "dtype": str(ev.dtype),
                "params": ev.params,
                "macs": ev.macs,
                "bytes": ev.param_bytes,
                "shapes": [list(s) for s in ev.shapes],
                "dtypes": [str(d) for d in ev.dtypes],
            },
        )
    return ev


def _dtype(name: str) -> torch.dtype | None:
    dt = getattr(torch, name.removeprefix("torch."), None)
    return dt if isinstance(dt, torch.dtype) else None


def _from_entry(e: dict[str, Any] | None) -> Evaluation | None:
    if e is None:
        return None
    dtype = _dtype(e["dtype"])
    dtypes = [_dtype(d) for d in e["dtypes"]]
    if dtype is None or any(d is None for d in dtypes):
        return None
    return Evaluation(
        tuple(e["shape"]),
        dtype,
        e["params"],
        e["macs"],
        e["bytes"],
        tuple(tuple(s) for s in e["shapes"]),
        tuple(dtypes),  # type: ignore[arg-type]
    )


def _evaluate(
    spec: NodeSpec,
    params: dict[str, Any],
    in_shapes: Sequence[Shape | None],
    in_dtypes: Sequence[torch.dtype | None],
) -> Evaluation:
    absent = [i for i, s in enumerate(in_shapes) if s is None]
    present = [s for s in in_shapes if s is not None]
    try:
        with torch.device("meta"):
            module = spec.build(params, in_shapes)
        fn = call_function(spec, params, len(in_shapes), absent)
        xs = [
            None if s is None else torch.empty((CHECK_BATCH, *s), dtype=dt, device="meta")
            for s, dt in zip(in_shapes, in_dtypes, strict=True)
        ]
        # Only layers with weights multiply-accumulate (activations and merges count
        # zero MACs by convention), so the others skip the counting mode. No autograd
        # graph is needed for a shape: no_grad makes meta execution ~30% cheaper.
        counting = module is not None and any(True for _ in module.parameters())
        counter = _MacCounter() if counting else _NoCount()
        with torch.no_grad(), counter:
            y = fn(module, *xs)
    except KeyboardInterrupt:
        raise
    except Exception as e:  # torch's own refusal, rewritten for the user
        raise NodeFailure(_explain(e, present)) from None
    except BaseException as e:  # a plugin's code calling sys.exit: its failure, not ours
        raise NodeFailure(f"{_code_of(spec)}: {failure_text(e)}") from None
    ys = list(y) if spec.multi_output else [y]
    for t in ys:
        if not isinstance(t, torch.Tensor):
            raise NodeFailure(f"produces {type(t).__name__}, not a tensor")
        if t.dim() == 0 or t.shape[0] != CHECK_BATCH:
            raise NodeFailure("changes the batch dimension; keep dimension 0 as the batch")
    y = ys[0]
    nparams = nbytes = 0
    if module is not None:
        for p in module.parameters():
            nparams += p.numel()
            nbytes += p.numel() * p.element_size()
        for b in module.buffers():
            nbytes += b.numel() * b.element_size()
    return Evaluation(
        tuple(y.shape[1:]),
        y.dtype,
        int(nparams),
        int(counter.flops // 2 // CHECK_BATCH),
        nbytes,
        tuple(tuple(t.shape[1:]) for t in ys),
        tuple(t.dtype for t in ys),
    )


def _code_of(spec: NodeSpec) -> str:
    """Whose code a node runs: a plugin's module and class, else its node type."""
    plugin = spec.extra.get("plugin")
    return f"{plugin.module}.{plugin.class_name}" if plugin is not None else spec.type


_EXPLAIN = [
    (
        re.compile(
            r"Kernel size can't be greater than actual input size|"
            r"Output size is too small|output size .* is too small",
            re.I,
        ),
        lambda m, s: f"input {fmt_shape(s[0])} is too small for this kernel/stride",
    ),
    (
        re.compile(r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)"),
        lambda m, s: f"input has {m.group(2)} features, but the layer expects {m.group(3)}",
    ),
    (
        re.compile(r"expected .*?(\d+)D.* input.* got .*?(\d+)D", re.I),
        lambda m, s: f"expects {int(m.group(1)) - 1}-D samples, got {fmt_shape(s[0])}",
    ),
]


def _explain(e: Exception, in_shapes: Sequence[Shape]) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    for pattern, fn in _EXPLAIN:
        m = pattern.search(text)
        if m and in_shapes:
            try:
                return fn(m, in_shapes)
            except Exception:
                break
    shapes = ", ".join(fmt_shape(s) for s in in_shapes)
    return f"{text} (input {shapes})" if shapes else text


class _NoCount:
    flops = 0

    def __enter__(self) -> _NoCount:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class _MacCounter(TorchDispatchMode):
    """Counts FLOPs with torch's own per-op formulas; far cheaper than FlopCounterMode."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # torch wraps a mode's __torch_dispatch__ in dynamo.disable, which imports
        # torch._dynamo (seconds) on the first check; the check is never compiled.
        return False

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = _flop_registry().get(func._overloadpacket)
        if formula is not None:
            from torch.utils._pytree import tree_map

            def shape(x: Any) -> Any:
                return x.shape if isinstance(x, torch.Tensor) else x

            self.flops += formula(
                *tree_map(shape, args), **tree_map(shape, kwargs), out_val=tree_map(shape, out)
            )
        return out


_registry: dict[Any, Any] | None = None


def _flop_registry() -> dict[Any, Any]:
    global _registry
    if _registry is None:
        from torch.utils.flop_counter import flop_registry

        _registry = flop_registry
    return _registry
