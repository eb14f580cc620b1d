"""ONNX rules onto the tensor node types: broadcasting arithmetic (with constant operands
as ``Parameter`` nodes), MatMul of two tensors, Split/Slice/Gather, the reductions, the
element-wise menu, HardSigmoid and a zero Pad folded into the following Conv.

Each op is one rule registered in ``onnx_rules.RULES``; the batch dimension of the ONNX
tensor is dimension 0 and is never reduced, sliced or split.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.imports.builder import Unsupported
from engine.imports.onnx_layer_ops import embedding_or_last_step, linear_from_matmul
from engine.imports.onnx_rules import Ctx, as_str, attrs, rule

CONST_NOTE = (
    "constant operands of Add/Sub/Mul/Div/MatMul became Parameter nodes (learned tensors "
    "holding the constant; freeze them to keep them fixed)"
)


def _const_param(ctx: Ctx, c: np.ndarray, rank: int, anchor: str, name: str) -> str:
    """A ``Parameter`` node holding constant ``c`` as it broadcasts against a batched tensor
    of ``rank`` dimensions (the Parameter is expanded over the batch of ``anchor``)."""
    c = np.asarray(c)
    if not np.issubdtype(c.dtype, np.floating):
        c = c.astype(np.float32)
    while c.ndim > rank and c.shape[0] == 1:
        c = c.reshape(c.shape[1:])
    if c.ndim > rank:
        raise Unsupported(f"constant of shape {c.shape} has more dimensions than the tensor")
    full = (1,) * (rank - c.ndim) + tuple(c.shape)
    if full[0] != 1:
        raise Unsupported(
            f"constant of shape {c.shape} differs along the batch dimension (one value per sample)"
        )
    shape = [int(v) for v in full[1:]]
    if not shape:
        raise Unsupported("a constant against a tensor that has only the batch dimension")
    if CONST_NOTE not in ctx.b.report.notes:
        ctx.b.report.notes.append(CONST_NOTE)
    return ctx.b.add("Parameter", [anchor], name, {"weight": c.reshape(shape)}, shape=shape)


def _operands(ctx: Ctx, node: Any) -> tuple[list[str], int]:
    """The node ids of every operand (constants as Parameter nodes) and the output rank."""
    rank = len(ctx.shape(node.output[0]))
    computed = [n for n in node.input if n not in ctx.consts]
    if not computed:
        raise Unsupported("every operand is a constant")
    for n in computed:
        if len(ctx.shape(n)) != rank:
            raise Unsupported(
                f"operand {n} has {len(ctx.shape(n))} dimensions, the result {rank}: "
                "the batch dimension would move"
            )
    anchor = ctx.val[computed[0]]
    srcs = [
        ctx.val[n] if n not in ctx.consts else _const_param(ctx, ctx.consts[n], rank, anchor, n)
        for n in node.input
    ]
    return srcs, rank


def _scalar(ctx: Ctx, node: Any, i: int, rank: int) -> float | None:
    n = node.input[i]
    c = ctx.consts.get(n)
    if c is None or c.size != 1 or c.ndim > rank:
        return None
    return float(np.asarray(c).reshape(()))


def _arith(kind: str) -> Any:
    def fn(ctx: Ctx, node: Any) -> None:
        rank = len(ctx.shape(node.output[0]))
        if len(node.input) == 2 and node.input[0] not in ctx.consts:
            v = _scalar(ctx, node, 1, rank)
            # x + c, x · c and x − c (= x + (−c), exactly) are one Elementwise node; c − x,
            # x / c and c / x would not be exact as scale/shift and take a Parameter.
            how = {"Add": ("shift", v), "Mul": ("scale", v)}.get(kind)
            if kind == "Sub" and v is not None:
                how = ("shift", -v)
            if v is not None and how is not None:
                src = ctx.x(node)
                ctx.put(node, ctx.b.add("Elementwise", [src], node.name, op=how[0], value=how[1]))
                return
        if len(node.input) == 2 and node.input[1] not in ctx.consts and kind in ("Add", "Mul"):
            v = _scalar(ctx, node, 0, rank)
            if v is not None:
                op = "shift" if kind == "Add" else "scale"
                src = ctx.x(node, 1)
                ctx.put(node, ctx.b.add("Elementwise", [src], node.name, op=op, value=v))
                return
        srcs, _ = _operands(ctx, node)
        if len(srcs) == 1:
            ctx.put(node, srcs[0])
            return
        ctx.put(node, ctx.b.add(kind, srcs, node.name))

    return fn


_NOTE = "broadcasting; a constant operand becomes a Parameter (a scalar: Elementwise shift/scale)"
rule("Add", "Add / Elementwise shift / Parameter", _NOTE)(_arith("Add"))
rule("Sum", "Add / Parameter", "as Add")(_arith("Add"))
rule("Mul", "Mul / Elementwise scale / Parameter", _NOTE)(_arith("Mul"))
rule("Sub", "Sub / Elementwise shift / Parameter", "as Add; c − x takes a Parameter")(_arith("Sub"))
rule("Div", "Div / Parameter", "broadcasting; a constant operand becomes a Parameter")(
    _arith("Div")
)


@rule(
    "MatMul",
    "Linear / MatMul",
    "by a constant 2-D weight: Linear (a following Add of a constant bias joins it); "
    "of two tensors: MatMul",
)
def _matmul_any(ctx: Ctx, node: Any) -> None:
    b = ctx.consts.get(node.input[1])
    if b is not None and b.ndim == 2 and node.input[0] not in ctx.consts:
        linear_from_matmul(ctx, node)
        return
    srcs, rank = _operands(ctx, node)
    if rank < 3:
        raise Unsupported("a product of 2-D tensors would multiply across the batch")
    ctx.put(node, ctx.b.add("MatMul", srcs, node.name))


@rule(
    "Gather",
    "Embedding / Select / Slice / LSTM, GRU output='last'",
    "a constant 2-D table by computed ids: Embedding; the last step (axis 1, index -1) of a "
    "one-direction LSTM/GRU's output: its output='last'; one constant index of a computed "
    "tensor (not the batch): Select (a 1-element index list: Slice)",
)
def _gather_any(ctx: Ctx, node: Any) -> None:
    if node.input[0] in ctx.consts:
        embedding_or_last_step(ctx, node)
        return
    if node.input[0] in ctx.val and ctx.val[node.input[0]] in ctx.rnn:
        embedding_or_last_step(ctx, node)  # the last step of a recurrent output
        return
    idx = ctx.c(node, 1)
    shape = ctx.shape(node.input[0])
    axis = int(attrs(node).get("axis", 0)) % len(shape)
    if axis == 0:
        raise Unsupported("gathers along the batch dimension")
    if idx.size != 1 or idx.ndim > 1:
        raise Unsupported(f"indices of shape {idx.shape} (one constant index maps)")
    i = int(idx.reshape(()))
    src = ctx.x(node)
    if idx.ndim == 0:
        ctx.put(node, ctx.b.add("Select", [src], node.name, dim=axis, index=i))
        return
    i %= shape[axis]
    end = None if i + 1 >= shape[axis] else i + 1
    ctx.put(node, ctx.b.add("Slice", [src], node.name, dim=axis, start=i, end=end, step=1))


@rule("Split", "SplitTensor / Chunk", "not the batch; equal parts: Chunk; 2 to 8 parts")
def _split(ctx: Ctx, node: Any) -> None:
    a = attrs(node)
    shape = ctx.shape(node.input[0])
    axis = int(a.get("axis", 0)) % len(shape)
    if axis == 0:
        raise Unsupported("splits the batch dimension")
    size = shape[axis]
    k = len(node.output)
    split = a.get("split")
    if split is None and ctx.opset >= 13:
        c = ctx.c(node, 1, required=False)
        split = None if c is None else [int(v) for v in c.reshape(-1)]
    if split is None:
        k = int(a.get("num_outputs", k))
        each = -(-size // k)
        split = [each] * (k - 1) + [size - each * (k - 1)]
    sizes = [int(v) for v in split]
    if sum(sizes) != size or any(v <= 0 for v in sizes):
        raise Unsupported(f"parts {sizes} of a dimension of {size}")
    src = ctx.x(node)
    if len(sizes) == 1:
        ctx.put(node, src)
        return
    if len(sizes) > 8:
        raise Unsupported(f"{len(sizes)} parts (at most 8)")
    if len(set(sizes)) == 1:
        nid = ctx.b.add("Chunk", [src], node.name, chunks=len(sizes), dim=axis)
    else:
        nid = ctx.b.add("SplitTensor", [src], node.name, dim=axis, sizes=sizes)
    for i, out in enumerate(node.output):
        if out:
            ctx.val[out] = f"{nid}:output{i}"


@rule("Slice", "Slice", "constant starts/ends/axes/steps, positive steps, not the batch")
def _slice(ctx: Ctx, node: Any) -> None:
    shape = ctx.shape(node.input[0])
    rank = len(shape)
    if ctx.opset < 10:
        a = attrs(node)
        starts, ends = list(a["starts"]), list(a["ends"])
        axes = list(a.get("axes", range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts = [int(v) for v in ctx.c(node, 1).reshape(-1)]
        ends = [int(v) for v in ctx.c(node, 2).reshape(-1)]
        c3, c4 = ctx.c(node, 3, required=False), ctx.c(node, 4, required=False)
        axes = list(range(len(starts))) if c3 is None else [int(v) for v in c3.reshape(-1)]
        steps = [1] * len(starts) if c4 is None else [int(v) for v in c4.reshape(-1)]
    src = ctx.x(node)
    for s, e, ax, st in zip(starts, ends, axes, steps, strict=True):
        ax %= rank
        if st <= 0:
            raise Unsupported(f"step {st} (only positive steps map)")
        size = shape[ax]
        start, stop, step = slice(int(s), int(e), int(st)).indices(size)
        if (start, stop, step) == (0, size, 1):
            continue
        if ax == 0:
            raise Unsupported("slices the batch dimension")
        if stop <= start:
            raise Unsupported(f"the slice {s}:{e}:{st} is empty")
        end = None if stop >= size else stop
        src = ctx.b.add("Slice", [src], node.name, dim=ax, start=start, end=end, step=step)
    ctx.put(node, src)


def _reduce(op: str) -> Any:
    def fn(ctx: Ctx, node: Any) -> None:
        a = attrs(node)
        rank = len(ctx.shape(node.input[0]))
        keep = bool(a.get("keepdims", 1))
        axes = a.get("axes")
        if axes is None:
            c = ctx.c(node, 1, required=False)
            axes = None if c is None else [int(v) for v in c.reshape(-1)]
        if not axes:
            if axes is not None and a.get("noop_with_empty_axes", 0):
                ctx.put(node, ctx.x(node))
                return
            raise Unsupported("reduces every dimension, the batch too (no axes)")
        dims = sorted({int(d) % rank for d in axes})
        if 0 in dims:
            raise Unsupported("reduces over the batch dimension")
        if not keep and len(dims) == rank - 1:
            raise Unsupported(
                "keepdims=0 over every dimension but the batch leaves no sample shape"
            )
        dim: int | list[int] = dims[0] if len(dims) == 1 else dims
        ctx.put(node, ctx.b.add("Reduce", [ctx.x(node)], node.name, op=op, dim=dim, keepdim=keep))

    return fn


for _onnx, _op in (
    ("ReduceMean", "mean"),
    ("ReduceSum", "sum"),
    ("ReduceMax", "amax"),
    ("ReduceMin", "amin"),
    ("ReduceProd", "prod"),
    ("ReduceLogSumExp", "logsumexp"),
):
    rule(_onnx, f"Reduce ({_op})", "axes as attribute or input; keepdims; not the batch")(
        _reduce(_op)
    )


def _unary(op: str) -> Any:
    def fn(ctx: Ctx, node: Any) -> None:
        ctx.put(node, ctx.b.add("Elementwise", [ctx.x(node)], node.name, op=op))

    return fn


for _onnx, _op in (
    ("Abs", "abs"),
    ("Neg", "neg"),
    ("Exp", "exp"),
    ("Log", "log"),
    ("Sqrt", "sqrt"),
    ("Reciprocal", "reciprocal"),
    ("Sign", "sign"),
    ("Floor", "floor"),
    ("Ceil", "ceil"),
    ("Round", "round"),
    ("Sin", "sin"),
    ("Cos", "cos"),
    ("Erf", "erf"),
):
    rule(_onnx, f"Elementwise ({_op})")(_unary(_op))


@rule("Pow", "Elementwise (pow)", "by one constant exponent")
def _pow(ctx: Ctx, node: Any) -> None:
    e = ctx.c(node, 1)
    if e.size != 1:
        raise Unsupported(f"exponent of shape {e.shape} (one constant exponent maps)")
    v = float(np.asarray(e).reshape(()))
    ctx.put(node, ctx.b.add("Elementwise", [ctx.x(node)], node.name, op="pow", value=v))


@rule("HardSigmoid", "Hardsigmoid", "torch's alpha = 1/6, beta = 0.5 only")
def _hardsigmoid(ctx: Ctx, node: Any) -> None:
    a = attrs(node)
    alpha, beta = float(a.get("alpha", 0.2)), float(a.get("beta", 0.5))
    if abs(alpha - 1 / 6) > 1e-6 or beta != 0.5:
        raise Unsupported(f"alpha={alpha:g}, beta={beta:g} (torch's Hardsigmoid is 1/6, 0.5)")
    ctx.put(node, ctx.b.add("Hardsigmoid", [ctx.x(node)], node.name))


@rule(
    "Pad",
    "(folded into the next Conv)",
    "constant zero padding of spatial dims whose only user is a Conv: added to its pads",
)
def _pad(ctx: Ctx, node: Any) -> None:
    a = attrs(node)
    mode = as_str(a.get("mode", "constant"))
    if mode != "constant":
        raise Unsupported(f"{mode} padding (no Pad node type)")
    rank = len(ctx.shape(node.input[0]))
    if ctx.opset < 11:
        pads = [int(v) for v in a.get("pads", a.get("paddings", []))]
        value = float(a.get("value", 0.0))
    else:
        pads = [int(v) for v in ctx.c(node, 1).reshape(-1)]
        c = ctx.c(node, 2, required=False)
        value = 0.0 if c is None or c.size == 0 else float(c.reshape(-1)[0])
        axes = ctx.c(node, 3, required=False)
        if axes is not None:
            full = [0] * (2 * rank)
            for k, ax in enumerate(int(v) % rank for v in axes.reshape(-1)):
                full[ax], full[rank + ax] = pads[k], pads[len(axes.reshape(-1)) + k]
            pads = full
    if value != 0 or math.isnan(value):
        raise Unsupported(f"padding with {value:g} (no Pad node type; only zeros fold into a Conv)")
    begin, end = pads[:rank], pads[rank:]
    if begin[:2] != [0, 0] or end[:2] != [0, 0] or min(pads) < 0:
        raise Unsupported(f"pads {pads} touch the batch or channel dimension, or crop")
    users = ctx.consumers.get(node.output[0], [])
    if (
        len(users) != 1
        or node.output[0] in ctx.graph_outputs
        or users[0].op_type != "Conv"
        or users[0].input[0] != node.output[0]
        or as_str(attrs(users[0]).get("auto_pad", "NOTSET")) not in ("NOTSET", "")
    ):
        raise Unsupported(
            "no Pad node type: zero padding is folded only into a Conv that is its one user"
        )
    ctx.pad_into[id(users[0])] = begin[2:] + end[2:]
    ctx.put(node, ctx.x(node))
