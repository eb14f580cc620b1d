"""Model node types: inputs/outputs, torch layers, activations, shape ops and merges.

Names of types and parameters are torch's own. Input-size arguments (``in_features``,
``in_channels`` …) are never parameters: ``infer`` fills them from the arriving shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from engine.catalog.base import NodeSpec, Param, Port, Shape
from engine.catalog.registry import register
from engine.catalog.tensors import broadcast_validate
from engine.modules import Maxout

IN = (Port("input"),)


# -- helpers ------------------------------------------------------------------------------
def channels(shapes: Sequence[Shape], _p: dict[str, Any]) -> int:
    return shapes[0][0]


def last_dim(shapes: Sequence[Shape], _p: dict[str, Any]) -> int:
    return shapes[0][-1]


def P(name: str, type_: str, default: Any, doc: str = "", **kw: Any) -> Param:
    return Param(name, type_, default, doc, **kw)  # type: ignore[arg-type]


def layer(
    cls: type,
    category: str,
    group: str,
    doc: str,
    params: Sequence[Param] = (),
    **kw: Any,
) -> NodeSpec:
    return register(
        NodeSpec(
            type=kw.pop("type", cls.__name__),
            category=category,
            group=group,
            doc=doc,
            params=tuple(params),
            module=cls,
            **kw,
        )
    )


def kernel(dims: int, default: Any = 3) -> Param:
    return P("kernel_size", "ints", default, "size of the sliding window", min=1, length=dims)


def stride(dims: int, default: Any = 1, optional: bool = False) -> Param:
    doc = "step of the window" + (" (empty: same as kernel_size)" if optional else "")
    return P("stride", "ints", default, doc, min=1, length=dims, optional=optional)


def padding(dims: int) -> Param:
    return P("padding", "ints", 0, "zeros added on each side", min=0, length=dims)


def dilation(dims: int) -> Param:
    return P("dilation", "ints", 1, "spacing between kernel elements", min=1, length=dims)


BIAS = P("bias", "bool", True, "learn an additive bias")


# -- inputs and outputs -------------------------------------------------------------------
def _input_call(m: str | None, ins: Sequence[str], out: str, p: dict[str, Any]) -> list[str]:
    return []  # an Input is an argument of forward: no line of its own


def _identity_call(m: str | None, ins: Sequence[str], out: str, p: dict[str, Any]) -> list[str]:
    return [f"{out} = {ins[0]}"]


register(
    NodeSpec(
        type="Input",
        category="Input/Output",
        kind="io",
        doc="A model input: the shape of one sample (batch dimension excluded) and its dtype.",
        inputs=(Port("data", kind="data", optional=True, doc="features from a dataset"),),
        outputs=(Port("output"),),
        params=(
            P(
                "shape",
                "shape",
                [1, 28, 28],
                "shape of one sample, batch excluded; filled from a connected dataset",
            ),
            P(
                "dtype",
                "choice",
                "float32",
                "float32 for features, int64 for token ids feeding an Embedding",
                choices=("float32", "int64"),
            ),
        ),
        call=_input_call,
        input_dtype="any",
    )
)

register(
    NodeSpec(
        type="Output",
        category="Input/Output",
        kind="io",
        doc="Marks a model output; its name is the output's name.",
        outputs=(Port("output"),),
        call=_identity_call,
        input_dtype="any",
    )
)

# -- linear ------------------------------------------------------------------------------
LINEAR_OUT = P("out_features", "int", 64, "size of each output sample", min=1)
layer(
    nn.Linear,
    "Layers",
    "Linear",
    "Fully connected layer y = xWᵀ + b, applied to the last dimension.",
    [LINEAR_OUT, BIAS],
    infer={"in_features": last_dim},
)
layer(
    nn.Bilinear,
    "Layers",
    "Linear",
    "Bilinear layer y = x₁ᵀ A x₂ + b of two inputs.",
    [LINEAR_OUT, BIAS],
    inputs=(Port("input1"), Port("input2")),
    infer={
        "in1_features": lambda s, p: s[0][-1],
        "in2_features": lambda s, p: s[1][-1] if len(s) > 1 else s[0][-1],
    },
)
layer(
    Maxout,
    "Activations",
    "Maxout",
    "Maxout: a Linear layer with k pieces per output unit, keeping the largest (ours, not in torch).",
    [LINEAR_OUT, P("pieces", "int", 2, "number of linear pieces per unit (k)", min=2, max=64)],
    infer={"in_features": last_dim},
    module_ref="Maxout",
)

# -- convolution --------------------------------------------------------------------------
SPATIAL = {1: "(C, L)", 2: "(C, H, W)", 3: "(C, D, H, W)"}
PAD_MODE = P(
    "padding_mode",
    "choice",
    "zeros",
    "how padding is filled",
    choices=("zeros", "reflect", "replicate", "circular"),
)
for d in (1, 2, 3):
    layer(
        getattr(nn, f"Conv{d}d"),
        "Layers",
        "Convolution",
        f"{d}-D convolution over a {SPATIAL[d]} input.",
        [
            P("out_channels", "int", 16, "number of filters", min=1),
            kernel(d),
            stride(d),
            padding(d),
            dilation(d),
            P("groups", "int", 1, "blocked connections; must divide both channel counts", min=1),
            BIAS,
            PAD_MODE,
        ],
        infer={"in_channels": channels},
        ranks=(d + 1,),
    )
for d in (1, 2, 3):
    layer(
        getattr(nn, f"ConvTranspose{d}d"),
        "Layers",
        "Convolution",
        f"{d}-D transposed convolution (learned upsampling).",
        [
            P("out_channels", "int", 16, "number of filters", min=1),
            kernel(d),
            stride(d),
            padding(d),
            P(
                "output_padding",
                "ints",
                0,
                "extra size added to one side of the output",
                min=0,
                length=d,
            ),
            P("groups", "int", 1, "blocked connections", min=1),
            BIAS,
            dilation(d),
        ],
        infer={"in_channels": channels},
        ranks=(d + 1,),
    )

# -- pooling ------------------------------------------------------------------------------
for d in (1, 2, 3):
    layer(
        getattr(nn, f"MaxPool{d}d"),
        "Layers",
        "Pooling",
        f"{d}-D max pooling.",
        [
            kernel(d, 2),
            stride(d, None, optional=True),
            padding(d),
            dilation(d),
            P("ceil_mode", "bool", False, "round output size up instead of down"),
        ],
        ranks=(d, d + 1),
    )
    layer(
        getattr(nn, f"AvgPool{d}d"),
        "Layers",
        "Pooling",
        f"{d}-D average pooling.",
        [
            kernel(d, 2),
            stride(d, None, optional=True),
            padding(d),
            P("ceil_mode", "bool", False, "round output size up instead of down"),
            P("count_include_pad", "bool", True, "include zero padding in the average"),
        ],
        ranks=(d, d + 1),
    )
    layer(
        getattr(nn, f"AdaptiveAvgPool{d}d"),
        "Layers",
        "Pooling",
        f"{d}-D average pooling to a fixed output size (1 for global pooling).",
        [P("output_size", "ints", 1, "output size", min=1, length=d)],
        ranks=(d, d + 1),
    )
layer(
    nn.AdaptiveMaxPool2d,
    "Layers",
    "Pooling",
    "2-D max pooling to a fixed output size.",
    [P("output_size", "ints", 1, "output size", min=1, length=2)],
    ranks=(2, 3),
)

# -- normalization -----------------------------------------------------------------------
EPS = P("eps", "float", 1e-5, "added to the variance for stability", min=0.0)
MOMENTUM = P("momentum", "float", 0.1, "running statistics update factor", min=0.0, max=1.0)
layer(
    nn.BatchNorm1d,
    "Layers",
    "Normalization",
    "Batch normalization over features (F,) or channels of (C, L).",
    [EPS, MOMENTUM, P("affine", "bool", True, "learn scale and shift")],
    infer={"num_features": channels},
    ranks=(1, 2),
)
layer(
    nn.BatchNorm2d,
    "Layers",
    "Normalization",
    "Batch normalization over the channels of (C, H, W).",
    [EPS, MOMENTUM, P("affine", "bool", True, "learn scale and shift")],
    infer={"num_features": channels},
    ranks=(3,),
)
layer(
    nn.BatchNorm3d,
    "Layers",
    "Normalization",
    "Batch normalization over the channels of (C, D, H, W).",
    [EPS, MOMENTUM, P("affine", "bool", True, "learn scale and shift")],
    infer={"num_features": channels},
    ranks=(4,),
)
layer(
    nn.LayerNorm,
    "Layers",
    "Normalization",
    "Layer normalization over the last dimension(s) of each sample.",
    [
        EPS,
        P("elementwise_affine", "bool", True, "learn scale and shift"),
        P(
            "normalized_dims",
            "int",
            1,
            "how many trailing dimensions to normalize over",
            min=1,
            max=4,
            ctor=False,
        ),
    ],
    infer={"normalized_shape": lambda s, p: tuple(s[0][-p["normalized_dims"] :])},
    validate=lambda p, s, n: (
        [f"normalized_dims {p['normalized_dims']} exceeds the input's {len(s[0])} dimensions"]
        if s and p["normalized_dims"] > len(s[0])
        else []
    ),
)
layer(
    nn.GroupNorm,
    "Layers",
    "Normalization",
    "Group normalization: channels split into groups, each normalized.",
    [
        P("num_groups", "int", 2, "number of groups; must divide the channels", min=1),
        EPS,
        P("affine", "bool", True, "learn scale and shift"),
    ],
    infer={"num_channels": channels},
    ranks=(1, 2, 3, 4),
    validate=lambda p, s, n: (
        [f"num_groups {p['num_groups']} does not divide the {s[0][0]} channels"]
        if s and s[0] and s[0][0] % p["num_groups"]
        else []
    ),
)
layer(
    nn.InstanceNorm2d,
    "Layers",
    "Normalization",
    "Instance normalization over each channel of each sample (C, H, W).",
    [
        EPS,
        MOMENTUM,
        P("affine", "bool", False, "learn scale and shift"),
        P("track_running_stats", "bool", False, "keep running statistics for evaluation"),
    ],
    infer={"num_features": channels},
    ranks=(3,),
)

layer(
    nn.LocalResponseNorm,
    "Layers",
    "Normalization",
    "Local response normalization across neighbouring channels (AlexNet, GoogLeNet): "
    "x / (k + alpha/size · Σ x²)^beta over size channels.",
    [
        P("size", "int", 5, "number of neighbouring channels summed over", min=1),
        P("alpha", "float", 1e-4, "multiplicative factor", min=0.0),
        P("beta", "float", 0.75, "exponent", min=0.0),
        P("k", "float", 1.0, "additive factor", min=0.0),
    ],
    ranks=(2, 3, 4),
)

# -- dropout -----------------------------------------------------------------------------
DROP_P = P("p", "float", 0.5, "probability of zeroing an element", min=0.0, max=1.0)
layer(nn.Dropout, "Layers", "Dropout", "Zeroes random elements while training.", [DROP_P])
layer(
    nn.Dropout2d,
    "Layers",
    "Dropout",
    "Zeroes whole random channels of (C, H, W) while training.",
    [DROP_P],
    ranks=(3,),
)

# -- embedding ---------------------------------------------------------------------------
layer(
    nn.Embedding,
    "Layers",
    "Embedding",
    "Looks up a learned vector for each integer token id.",
    [
        P("num_embeddings", "int", 1000, "vocabulary size (largest id + 1)", min=1),
        P("embedding_dim", "int", 64, "size of each vector", min=1),
        P(
            "padding_idx",
            "int",
            None,
            "id whose vector stays zero (optional)",
            optional=True,
            min=0,
        ),
    ],
    input_dtype="long",
)


# -- recurrent ---------------------------------------------------------------------------
def _batch_second(x: str) -> str:
    """A state stored batch-first (as every Torchwire tensor) in torch's (layers, N, H)."""
    return f"{x}.transpose(0, 1).contiguous()"


def _rnn_call(m: str | None, ins: Sequence[Any], outs: Any, p: dict[str, Any]) -> list[str]:
    """``x, h = self.gru(x, h0)``; states are batch-first: (num_layers·directions, H) per
    sample, transposed to and from torch's (num_layers·directions, N, H)."""
    out, states = outs[0], list(outs[1:])
    given = [None if s is None else _batch_second(s) for s in ins[1:]]
    if len(states) == 2:  # LSTM: (h, c); a missing one of the two starts at zeros
        h0, c0 = given
        if h0 or c0:
            h0 = h0 or f"torch.zeros_like({c0})"
            c0 = c0 or f"torch.zeros_like({h0})"
            arg = f", ({h0}, {c0})"
        else:
            arg = ""
        target = f"{out}, ({states[0]}, {states[1]})"
    else:
        arg = f", {given[0]}" if given[0] else ""
        target = f"{out}, {states[0]}"
    lines = [f"{target} = {m}({ins[0]}{arg})"]
    lines += [f"{s} = {s}.transpose(0, 1)" for s in states if s != "_"]
    if out == "_":
        return lines
    if p["output"] == "last":
        if p["bidirectional"]:
            h = int(p["hidden_size"])  # a number in the line, never the parameter's text
            lines.append(f"{out} = torch.cat([{out}[:, -1, :{h}], {out}[:, 0, {h}:]], dim=-1)")
        else:
            lines.append(f"{out} = {out}[:, -1]")
    return lines


def _rnn_params(extra: Sequence[Param] = ()) -> list[Param]:
    return [
        P("hidden_size", "int", 64, "features in the hidden state", min=1),
        P("num_layers", "int", 1, "stacked recurrent layers", min=1, max=16),
        *extra,
        BIAS,
        P("dropout", "float", 0.0, "dropout between stacked layers", min=0.0, max=1.0),
        P("bidirectional", "bool", False, "run forward and backward over the sequence"),
        P(
            "output",
            "choice",
            "sequence",
            "'sequence': every step (T, H); 'last': the final step (H,), both directions joined",
            choices=("sequence", "last"),
            ctor=False,
        ),
    ]


STATE = "(num_layers·directions, hidden_size) per sample"
H_IO = (
    (Port("input"), Port("h_0", optional=True, doc=f"initial hidden state {STATE}")),
    (Port("output"), Port("h_n", doc=f"final hidden state {STATE}")),
)
C_IO = (
    (Port("c_0", optional=True, doc=f"initial cell state {STATE}"),),
    (Port("c_n", doc=f"final cell state {STATE}"),),
)
for cls, doc, extra in (
    (
        nn.RNN,
        "Elman recurrent layer over a (T, F) sequence; final state h_n as a second output.",
        [P("nonlinearity", "choice", "tanh", "activation", choices=("tanh", "relu"))],
    ),
    (
        nn.LSTM,
        "Long short-term memory layer over a (T, F) sequence; final states h_n, c_n as outputs.",
        [],
    ),
    (
        nn.GRU,
        "Gated recurrent unit layer over a (T, F) sequence; final state h_n as a second output.",
        [],
    ),
):
    lstm = cls is nn.LSTM
    layer(
        cls,
        "Layers",
        "Recurrent",
        doc,
        _rnn_params(extra),
        inputs=H_IO[0] + (C_IO[0] if lstm else ()),
        outputs=H_IO[1] + (C_IO[1] if lstm else ()),
        infer={"input_size": last_dim},
        fixed={"batch_first": True},
        call=_rnn_call,
        ranks=(2,),
    )


# -- attention ---------------------------------------------------------------------------
def causal_mask(q: str, k: str) -> str:
    """Source of the (Tq, Tk) boolean mask hiding later positions (True: not attended)."""
    return f"torch.ones({q}.shape[1], {k}.shape[1], dtype=torch.bool, device={q}.device).triu(1)"


def _mha_call(m: str | None, ins: Sequence[Any], outs: Any, p: dict[str, Any]) -> list[str]:
    """Self-attention, or cross-attention when key (and value) are connected; weights
    are computed only when something reads them."""
    q, k, v, pad = ins
    k = k or q
    v = v or k
    out, weights = outs
    args = [q, k, v]
    if pad is not None:
        args.append(f"key_padding_mask={pad}.bool()")
    if p["causal"]:
        args.append(f"attn_mask={causal_mask(q, k)}")
    args.append(f"need_weights={weights != '_'}")
    return [f"{out}, {weights} = {m}({', '.join(args)})"]


def _heads_divide(dim_name: str) -> Any:
    def check(p: dict[str, Any], s: Sequence[Shape], n: Sequence[str]) -> list[str]:
        if s and s[0] and s[0][-1] % p[dim_name]:
            return [f"{dim_name} {p[dim_name]} does not divide the {s[0][-1]} features"]
        return []

    return check


layer(
    nn.MultiheadAttention,
    "Layers",
    "Attention",
    "Multi-head attention over a (T, E) sequence: self-attention, or cross-attention "
    "with key/value; masks; weights (Tq, Tk) as a second output.",
    [
        P("num_heads", "int", 4, "attention heads; must divide the feature size", min=1),
        P("dropout", "float", 0.0, "dropout on attention weights", min=0.0, max=1.0),
        BIAS,
        P("causal", "bool", False, "each position attends only to itself and earlier", ctor=False),
    ],
    inputs=(
        Port("input", doc="the query (T, E)"),
        Port("key", optional=True, doc="keys (S, E) for cross-attention (empty: the query)"),
        Port("value", optional=True, doc="values (S, E) (empty: the key)"),
        Port(
            "key_padding_mask",
            optional=True,
            dtype="any",
            doc="(S,) per sample: nonzero marks a padding position to ignore",
        ),
    ),
    outputs=(
        Port("output"),
        Port("weights", doc="attention weights (T, S), averaged over heads"),
    ),
    infer={"embed_dim": last_dim},
    fixed={"batch_first": True},
    call=_mha_call,
    ranks=(1, 2),
    validate=lambda p, s, n: _heads_divide("num_heads")(p, s, n) or _mha_validate(s),
)


def _mha_validate(s: Sequence[Any]) -> list[str]:
    q, k, v, pad = s
    if len(q) != 2 or any(x is not None and len(x) != 2 for x in (k, v)):
        return ["query, key and value are (T, E) sequences"]
    k = k or q
    if v is not None and v[0] != k[0]:
        return [f"key has {k[0]} positions but value {v[0]}"]
    if pad is not None and tuple(pad) != (k[0],):
        return [f"key_padding_mask must be ({k[0]},) per sample, one per key, got {tuple(pad)}"]
    return []


def _decoder_call(m: str | None, ins: Sequence[Any], out: str, p: dict[str, Any]) -> list[str]:
    tgt, memory = ins
    if p["causal"]:
        return [
            f"{out} = {m}({tgt}, {memory}, tgt_mask={causal_mask(tgt, tgt)}, tgt_is_causal=True)"
        ]
    return [f"{out} = {m}({tgt}, {memory})"]


layer(
    nn.TransformerEncoderLayer,
    "Layers",
    "Attention",
    "Transformer encoder layer: self-attention and a feed-forward block over (T, E).",
    [
        P("nhead", "int", 4, "attention heads; must divide the feature size", min=1),
        P("dim_feedforward", "int", 256, "width of the feed-forward block", min=1),
        P("dropout", "float", 0.1, "dropout", min=0.0, max=1.0),
        P("activation", "choice", "relu", "feed-forward activation", choices=("relu", "gelu")),
        P("layer_norm_eps", "float", 1e-5, "layer norm epsilon", min=0.0),
        P("norm_first", "bool", False, "pre-norm instead of post-norm"),
    ],
    infer={"d_model": last_dim},
    fixed={"batch_first": True},
    ranks=(2,),
    validate=_heads_divide("nhead"),
)
layer(
    nn.TransformerDecoderLayer,
    "Layers",
    "Attention",
    "Transformer decoder layer: self-attention over tgt, cross-attention to memory, "
    "feed-forward; (T, E) and (S, E).",
    [
        P("nhead", "int", 4, "attention heads; must divide the feature size", min=1),
        P("dim_feedforward", "int", 256, "width of the feed-forward block", min=1),
        P("dropout", "float", 0.1, "dropout", min=0.0, max=1.0),
        P("activation", "choice", "relu", "feed-forward activation", choices=("relu", "gelu")),
        P("layer_norm_eps", "float", 1e-5, "layer norm epsilon", min=0.0),
        P("norm_first", "bool", False, "pre-norm instead of post-norm"),
        P("causal", "bool", True, "tgt attends only to itself and earlier positions", ctor=False),
    ],
    inputs=(Port("input", doc="tgt (T, E)"), Port("memory", doc="the encoder's output (S, E)")),
    infer={"d_model": last_dim},
    fixed={"batch_first": True},
    call=_decoder_call,
    ranks=(2,),
    validate=_heads_divide("nhead"),
)
layer(
    nn.Upsample,
    "Layers",
    "Resampling",
    "Upsamples (C, L), (C, H, W) or (C, D, H, W) to a size or by a scale factor.",
    [
        P(
            "size",
            "ints",
            None,
            "output spatial size (empty: use scale_factor)",
            optional=True,
            min=1,
        ),
        P(
            "scale_factor",
            "float",
            2.0,
            "multiplier for the spatial size (empty: use size)",
            min=0.01,
            optional=True,
        ),
        P(
            "mode",
            "choice",
            "nearest",
            "interpolation",
            choices=("nearest", "linear", "bilinear", "bicubic", "trilinear"),
        ),
        P(
            "align_corners",
            "bool",
            None,
            "align the corner pixels of input and output (linear modes only; empty: torch's)",
            optional=True,
        ),
    ],
    ranks=(2, 3, 4),
    validate=lambda p, s, n: (
        _upsample_validate(p, s)
        or (
            [
                f"mode {p['mode']!r} needs a "
                f"{ {'linear': 2, 'bilinear': 3, 'bicubic': 3, 'trilinear': 4}[p['mode']] }-D sample, got {len(s[0])}-D"
            ]
            if s
            and p["mode"] != "nearest"
            and {"linear": 2, "bilinear": 3, "bicubic": 3, "trilinear": 4}[p["mode"]] != len(s[0])
            else []
        )
    ),
)


def _upsample_validate(p: dict[str, Any], s: Sequence[Shape]) -> list[str]:
    if (p["size"] is None) == (p["scale_factor"] is None):
        return ["give exactly one of size and scale_factor"]
    if p["align_corners"] is not None and p["mode"] == "nearest":
        return ["align_corners applies to linear, bilinear, bicubic and trilinear modes only"]
    size = p["size"]
    if s and isinstance(size, list) and len(size) != len(s[0]) - 1:
        return [f"size has {len(size)} numbers, the input {len(s[0]) - 1} spatial dimensions"]
    return []


# -- shape ops ---------------------------------------------------------------------------
layer(
    nn.Flatten,
    "Shape",
    "",
    "Flattens dimensions start_dim..end_dim into one (default: all but the batch).",
    [
        P("start_dim", "int", 1, "first dimension to flatten (0 is the batch)", min=1),
        P("end_dim", "int", -1, "last dimension to flatten (-1: the last)"),
    ],
)
layer(
    nn.Unflatten,
    "Shape",
    "",
    "Expands one dimension into several.",
    [
        P("dim", "int", 1, "dimension to expand (0 is the batch)", min=1),
        P("unflattened_size", "shape", [1, 28, 28], "sizes it expands into"),
    ],
)
layer(nn.Identity, "Shape", "", "Passes its input through unchanged.", ())


def _reshape_call(m: str | None, ins: Sequence[str], out: str, p: dict[str, Any]) -> list[str]:
    dims = ", ".join(str(int(v)) for v in p["shape"])  # numbers only reach the source
    return [f"{out} = {ins[0]}.reshape({ins[0]}.shape[0], {dims})"]


def _reshape_validate(p: dict[str, Any], s: Sequence[Shape], n: Sequence[str]) -> list[str]:
    if not s:
        return []
    total = 1
    for v in s[0]:
        total *= v
    want = 1
    for v in p["shape"]:
        if v != -1:
            want *= v
    if (-1 in p["shape"] and (want == 0 or total % want)) or (
        -1 not in p["shape"] and want != total
    ):
        return [f"cannot reshape {tuple(s[0])} ({total} values) into {tuple(p['shape'])}"]
    return []


register(
    NodeSpec(
        type="Reshape",
        category="Shape",
        doc="Reshapes each sample; one size may be -1 (inferred).",
        params=(P("shape", "shape", [-1], "new shape of one sample", allow_minus_one=True),),
        call=_reshape_call,
        validate=_reshape_validate,
        input_dtype="any",
    )
)


def _permute_call(m: str | None, ins: Sequence[str], out: str, p: dict[str, Any]) -> list[str]:
    return [f"{out} = {ins[0]}.permute({', '.join(str(int(d)) for d in p['dims'])})"]


def _permute_validate(p: dict[str, Any], s: Sequence[Shape], n: Sequence[str]) -> list[str]:
    dims = p["dims"]
    if not dims or dims[0] != 0:
        return ["dims must start with 0: the batch dimension stays first"]
    if s and sorted(dims) != list(range(len(s[0]) + 1)):
        return [
            f"dims {tuple(dims)} must order all {len(s[0]) + 1} dimensions of the batched "
            f"input (0..{len(s[0])})"
        ]
    return []


register(
    NodeSpec(
        type="Permute",
        category="Shape",
        doc="Reorders dimensions (torch's numbering on the batched tensor; 0 stays first).",
        params=(P("dims", "shape", [0, 2, 1], "new order of the batched dimensions", min=0),),
        call=_permute_call,
        validate=_permute_validate,
        input_dtype="any",
    )
)


# -- merges ------------------------------------------------------------------------------
def _fmt_shape(s: Shape) -> str:
    return "(" + ", ".join(str(v) for v in s) + ("," if len(s) == 1 else "") + ")"


def _op_call(op: str) -> Any:
    def call(m: str | None, ins: Sequence[str], out: str, p: dict[str, Any]) -> list[str]:
        return [f"{out} = {f' {op} '.join(ins)}"]

    return call


MERGE_IN = (Port("inputs", multi=True),)
register(
    NodeSpec(
        type="Add",
        category="Merges",
        doc="Element-wise sum of any number of inputs, broadcasting as numpy does (skip "
        "connections, learned positions).",
        inputs=MERGE_IN,
        call=_op_call("+"),
        validate=broadcast_validate,
    )
)
register(
    NodeSpec(
        type="Mul",
        category="Merges",
        doc="Element-wise product of any number of inputs, broadcasting as numpy does "
        "(gating, squeeze-excitation).",
        inputs=MERGE_IN,
        call=_op_call("*"),
        validate=broadcast_validate,
    )
)


def _concat_call(m: str | None, ins: Sequence[str], out: str, p: dict[str, Any]) -> list[str]:
    return [f"{out} = torch.cat([{', '.join(ins)}], dim={int(p['dim'])})"]


def _concat_validate(p: dict[str, Any], s: Sequence[Shape], n: Sequence[str]) -> list[str]:
    if len(s) < 2:
        return [f"needs at least 2 inputs, has {len(s)}"]
    rank = len(s[0]) + 1
    dim = p["dim"]
    if not -rank <= dim < rank or dim % rank == 0:
        return [f"dim {dim} is not a feature dimension of the batched inputs (1..{rank - 1})"]
    d = dim % rank
    for other in s[1:]:
        if len(other) != len(s[0]):
            return [
                f"inputs {_fmt_shape(s[0])} and {_fmt_shape(other)} have different numbers "
                "of dimensions"
            ]
        for i, (a, b) in enumerate(zip(s[0], other, strict=True)):
            if i + 1 != d and a != b:
                return [
                    f"inputs {_fmt_shape(s[0])} and {_fmt_shape(other)} differ in dimension "
                    f"{i + 1}; only dimension {d}, the one joined, may differ"
                ]
    return []


register(
    NodeSpec(
        type="Concat",
        category="Merges",
        doc="Joins any number of inputs along dim (torch's numbering on the batched tensor).",
        inputs=MERGE_IN,
        params=(P("dim", "int", 1, "dimension to join along (1: channels/features)"),),
        call=_concat_call,
        validate=_concat_validate,
    )
)

# -- activations -------------------------------------------------------------------------
ACT = "Activations"


def act(cls: type, doc: str, params: Sequence[Param] = (), **kw: Any) -> NodeSpec:
    return layer(cls, ACT, "", doc, params, **kw)


act(nn.ReLU, "max(0, x).")
act(nn.ReLU6, "min(max(0, x), 6).")
act(
    nn.LeakyReLU,
    "x for x > 0, else negative_slope·x.",
    [P("negative_slope", "float", 0.01, "slope for x < 0")],
)
act(
    nn.PReLU,
    "Leaky ReLU with a learned slope (one, or one per channel).",
    [
        P("num_parameters", "int", 1, "1, or the number of channels", min=1),
        P("init", "float", 0.25, "initial slope"),
    ],
)
act(nn.ELU, "x for x > 0, else alpha·(eˣ − 1).", [P("alpha", "float", 1.0, "scale for x < 0")])
act(nn.SELU, "Self-normalizing ELU with fixed scale and alpha.")
act(
    nn.CELU,
    "Continuously differentiable ELU.",
    [P("alpha", "float", 1.0, "scale for x < 0", min=1e-6)],
)
act(
    nn.GELU,
    "Gaussian error linear unit.",
    [P("approximate", "choice", "none", "tanh approximation", choices=("none", "tanh"))],
)
act(nn.SiLU, "x·sigmoid(x) (swish).")
act(nn.Mish, "x·tanh(softplus(x)).")
act(nn.Sigmoid, "1 / (1 + e⁻ˣ).")
act(nn.Tanh, "Hyperbolic tangent.")
act(
    nn.Hardtanh,
    "Clamps to [min_val, max_val].",
    [P("min_val", "float", -1.0, "lower bound"), P("max_val", "float", 1.0, "upper bound")],
    validate=lambda p, s, n: (
        ["max_val must be greater than min_val"] if p["max_val"] <= p["min_val"] else []
    ),
)
act(nn.Hardswish, "Piecewise-linear swish (MobileNetV3).")
act(nn.Hardsigmoid, "Piecewise-linear sigmoid: clamp(x/6 + 1/2, 0, 1) (MobileNetV3's SE gate).")
act(
    nn.Softplus,
    "Smooth ReLU: log(1 + e^(beta·x)) / beta.",
    [
        P("beta", "float", 1.0, "sharpness", min=1e-6),
        P("threshold", "float", 20.0, "revert to linear above this"),
    ],
)
act(nn.Softsign, "x / (1 + |x|).")
act(
    nn.Softmax,
    "Normalizes to probabilities along dim.",
    [P("dim", "int", -1, "dimension that sums to 1 (-1: the last)")],
)
act(
    nn.LogSoftmax,
    "Log of softmax along dim (pairs with NLLLoss).",
    [P("dim", "int", -1, "dimension (-1: the last)")],
)
act(
    nn.GLU,
    "Gated linear unit: splits dim in halves a, b and returns a·sigmoid(b).",
    [P("dim", "int", -1, "dimension to split; its size must be even")],
    validate=lambda p, s, n: (
        [f"dimension {p['dim']} has odd size {s[0][p['dim'] - 1 if p['dim'] > 0 else p['dim']]}"]
        if s
        and s[0]
        and (p["dim"] != 0)
        and -len(s[0]) <= (p["dim"] - 1 if p["dim"] > 0 else p["dim"]) < len(s[0])
        and s[0][p["dim"] - 1 if p["dim"] > 0 else p["dim"]] % 2
        else []
    ),
)
