"""ONNX rules onto the layer node types: convolutions, Gemm and MatMul by a weight, the
normalizations, activations, pooling, Resize, Concat, shape plumbing, LSTM/GRU and Embedding.

Each op is one rule registered in ``onnx_rules.RULES``; ``onnx_tensor_ops`` holds the rules
onto the tensor node types and reuses this module's weight MatMul and constant Gather.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from engine.imports.builder import Unsupported
from engine.imports.onnx_rules import Ctx, Seq, as_str, attrs, rule


def _sym_pads(pads: list[int] | None, dims: int) -> int | list[int]:
    if not pads:
        return 0
    begin, end = list(pads[:dims]), list(pads[dims:])
    if begin != end:
        raise Unsupported(f"asymmetric padding {list(pads)} (Torchwire has no Pad node type)")
    return begin if len(set(begin)) > 1 else begin[0]


def _auto_pads(
    a: dict[str, Any], in_spatial: tuple[int, ...], k: list[int], s: list[int], d: list[int]
) -> list[int] | None:
    mode = as_str(a.get("auto_pad", "NOTSET"))
    if mode in ("NOTSET", ""):
        return a.get("pads")
    if mode == "VALID":
        return None
    total = []
    for n, kk, ss, dd in zip(in_spatial, k, s, d, strict=True):
        out = math.ceil(n / ss)
        total.append(max((out - 1) * ss + (kk - 1) * dd + 1 - n, 0))
    if any(t % 2 for t in total):
        raise Unsupported(f"auto_pad {mode} needs uneven padding {total}")
    half = [t // 2 for t in total]
    return half + half


def _one(v: list[int] | int) -> Any:
    if isinstance(v, list) and len(set(v)) == 1:
        return v[0]
    return v


@rule("Conv", "Conv1d / Conv2d / Conv3d", "by kernel rank; pads must be symmetric")
def _conv(ctx: Ctx, node: Any) -> None:
    a = attrs(node)
    w = ctx.c(node, 1)
    bias = ctx.c(node, 2, required=False)
    dims = w.ndim - 2
    if dims not in (1, 2, 3):
        raise Unsupported(f"{dims}-D convolution")
    k = list(a.get("kernel_shape", w.shape[2:]))
    s = list(a.get("strides", [1] * dims))
    d = list(a.get("dilations", [1] * dims))
    pads = _auto_pads(a, ctx.shape(node.input[0])[2:], k, s, d)
    extra = ctx.pad_into.get(id(node))
    if extra is not None:  # a zero Pad before this Conv (onnx_tensor_ops' Pad rule)
        pads = [p + q for p, q in zip(pads or [0] * (2 * dims), extra, strict=True)]
    weights = {"weight": w} | ({"bias": bias} if bias is not None else {})
    ctx.put(
        node,
        ctx.b.add(
            f"Conv{dims}d",
            [ctx.x(node)],
            node.name,
            weights,
            out_channels=int(w.shape[0]),
            kernel_size=_one(k),
            stride=_one(s),
            padding=_sym_pads(pads, dims),
            dilation=_one(d),
            groups=int(a.get("group", 1)),
            bias=bias is not None,
        ),
    )


@rule("ConvTranspose", "ConvTranspose1d / 2d / 3d", "no output_shape attribute")
def _convt(ctx: Ctx, node: Any) -> None:
    a = attrs(node)
    w = ctx.c(node, 1)
    bias = ctx.c(node, 2, required=False)
    dims = w.ndim - 2
    if dims not in (1, 2, 3):
        raise Unsupported(f"{dims}-D transposed convolution")
    if "output_shape" in a or as_str(a.get("auto_pad", "NOTSET")) not in ("NOTSET", ""):
        raise Unsupported("output_shape / auto_pad (give explicit pads)")
    g = int(a.get("group", 1))
    weights = {"weight": w} | ({"bias": bias} if bias is not None else {})
    ctx.put(
        node,
        ctx.b.add(
            f"ConvTranspose{dims}d",
            [ctx.x(node)],
            node.name,
            weights,
            out_channels=int(w.shape[1]) * g,
            kernel_size=_one(list(a.get("kernel_shape", w.shape[2:]))),
            stride=_one(list(a.get("strides", [1] * dims))),
            padding=_sym_pads(a.get("pads"), dims),
            output_padding=_one(list(a.get("output_padding", [0] * dims))),
            dilation=_one(list(a.get("dilations", [1] * dims))),
            groups=g,
            bias=bias is not None,
        ),
    )


def _linear(
    ctx: Ctx, node: Any, src: str, w: np.ndarray, bias: np.ndarray | None, name: str
) -> str:
    weights = {"weight": w} | ({"bias": bias} if bias is not None else {})
    return ctx.b.add(
        "Linear", [src], name, weights, out_features=int(w.shape[0]), bias=bias is not None
    )


def _bias_vector(c: np.ndarray, n: int) -> np.ndarray:
    if c.size == 1:
        return np.full((n,), c.reshape(()), dtype=c.dtype)
    if c.size == n and c.shape[-1] == n:
        return c.reshape(n)
    raise Unsupported(f"bias of shape {c.shape} is not one value per output feature")


@rule("Gemm", "Linear", "transA=0; alpha/beta folded into the weights")
def _gemm(ctx: Ctx, node: Any) -> None:
    a = attrs(node)
    if a.get("transA", 0):
        raise Unsupported("transA=1")
    if len(ctx.shape(node.input[0])) != 2:
        raise Unsupported("input is not 2-D")
    b = ctx.c(node, 1)
    w = b if a.get("transB", 0) else b.T
    w = w * np.asarray(a.get("alpha", 1.0), dtype=w.dtype)
    c = ctx.c(node, 2, required=False)
    bias = None
    if c is not None:
        bias = _bias_vector(c, w.shape[0]) * np.asarray(a.get("beta", 1.0), dtype=c.dtype)
    ctx.put(node, _linear(ctx, node, ctx.x(node), w, bias, node.name))


def linear_from_matmul(ctx: Ctx, node: Any) -> None:
    """MatMul by a constant 2-D weight: a Linear node (a following Add of a constant bias
    becomes its bias)."""
    b = ctx.c(node, 1)
    if b.ndim != 2:
        raise Unsupported(f"weight of shape {b.shape} is not 2-D")
    src = ctx.x(node)
    out = node.output[0]
    users = ctx.consumers.get(out, [])
    bias, name = None, node.name
    if len(users) == 1 and users[0].op_type == "Add" and out not in ctx.graph_outputs:
        add = users[0]
        other = [i for i in add.input if i != out]
        if len(other) == 1 and other[0] in ctx.consts:
            try:
                bias = _bias_vector(ctx.consts[other[0]], b.shape[1])
            except Unsupported:
                bias = None
            if bias is not None:
                ctx.done.add(id(add))
                ctx.val[add.output[0]] = nid = _linear(ctx, node, src, b.T, bias, name or add.name)
                ctx.put(node, nid)
                return
    ctx.put(node, _linear(ctx, node, src, b.T, None, name))


@rule("BatchNormalization", "BatchNorm1d / 2d / 3d", "kept as its own node (never fused)")
def _bn(ctx: Ctx, node: Any) -> None:
    a = attrs(node)
    if a.get("training_mode", 0):
        raise Unsupported("training_mode=1")
    ctx.unused(node, 1, 2, 3, 4)
    rank = len(ctx.shape(node.input[0]))
    kind = {2: "BatchNorm1d", 3: "BatchNorm1d", 4: "BatchNorm2d", 5: "BatchNorm3d"}.get(rank)
    if kind is None:
        raise Unsupported(f"{rank}-D input")
    w = {
        "weight": ctx.c(node, 1),
        "bias": ctx.c(node, 2),
        "running_mean": ctx.c(node, 3),
        "running_var": ctx.c(node, 4),
    }
    momentum = min(max(1.0 - float(a.get("momentum", 0.9)), 0.0), 1.0)
    ctx.put(
        node,
        ctx.b.add(
            kind, [ctx.x(node)], node.name, w, eps=float(a.get("epsilon", 1e-5)), momentum=momentum
        ),
    )


@rule("InstanceNormalization", "InstanceNorm2d", "affine, 4-D input")
def _inorm(ctx: Ctx, node: Any) -> None:
    if len(ctx.shape(node.input[0])) != 4:
        raise Unsupported("input is not 4-D")
    w = {"weight": ctx.c(node, 1), "bias": ctx.c(node, 2)}
    eps = float(attrs(node).get("epsilon", 1e-5))
    ctx.put(node, ctx.b.add("InstanceNorm2d", [ctx.x(node)], node.name, w, eps=eps, affine=True))


@rule("LayerNormalization", "LayerNorm", "with scale and bias")
def _lnorm(ctx: Ctx, node: Any) -> None:
    a = attrs(node)
    ctx.unused(node, 1, 2)
    rank = len(ctx.shape(node.input[0]))
    axis = int(a.get("axis", -1)) % rank
    if axis == 0:
        raise Unsupported("normalizes over the batch")
    w = {"weight": ctx.c(node, 1), "bias": ctx.c(node, 2)}
    ctx.put(
        node,
        ctx.b.add(
            "LayerNorm",
            [ctx.x(node)],
            node.name,
            w,
            eps=float(a.get("epsilon", 1e-5)),
            normalized_dims=rank - axis,
        ),
    )


def _simple(op: str, type_name: str, note: str = "", **fixed: Any) -> None:
    def fn(ctx: Ctx, node: Any) -> None:
        ctx.put(node, ctx.b.add(type_name, [ctx.x(node)], node.name, **fixed))

    rule(op, type_name, note)(fn)


for _op, _t in (
    ("Relu", "ReLU"),
    ("Sigmoid", "Sigmoid"),
    ("Tanh", "Tanh"),
    ("Softsign", "Softsign"),
):
    _simple(_op, _t)
_simple("HardSwish", "Hardswish")
_simple("Mish", "Mish")
_simple("Softplus", "Softplus", "torch's linear region above 20 differs by < 1e-8")


@rule("LeakyRelu", "LeakyReLU")
def _leaky(ctx: Ctx, node: Any) -> None:
    alpha = float(attrs(node).get("alpha", 0.01))
    ctx.put(node, ctx.b.add("LeakyReLU", [ctx.x(node)], node.name, negative_slope=alpha))


@rule("Elu", "ELU")
def _elu(ctx: Ctx, node: Any) -> None:
    ctx.put(
        node,
        ctx.b.add("ELU", [ctx.x(node)], node.name, alpha=float(attrs(node).get("alpha", 1.0))),
    )


@rule("Celu", "CELU")
def _celu(ctx: Ctx, node: Any) -> None:
    ctx.put(
        node,
        ctx.b.add("CELU", [ctx.x(node)], node.name, alpha=float(attrs(node).get("alpha", 1.0))),
    )


@rule("Selu", "SELU", "torch's fixed alpha and gamma only")
def _selu(ctx: Ctx, node: Any) -> None:
    a = attrs(node)
    if (
        abs(a.get("alpha", 1.67326) - 1.6732632) > 1e-4
        or abs(a.get("gamma", 1.0507) - 1.0507010) > 1e-4
    ):
        raise Unsupported("alpha/gamma differ from torch's SELU constants")
    ctx.put(node, ctx.b.add("SELU", [ctx.x(node)], node.name))


@rule("Gelu", "GELU", "approximate none or tanh")
def _gelu(ctx: Ctx, node: Any) -> None:
    approx = as_str(attrs(node).get("approximate", "none"))
    ctx.put(node, ctx.b.add("GELU", [ctx.x(node)], node.name, approximate=approx))


@rule("PRelu", "PReLU", "one slope, or one per channel")
def _prelu(ctx: Ctx, node: Any) -> None:
    slope = ctx.c(node, 1)
    shape = ctx.shape(node.input[0])
    full = (1,) * (len(shape) - slope.ndim) + tuple(slope.shape)
    if ctx.opset < 7 and slope.ndim == 1 and len(shape) >= 2 and slope.size == shape[1]:
        full = (1, slope.size) + (1,) * (len(shape) - 2)  # before opset 7: per channel
    if slope.size != 1 and (
        len(shape) < 2 or any(v != 1 for i, v in enumerate(full) if i != 1) or full[1] != shape[1]
    ):
        raise Unsupported(f"slope of shape {slope.shape} is not one per channel")
    ctx.put(
        node,
        ctx.b.add(
            "PReLU",
            [ctx.x(node)],
            node.name,
            {"weight": slope.reshape(-1)},
            num_parameters=int(slope.size),
        ),
    )


@rule("Clip", "ReLU6 / ReLU / Hardtanh", "by the bounds: [0, 6], [0, ∞), else finite [min, max]")
def _clip(ctx: Ctx, node: Any) -> None:
    a = attrs(node)
    if ctx.opset < 11:
        lo, hi = float(a.get("min", -math.inf)), float(a.get("max", math.inf))
    else:
        c1, c2 = ctx.c(node, 1, required=False), ctx.c(node, 2, required=False)
        lo = float(c1) if c1 is not None else -math.inf
        hi = float(c2) if c2 is not None else math.inf
    src = ctx.x(node)
    if lo == 0 and hi == 6:
        nid = ctx.b.add("ReLU6", [src], node.name)
    elif lo == 0 and hi == math.inf:
        nid = ctx.b.add("ReLU", [src], node.name)
    elif math.isfinite(lo) and math.isfinite(hi):
        nid = ctx.b.add("Hardtanh", [src], node.name, min_val=lo, max_val=hi)
    else:
        raise Unsupported(f"clip to [{lo}, {hi}]")
    ctx.put(node, nid)


def _softmax(type_name: str) -> Callable[[Ctx, Any], None]:
    def fn(ctx: Ctx, node: Any) -> None:
        shape = ctx.shape(node.input[0])
        rank = len(shape)
        axis = int(attrs(node).get("axis", -1 if ctx.opset >= 13 else 1)) % rank
        if ctx.opset < 13 and any(v != 1 for v in shape[axis + 1 :]):
            raise Unsupported(
                f"opset {ctx.opset} {node.op_type} over the flattened dims {axis}.. (not one dim)"
            )
        if axis == 0:
            raise Unsupported("over the batch dimension")
        ctx.put(node, ctx.b.add(type_name, [ctx.x(node)], node.name, dim=axis))

    return fn


rule("Softmax", "Softmax", "axis → dim")(_softmax("Softmax"))
rule("LogSoftmax", "LogSoftmax", "axis → dim")(_softmax("LogSoftmax"))


def _pool(ctx: Ctx, node: Any, kind: str) -> None:
    a = attrs(node)
    ctx.unused(node, 1)
    shape = ctx.shape(node.input[0])
    dims = len(shape) - 2
    if dims not in (1, 2, 3):
        raise Unsupported(f"{dims}-D pooling")
    k = list(a["kernel_shape"])
    s = list(a.get("strides", [1] * dims))
    d = list(a.get("dilations", [1] * dims))
    pads = _auto_pads(a, shape[2:], k, s, d)
    ceil = bool(a.get("ceil_mode", 0))
    if pads and list(pads[:dims]) != list(pads[dims:]):
        # Caffe-style extra padding at the end only: torch's ceil_mode makes the same
        # partial last window (max: the padding never wins; average: only when padding is
        # not counted), if it gives the same output size.
        begin = list(pads[:dims])
        want = ctx.shape(node.output[0])[2:]
        got = [
            _ceil_out(n, kk, ss, dd, p)
            for n, kk, ss, dd, p in zip(shape[2:], k, s, d, begin, strict=True)
        ]
        if got != list(want) or (kind == "Avg" and a.get("count_include_pad", 0)):
            raise Unsupported(f"asymmetric padding {list(pads)} (Torchwire has no Pad node type)")
        pads, ceil = begin + begin, True
        ctx.b.report.notes.append(
            f"{node.name or node.output[0]}: end-only padding {list(a.get('pads', []))} as ceil_mode"
        )
    params: dict[str, Any] = {
        "kernel_size": _one(k),
        "stride": _one(s),
        "padding": _sym_pads(pads, dims),
        "ceil_mode": ceil,
    }
    if kind == "Max":
        params["dilation"] = _one(d)
    else:
        if any(v != 1 for v in d):
            raise Unsupported("dilated average pooling")
        params["count_include_pad"] = bool(a.get("count_include_pad", 0))
    ctx.put(node, ctx.b.add(f"{kind}Pool{dims}d", [ctx.x(node)], node.name, **params))


def _ceil_out(n: int, k: int, s: int, d: int, p: int) -> int:
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1)) // s + 1
    return out - 1 if (out - 1) * s >= n + p else out


rule("MaxPool", "MaxPool1d / 2d / 3d", "symmetric pads, ceil_mode; no Indices output")(
    lambda ctx, node: _pool(ctx, node, "Max")
)
rule("AveragePool", "AvgPool1d / 2d / 3d", "count_include_pad kept (ONNX default 0)")(
    lambda ctx, node: _pool(ctx, node, "Avg")
)


@rule("GlobalAveragePool", "AdaptiveAvgPool1d / 2d / 3d (output_size 1)")
def _gap(ctx: Ctx, node: Any) -> None:
    dims = len(ctx.shape(node.input[0])) - 2
    if dims not in (1, 2, 3):
        raise Unsupported(f"{dims}-D pooling")
    ctx.put(node, ctx.b.add(f"AdaptiveAvgPool{dims}d", [ctx.x(node)], node.name, output_size=1))


@rule("GlobalMaxPool", "AdaptiveMaxPool2d(1)")
def _gmp(ctx: Ctx, node: Any) -> None:
    if len(ctx.shape(node.input[0])) != 4:
        raise Unsupported("input is not 4-D")
    ctx.put(node, ctx.b.add("AdaptiveMaxPool2d", [ctx.x(node)], node.name, output_size=1))


@rule("LRN", "LocalResponseNorm", "odd size (an even window is placed differently by torch)")
def _lrn(ctx: Ctx, node: Any) -> None:
    a = attrs(node)
    size = int(a["size"])
    if size % 2 == 0:
        raise Unsupported(f"even size {size}: torch centres the window one channel off")
    ctx.put(
        node,
        ctx.b.add(
            "LocalResponseNorm",
            [ctx.x(node)],
            node.name,
            size=size,
            alpha=float(a.get("alpha", 1e-4)),
            beta=float(a.get("beta", 0.75)),
            k=float(a.get("bias", 1.0)),
        ),
    )


@rule("Concat", "Concat", "axis → dim (not the batch)")
def _concat(ctx: Ctx, node: Any) -> None:
    rank = len(ctx.shape(node.output[0]))
    axis = int(attrs(node)["axis"]) % rank
    if axis == 0:
        raise Unsupported("joins along the batch dimension")
    srcs = [ctx.x(node, i) for i in range(len(node.input))]
    ctx.put(node, srcs[0] if len(srcs) == 1 else ctx.b.add("Concat", srcs, node.name, dim=axis))


def _plumbing(ctx: Ctx, node: Any) -> None:
    sq = ctx.seq.get(node.input[0])
    if sq is not None and node.input[0] not in ctx.val:
        _seq_plumbing(ctx, node, sq)
        return
    ctx.put(
        node,
        ctx.b.plumb(ctx.x(node), ctx.shape(node.input[0]), ctx.shape(node.output[0]), node.name),
    )


for _op in ("Reshape", "Flatten", "Squeeze", "Unsqueeze"):
    rule(_op, "Flatten / Reshape", "shape plumbing that keeps the batch dimension first")(_plumbing)


@rule("Transpose", "Permute", "the batch dimension stays first")
def _transpose(ctx: Ctx, node: Any) -> None:
    rank = len(ctx.shape(node.input[0]))
    perm = list(attrs(node).get("perm", list(range(rank))[::-1]))
    sq = ctx.seq.get(node.input[0])
    if sq is not None and node.input[0] not in ctx.val:
        if sq.layout == "TBF" and perm == [1, 0, 2]:
            ctx.put(node, sq.nid)  # back to batch-first: the recurrent node's own output
        elif sq.layout == "TDBH" and perm == [0, 2, 1, 3]:
            ctx.seq[node.output[0]] = Seq(sq.nid, "TBDH", sq.directions, sq.hidden)
        else:
            raise Unsupported(f"perm {perm} of a sequence-first tensor")
        return
    if rank == 3 and perm == [1, 0, 2]:  # to sequence-first, as before an ONNX LSTM/GRU
        ctx.seq[node.output[0]] = Seq(ctx.x(node), "TBF")
        return
    if perm[0] != 0:
        raise Unsupported(f"perm {perm} moves the batch dimension")
    src = ctx.x(node)
    ctx.put(
        node, src if perm == sorted(perm) else ctx.b.add("Permute", [src], node.name, dims=perm)
    )


@rule("Dropout", "Dropout", "ratio kept; no mask output")
def _dropout(ctx: Ctx, node: Any) -> None:
    ctx.unused(node, 1)
    a = attrs(node)
    ratio = float(a.get("ratio", 0.5))
    if ctx.opset >= 12:
        r = ctx.c(node, 1, required=False)
        ratio = float(r) if r is not None else 0.5
        t = ctx.c(node, 2, required=False)
        if t is not None and bool(t):
            raise Unsupported("training_mode=true")
    ctx.put(node, ctx.b.add("Dropout", [ctx.x(node)], node.name, p=ratio))


@rule("Identity", "(none: the wire passes through)")
def _identity(ctx: Ctx, node: Any) -> None:
    ctx.put(node, ctx.x(node))


def _resize(ctx: Ctx, node: Any) -> None:
    a = attrs(node)
    in_shape, out_shape = ctx.shape(node.input[0]), ctx.shape(node.output[0])
    mode = as_str(a.get("mode", "nearest"))
    coord = as_str(
        a.get(
            "coordinate_transformation_mode",
            "half_pixel" if node.op_type == "Resize" and ctx.opset >= 11 else "asymmetric",
        )
    )
    nearest = as_str(a.get("nearest_mode", "round_prefer_floor" if ctx.opset >= 11 else "floor"))
    if node.op_type == "Resize" and ctx.opset == 10:
        coord, nearest = "asymmetric", "floor"
    sizes = ctx.c(node, 3, required=False) if node.op_type == "Resize" and ctx.opset >= 11 else None
    if sizes is not None and sizes.size:
        return _resize_to_size(ctx, node, mode, coord, nearest)
    if node.op_type == "Upsample" and "scales" in a:
        scales = list(a["scales"])
    else:
        idx = 1 if node.op_type == "Upsample" or ctx.opset == 10 else 2
        sc = ctx.c(node, idx, required=False)
        if sc is not None and sc.size:
            scales = [float(v) for v in sc]
        else:
            scales = [o / i for o, i in zip(out_shape, in_shape, strict=True)]
    if (
        len(scales) != len(in_shape)
        or scales[0] != 1
        or scales[1] != 1
        or len(set(scales[2:])) != 1
    ):
        raise Unsupported(f"scales {scales}: one factor for every spatial dimension is needed")
    s = float(scales[2])
    rank = len(in_shape) - 2
    if mode == "nearest":
        whole = s.is_integer()
        if not (
            (coord == "asymmetric" and nearest == "floor")
            or (
                whole
                and coord in ("half_pixel", "pytorch_half_pixel")
                and nearest.startswith("round")
            )
        ):
            raise Unsupported(
                f"nearest with {coord}/{nearest} (torch's nearest is asymmetric/floor)"
            )
        tmode = "nearest"
    elif mode in ("linear", "cubic"):
        if coord not in ("half_pixel", "pytorch_half_pixel"):
            raise Unsupported(f"{mode} with {coord} (torch's align_corners=False is half_pixel)")
        tmode = _interpolation(a, mode, rank)
    else:
        raise Unsupported(f"mode {mode}")
    if a.get("antialias", 0):
        raise Unsupported("antialias")
    ctx.put(node, ctx.b.add("Upsample", [ctx.x(node)], node.name, scale_factor=s, mode=tmode))


def _interpolation(a: dict[str, Any], mode: str, rank: int) -> str:
    """torch's interpolation mode for ONNX ``linear``/``cubic`` over ``rank`` spatial dims
    (both Resize by scales and by sizes)."""
    tmode = {
        ("linear", 1): "linear",
        ("linear", 2): "bilinear",
        ("linear", 3): "trilinear",
        ("cubic", 2): "bicubic",
    }.get((mode, rank))
    if tmode is None:
        raise Unsupported(f"{mode} over {rank} spatial dimensions")
    if mode == "cubic" and (a.get("cubic_coeff_a", -0.75) != -0.75 or a.get("exclude_outside", 0)):
        raise Unsupported("cubic_coeff_a / exclude_outside differ from torch's bicubic")
    return tmode


def _resize_to_size(ctx: Ctx, node: Any, mode: str, coord: str, nearest: str) -> None:
    """Resize by ``sizes``: Upsample's ``size``; ``align_corners`` from the coordinate mode."""
    a = attrs(node)
    in_shape, out_shape = ctx.shape(node.input[0]), ctx.shape(node.output[0])
    if tuple(out_shape[:2]) != tuple(in_shape[:2]):
        raise Unsupported("resizes the batch or channel dimension")
    rank = len(in_shape) - 2
    align: bool | None = None
    if mode == "nearest":
        if not (coord == "asymmetric" and nearest == "floor"):
            raise Unsupported(
                f"nearest with {coord}/{nearest} by size (torch's nearest is asymmetric/floor)"
            )
        tmode = "nearest"
    elif mode in ("linear", "cubic"):
        if coord == "align_corners":
            align = True
        elif coord == "half_pixel" or (
            coord == "pytorch_half_pixel" and all(v > 1 for v in out_shape[2:])
        ):
            align = False
        else:
            raise Unsupported(f"{mode} with {coord} (torch has half_pixel and align_corners)")
        tmode = _interpolation(a, mode, rank)
    else:
        raise Unsupported(f"mode {mode}")
    if a.get("antialias", 0):
        raise Unsupported("antialias")
    size = [int(v) for v in out_shape[2:]]
    ctx.put(
        node,
        ctx.b.add(
            "Upsample",
            [ctx.x(node)],
            node.name,
            size=size,
            scale_factor=None,
            mode=tmode,
            align_corners=align,
        ),
    )


rule(
    "Resize",
    "Upsample",
    "one scale for all spatial dims, or sizes (align_corners from the coordinate mode); "
    "nearest (asymmetric/floor), linear/cubic (half_pixel)",
)(_resize)
rule("Upsample", "Upsample", "as Resize")(_resize)


def embedding_or_last_step(ctx: Ctx, node: Any) -> None:
    """Gather from a constant 2-D table: an Embedding; else the last step of an LSTM/GRU."""
    if node.input[0] not in ctx.consts:
        _last_step(ctx, node)
        return
    table = ctx.c(node, 0)
    if table.ndim != 2 or int(attrs(node).get("axis", 0)) != 0:
        raise Unsupported("only a 2-D table gathered along axis 0 is an Embedding")
    ctx.put(
        node,
        ctx.b.add(
            "Embedding",
            [ctx.x(node, 1)],
            node.name,
            {"weight": table},
            num_embeddings=int(table.shape[0]),
            embedding_dim=int(table.shape[1]),
        ),
    )


def _seq_plumbing(ctx: Ctx, node: Any, sq: Seq) -> None:
    """Reshape/Squeeze of an LSTM/GRU's ``Y`` to ``[T, B, D*H]`` (directions joined, as
    torch's bidirectional output): still the recurrent node's output, sequence-first."""
    out = ctx.shape(node.output[0])
    t, b = ctx.shape(node.input[0])[0], ctx.shape(node.input[0])[2 if sq.layout == "TDBH" else 1]
    joined = (t, b, sq.directions * sq.hidden)
    if (sq.layout == "TBDH" or (sq.layout == "TDBH" and sq.directions == 1)) and out == joined:
        ctx.seq[node.output[0]] = Seq(sq.nid, "TBF", sq.directions, sq.hidden)
        return
    raise Unsupported(f"{node.op_type} of a sequence-first recurrent output to {out}")


# ONNX gate order → torch's: LSTM i,o,f,c → i,f,g,o; GRU z,r,h → r,z,n.
_GATES = {"LSTM": (4, [0, 2, 3, 1]), "GRU": (3, [1, 0, 2])}
_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"]}


def _zero_or_absent(ctx: Ctx, node: Any, i: int, what: str) -> None:
    v = ctx.c(node, i, required=False) if i < len(node.input) and node.input[i] else None
    if i < len(node.input) and node.input[i] and node.input[i] not in ctx.consts:
        raise Unsupported(f"a computed {what} (Torchwire's LSTM/GRU start from zeros)")
    if v is not None and np.any(v != 0):
        raise Unsupported(f"a non-zero {what} (Torchwire's LSTM/GRU start from zeros)")


def _rnn(ctx: Ctx, node: Any) -> None:
    """ONNX LSTM/GRU → the catalog's batch-first LSTM/GRU (one layer each; torch exports a
    stacked one as one ONNX op per layer), weights regrouped in torch's gate order.

    It maps where an exporter wrapped it as torch.onnx does a batch_first layer: input
    transposed to sequence-first, ``Y`` reshaped (directions joined) and transposed back.
    The final states ``Y_h``/``Y_c``, sequence lengths, initial states, peepholes and other
    activations have no counterpart in the node and are reported."""
    op = node.op_type
    a = attrs(node)
    if int(a.get("layout", 0)) != 0:
        raise Unsupported("layout=1 (batch-first ONNX recurrence) is not mapped")
    ctx.unused(node, 1, 2)
    if len(node.input) > 4 and node.input[4]:
        lens = ctx.consts.get(node.input[4])
        t = ctx.shape(node.input[0])[0]
        if lens is None or np.any(lens != t):
            raise Unsupported("sequence_lens (sequences of different lengths)")
    _zero_or_absent(ctx, node, 5, "initial_h")
    if op == "LSTM":
        _zero_or_absent(ctx, node, 6, "initial_c")
        if len(node.input) > 7 and node.input[7]:
            raise Unsupported("peephole weights P")
        if int(a.get("input_forget", 0)):
            raise Unsupported("input_forget=1")
    elif not int(a.get("linear_before_reset", 0)):
        raise Unsupported("linear_before_reset=0 (torch's GRU applies the reset after the matmul)")
    if "clip" in a:
        raise Unsupported("cell clip")
    direction = as_str(a.get("direction", "forward"))
    if direction == "reverse":
        raise Unsupported("direction reverse alone (torch runs forward, or both)")
    dirs = 2 if direction == "bidirectional" else 1
    acts = [as_str(v) for v in a.get("activations", [])]
    if acts and acts != _ACTIVATIONS[op] * dirs:
        raise Unsupported(f"activations {acts}")
    sq = ctx.seq.get(node.input[0])
    if sq is None or sq.layout != "TBF" or node.input[0] in ctx.val:
        raise Unsupported(
            "its input is not a batch-first sequence transposed to sequence-first (as "
            "torch.onnx exports a batch_first layer)"
        )
    w, r = ctx.c(node, 1), ctx.c(node, 2)
    bias = ctx.c(node, 3, required=False)
    hidden = int(a.get("hidden_size", r.shape[-1]))
    n_gates, order = _GATES[op]

    def torch_order(m: np.ndarray) -> np.ndarray:
        return np.concatenate([m[g * hidden : (g + 1) * hidden] for g in order], axis=0)

    weights: dict[str, np.ndarray] = {}
    for d in range(dirs):
        sfx = "_l0" + ("_reverse" if d else "")
        weights[f"weight_ih{sfx}"] = torch_order(w[d])
        weights[f"weight_hh{sfx}"] = torch_order(r[d])
        if bias is not None:
            weights[f"bias_ih{sfx}"] = torch_order(bias[d][: n_gates * hidden])
            weights[f"bias_hh{sfx}"] = torch_order(bias[d][n_gates * hidden :])
    nid = ctx.b.add(
        op,
        [sq.nid],
        node.name,
        weights,
        hidden_size=hidden,
        num_layers=1,
        bidirectional=dirs == 2,
        bias=bias is not None,
    )
    ctx.rnn.add(nid)
    ctx.seq[node.output[0]] = Seq(nid, "TDBH", dirs, hidden)


rule(
    "LSTM",
    "LSTM",
    "wrapped as torch.onnx exports batch_first (transposes around it); one layer per op, "
    "forward or bidirectional; Y_h/Y_c unused, zero initial states, no sequence_lens",
)(_rnn)
rule("GRU", "GRU", "as LSTM; linear_before_reset=1 (torch's GRU)")(_rnn)


def _last_step(ctx: Ctx, node: Any) -> None:
    """``y[:, -1]`` of a one-direction LSTM/GRU's batch-first output → its output='last'."""
    idx = ctx.c(node, 1)
    src = ctx.x(node)
    shape = ctx.shape(node.input[0])
    axis = int(attrs(node).get("axis", 0)) % max(len(shape), 1)
    if (
        len(shape) != 3
        or axis != 1
        or idx.size != 1
        or int(idx.reshape(())) not in (-1, shape[1] - 1)
    ):
        raise Unsupported("only the last step (axis 1, index -1) of a recurrent output maps")
    if src not in ctx.rnn:
        raise Unsupported("the last step of a tensor that is not an LSTM/GRU output")
    node_ = ctx.b.graph.nodes[src]
    if node_.params.get("bidirectional"):
        raise Unsupported(
            "the last step of a bidirectional output (the node's 'last' joins the forward "
            "direction's last step with the backward direction's first)"
        )
    # Every tensor standing for the node's sequence must feed only the next op of the
    # chain, and this one only reads the last step: else the whole sequence is needed.
    tensors = [t for t, q in ctx.seq.items() if q.nid == src]
    tensors += [t for t, v in ctx.val.items() if v == src]
    readers = sum(len(ctx.consumers.get(t, [])) for t in tensors)
    if readers != len(tensors) or any(t in ctx.graph_outputs for t in tensors):
        raise Unsupported("the recurrent output's whole sequence is also used")
    ctx.b.graph.set(src, output="last")
    ctx.put(node, src)
