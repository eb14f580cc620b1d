"""Tensor node types: learned and fixed tensors, arithmetic with broadcasting, reductions,
a fixed menu of element-wise ops, slicing and splitting into several outputs.

Dimensions are torch's numbering on the batched tensor (0 is the batch and is never
reduced, sliced or split). Every number a parameter puts into generated source goes
through ``int()`` / ``float()`` and ``repr``: no text of a project reaches the code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.catalog.base import NodeSpec, Param, Port, Shape
from engine.catalog.registry import register
from engine.modules import LearnedTensor, SinusoidalEncoding

MAX_OUTPUTS = 8  # Split and Chunk declare this many output ports; the first n are live


def P(name: str, type_: str, default: Any, doc: str = "", **kw: Any) -> Param:
    return Param(name, type_, default, doc, **kw)  # type: ignore[arg-type]


# -- words for shapes -------------------------------------------------------------------
def batched(s: Shape) -> str:
    """``[B,64,8,8]``: a per-sample shape as the batched tensor a user sees in torch."""
    return "[" + ",".join(["B", *map(str, s)]) + "]"


def broadcast_problem(shapes: Sequence[Shape]) -> str | None:
    """Why the batched tensors do not broadcast (numpy rules, aligned on the right), or None.

    The batch dimension takes part as the symbol B: it matches only itself or 1.
    """
    out: list[Any] = ["B", *shapes[0]]
    for other in shapes[1:]:
        b: list[Any] = ["B", *other]
        n = max(len(out), len(b))
        a_full: list[Any] = [1] * (n - len(out)) + out
        b_full: list[Any] = [1] * (n - len(b)) + b
        res: list[Any] = []
        for i, (x, y) in enumerate(zip(a_full, b_full, strict=True)):
            if x == y or y == 1:
                res.append(x)
            elif x == 1:
                res.append(y)
            else:
                return f"cannot broadcast {_listed(out)} with {_listed(b)}: dimension {i} is {x} vs {y}"
        if res[0] != "B":
            return (
                f"cannot broadcast {batched(shapes[0])} with {batched(other)}: the batch "
                "dimension would move; give both the same number of dimensions"
            )
        out = res
    return None


def _listed(s: Sequence[Any]) -> str:
    return "[" + ",".join(map(str, s)) + "]"


def broadcast_validate(p: dict[str, Any], s: Sequence[Shape], n: Sequence[str]) -> list[str]:
    if len(s) < 2:
        return [f"needs at least 2 inputs, has {len(s)}"]
    problem = broadcast_problem(list(s))
    return [problem] if problem else []


def _dims(p: dict[str, Any]) -> list[int]:
    d = p["dim"]
    return [int(v) for v in (d if isinstance(d, list) else [d])]


def _dim_problem(dims: Sequence[int], s: Shape, what: str) -> str | None:
    rank = len(s) + 1
    for d in dims:
        if not -rank <= d < rank or d % rank == 0:
            return f"dim {d} is not a dimension of the batched input {batched(s)} to {what} (1..{rank - 1})"
    if len({d % rank for d in dims}) != len(dims):
        return f"dim lists a dimension twice: {list(dims)}"
    return None


def _dim_text(dims: Sequence[int]) -> str:
    return str(dims[0]) if len(dims) == 1 else "(" + ", ".join(map(str, dims)) + ")"


# -- arithmetic ---------------------------------------------------------------------------
def _binary_call(op: str) -> Any:
    def call(m: str | None, ins: Sequence[Any], out: str, p: dict[str, Any]) -> list[str]:
        return [f"{out} = {ins[0]} {op} {ins[1]}"]

    return call


TWO = (Port("input"), Port("other"))
for name, op, doc in (
    ("Sub", "-", "Element-wise difference input − other, broadcasting as numpy does."),
    ("Div", "/", "Element-wise quotient input / other, broadcasting as numpy does."),
):
    register(
        NodeSpec(
            type=name,
            category="Merges",
            doc=doc,
            inputs=TWO,
            call=_binary_call(op),
            validate=broadcast_validate,
            extra={"torch": (f"torch.{'sub' if op == '-' else 'div'}",)},
        )
    )


def _matmul_validate(p: dict[str, Any], s: Sequence[Shape], n: Sequence[str]) -> list[str]:
    a, b = s[0], s[1]
    if len(a) < 1 or len(b) < 1:
        return ["both inputs need at least one dimension besides the batch"]
    k_a = a[-1]
    k_b = b[-2] if len(b) >= 2 else b[-1]
    if k_a != k_b:
        return [
            f"cannot multiply {batched(a)} by {batched(b)}: {k_a} columns vs {k_b} rows "
            "(the last dimension of input must equal the second-to-last of other)"
        ]
    if len(a) >= 2 and len(b) >= 2:
        problem = broadcast_problem([(*a[:-2], 1, 1), (*b[:-2], 1, 1)])
        if problem:
            return [problem.replace("cannot broadcast", "cannot multiply, batch dimensions of")]
    return []


register(
    NodeSpec(
        type="MatMul",
        category="Merges",
        doc="Matrix product of the batched tensors (torch.matmul): (…, n, k) @ (…, k, m).",
        inputs=TWO,
        call=lambda m, ins, out, p: [f"{out} = torch.matmul({ins[0]}, {ins[1]})"],
        validate=_matmul_validate,
        extra={"torch": ("torch.matmul",)},
    )
)


# -- learned and fixed tensors --------------------------------------------------------------
register(
    NodeSpec(
        type="Parameter",
        category="Layers",
        group="Embedding",
        doc="A learned tensor of the given shape, the same for every sample (CLS token, "
        "learned positions); its input only gives the batch size.",
        inputs=(Port("input", doc="any tensor: only its batch size is used"),),
        params=(
            P("shape", "shape", [1, 64], "shape of the tensor, batch excluded"),
            P(
                "init",
                "choice",
                "zeros",
                "initial values: zeros, normal(0, std), or normal truncated at ±2·std",
                choices=("zeros", "normal", "trunc_normal"),
            ),
            P("std", "float", 0.02, "standard deviation of the normal inits", min=0.0),
        ),
        module=LearnedTensor,
        module_ref="LearnedTensor",
        input_dtype="any",
        extra={"torch": ("torch.nn.parameter.Parameter",)},
    )
)
register(
    NodeSpec(
        type="SinusoidalPositionalEncoding",
        category="Layers",
        group="Embedding",
        doc="Adds fixed sine/cosine position codes (Vaswani et al.) to a (T, E) sequence.",
        params=(P("base", "float", 10000.0, "wavelength base", min=1.0),),
        module=SinusoidalEncoding,
        module_ref="SinusoidalEncoding",
        infer={"length": lambda s, p: s[0][0], "dim": lambda s, p: s[0][1]},
        ranks=(2,),
    )
)


# -- reductions ----------------------------------------------------------------------------
REDUCE_OPS = ("mean", "sum", "amax", "amin", "prod", "std", "var", "logsumexp")


def _reduce_call(m: str | None, ins: Sequence[Any], out: str, p: dict[str, Any]) -> list[str]:
    op = p["op"]
    assert op in REDUCE_OPS  # a name from the fixed menu, never the project's text
    dims = _dims(p)
    keep = bool(p["keepdim"])
    if op == "prod":  # torch.prod reduces one dimension at a time
        x = ins[0]
        for d in sorted(dims, reverse=True):  # the highest first: the others keep their index
            x = f"torch.prod({x}, dim={d}, keepdim={keep})"
        return [f"{out} = {x}"]
    return [f"{out} = torch.{op}({ins[0]}, dim={_dim_text(dims)}, keepdim={keep})"]


def _reduce_validate(p: dict[str, Any], s: Sequence[Shape], n: Sequence[str]) -> list[str]:
    dims = _dims(p)
    problem = _dim_problem(dims, s[0], "reduce")
    if problem:
        return [problem]
    if p["op"] == "prod" and len(dims) > 1 and any(d < 0 for d in dims):
        return ["prod over several dimensions needs them counted from the front (no -1)"]
    if not p["keepdim"] and len(dims) == len(s[0]):
        return ["reducing every dimension but the batch leaves nothing; set keepdim"]
    return []


register(
    NodeSpec(
        type="Reduce",
        category="Shape",
        group="Reduce",
        doc="Reduces over dims (mean, sum, amax, amin, prod, std, var or logsumexp).",
        params=(
            P("op", "choice", "mean", "the reduction", choices=REDUCE_OPS),
            P("dim", "ints", -1, "dimension(s) to reduce (never 0, the batch)"),
            P("keepdim", "bool", False, "keep reduced dimensions with size 1"),
        ),
        call=_reduce_call,
        validate=_reduce_validate,
        extra={"torch": tuple(f"torch.{op}" for op in REDUCE_OPS)},
    )
)

# -- element-wise menu -------------------------------------------------------------------------
# op -> the expression, with {x} the input and {a}, {b} the numeric parameters. A fixed
# menu: no text from a project is ever evaluated.
ELEMENTWISE = {
    "abs": "torch.abs({x})",
    "neg": "torch.neg({x})",
    "exp": "torch.exp({x})",
    "log": "torch.log({x})",
    "log1p": "torch.log1p({x})",
    "sqrt": "torch.sqrt({x})",
    "rsqrt": "torch.rsqrt({x})",
    "square": "torch.square({x})",
    "reciprocal": "torch.reciprocal({x})",
    "sign": "torch.sign({x})",
    "floor": "torch.floor({x})",
    "ceil": "torch.ceil({x})",
    "round": "torch.round({x})",
    "sin": "torch.sin({x})",
    "cos": "torch.cos({x})",
    "erf": "torch.erf({x})",
    "clamp": "torch.clamp({x}, min={a}, max={b})",
    "pow": "torch.pow({x}, {a})",
    "scale": "{x} * {a}",
    "shift": "{x} + {a}",
}


def _elementwise_call(m: str | None, ins: Sequence[Any], out: str, p: dict[str, Any]) -> list[str]:
    op = p["op"]
    if op == "clamp":
        a = repr(None if p["min"] is None else float(p["min"]))
        b = repr(None if p["max"] is None else float(p["max"]))
    else:
        a, b = repr(float(p["value"])), "None"
    return [f"{out} = " + ELEMENTWISE[op].format(x=ins[0], a=a, b=b)]


def _elementwise_validate(p: dict[str, Any], s: Sequence[Shape], n: Sequence[str]) -> list[str]:
    if p["op"] == "clamp":
        if p["min"] is None and p["max"] is None:
            return ["clamp needs min, max or both"]
        if p["min"] is not None and p["max"] is not None and p["min"] > p["max"]:
            return [f"clamp min {p['min']:g} is above max {p['max']:g}"]
    return []


register(
    NodeSpec(
        type="Elementwise",
        category="Activations",
        group="Elementwise",
        doc="One element-wise op from a fixed menu (abs, exp, log, sqrt, clamp, pow, …).",
        params=(
            P("op", "choice", "abs", "the operation", choices=tuple(ELEMENTWISE)),
            P("value", "float", 2.0, "exponent of pow, factor of scale, amount of shift"),
            P("min", "float", None, "clamp's lower bound (empty: none)", optional=True),
            P("max", "float", None, "clamp's upper bound (empty: none)", optional=True),
        ),
        call=_elementwise_call,
        validate=_elementwise_validate,
        input_dtype="any",
        extra={"torch": ("torch.abs", "torch.exp", "torch.clamp", "torch.pow")},
    )
)


# -- slicing and splitting ------------------------------------------------------------------
def _one_dim(p: dict[str, Any], s: Sequence[Shape], what: str) -> str | None:
    return _dim_problem([int(p["dim"])], s[0], what)


def _slice_call(m: str | None, ins: Sequence[Any], out: str, p: dict[str, Any]) -> list[str]:
    d = int(p["dim"])
    start = int(p["start"])
    end = "" if p["end"] is None else str(int(p["end"]))
    step = int(p["step"])
    part = f"{start if start else ''}:{end}" + (f":{step}" if step != 1 else "")
    if d > 0:
        index = ", ".join([":"] * d + [part])
    else:
        index = ", ".join(["...", part] + [":"] * (-d - 1))
    return [f"{out} = {ins[0]}[{index}]"]


def _slice_validate(p: dict[str, Any], s: Sequence[Shape], n: Sequence[str]) -> list[str]:
    problem = _one_dim(p, s, "slice")
    if problem:
        return [problem]
    size = s[0][int(p["dim"]) % (len(s[0]) + 1) - 1]
    got = len(range(size)[slice(p["start"], p["end"], p["step"])])
    if got == 0:
        return [f"the slice {p['start']}:{p['end']}:{p['step']} of a dimension of {size} is empty"]
    return []


register(
    NodeSpec(
        type="Slice",
        category="Shape",
        group="Slice",
        doc="Keeps start:end:step of one dimension (x[:, start:end:step]).",
        params=(
            P("dim", "int", 1, "dimension to slice (never 0, the batch)"),
            P("start", "int", 0, "first index (negative: from the end)"),
            P("end", "int", None, "index after the last (empty: to the end)", optional=True),
            P("step", "int", 1, "stride", min=1),
        ),
        call=_slice_call,
        validate=_slice_validate,
        input_dtype="any",
        extra={"torch": ("torch.narrow",)},
    )
)


def _select_validate(p: dict[str, Any], s: Sequence[Shape], n: Sequence[str]) -> list[str]:
    problem = _one_dim(p, s, "select from")
    if problem:
        return [problem]
    size = s[0][int(p["dim"]) % (len(s[0]) + 1) - 1]
    if not -size <= p["index"] < size:
        return [f"index {p['index']} is outside a dimension of {size}"]
    return []


register(
    NodeSpec(
        type="Select",
        category="Shape",
        group="Slice",
        doc="Takes one index of a dimension, removing it (x[:, index]; the CLS token).",
        params=(
            P("dim", "int", 1, "dimension to index (never 0, the batch)"),
            P("index", "int", 0, "the index (negative: from the end)"),
        ),
        call=lambda m, ins, out, p: [
            f"{out} = {ins[0]}.select({int(p['dim'])}, {int(p['index'])})"
        ],
        validate=_select_validate,
        input_dtype="any",
        extra={"torch": ("torch.select",)},
    )
)

OUTS = tuple(Port(f"output{i}") for i in range(MAX_OUTPUTS))


def _split_validate(p: dict[str, Any], s: Sequence[Shape], n: Sequence[str]) -> list[str]:
    problem = _one_dim(p, s, "split")
    if problem:
        return [problem]
    sizes = p["sizes"]
    if not 2 <= len(sizes) <= MAX_OUTPUTS:
        return [f"sizes needs 2 to {MAX_OUTPUTS} parts, has {len(sizes)}"]
    size = s[0][int(p["dim"]) % (len(s[0]) + 1) - 1]
    if sum(sizes) != size:
        return [f"sizes {list(sizes)} add up to {sum(sizes)}, but the dimension is {size}"]
    return []


def _multi_target(outs: Any) -> str:
    return ", ".join(outs) + ("," if len(outs) == 1 else "")


register(
    NodeSpec(
        type="SplitTensor",
        category="Shape",
        group="Split",
        doc=f"Splits one dimension into parts of the given sizes: one output per part "
        f"(output0…output{MAX_OUTPUTS - 1}; the first len(sizes) are live).",
        params=(
            P("dim", "int", 1, "dimension to split (never 0, the batch)"),
            P("sizes", "shape", [1, 1], f"size of each part (2 to {MAX_OUTPUTS} parts)"),
        ),
        outputs=OUTS,
        n_outputs=lambda p: len(p["sizes"]),
        call=lambda m, ins, outs, p: [
            f"{_multi_target(outs)} = torch.split({ins[0]}, "
            f"{[int(v) for v in p['sizes']]}, dim={int(p['dim'])})"
        ],
        validate=_split_validate,
        input_dtype="any",
        extra={"torch": ("torch.split",)},
    )
)


def _chunk_validate(p: dict[str, Any], s: Sequence[Shape], n: Sequence[str]) -> list[str]:
    problem = _one_dim(p, s, "chunk")
    if problem:
        return [problem]
    size = s[0][int(p["dim"]) % (len(s[0]) + 1) - 1]
    k = p["chunks"]
    each = -(-size // k)
    got = -(-size // each)
    if got != k:
        return [
            f"a dimension of {size} in chunks of {each} makes {got} chunks, not {k} "
            "(torch.chunk); choose chunks that fit, or use Split"
        ]
    return []


register(
    NodeSpec(
        type="Chunk",
        category="Shape",
        group="Split",
        doc=f"Splits one dimension into equal chunks (torch.chunk): one output per chunk "
        f"(output0…output{MAX_OUTPUTS - 1}; the first `chunks` are live).",
        params=(
            P("chunks", "int", 2, "number of chunks", min=2, max=MAX_OUTPUTS),
            P("dim", "int", 1, "dimension to split (never 0, the batch)"),
        ),
        outputs=OUTS,
        n_outputs=lambda p: int(p["chunks"]),
        call=lambda m, ins, outs, p: [
            f"{_multi_target(outs)} = torch.chunk({ins[0]}, {int(p['chunks'])}, "
            f"dim={int(p['dim'])})"
        ],
        validate=_chunk_validate,
        input_dtype="any",
        extra={"torch": ("torch.chunk",)},
    )
)
