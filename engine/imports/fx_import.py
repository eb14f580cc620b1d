"""``nn.Module`` → graph of catalog nodes + state dict, through ``torch.fx``.

``symbolic_trace`` (with stack traces recorded, so an unsupported op can be pointed at in
the user's source) flattens the user's own modules into calls of torch layers, functions
and tensor methods; ``ShapeProp`` runs the trace once on a random batch, which gives every
tensor's shape for the reshape-like calls. Known torch layers become the catalog node of
the same class with parameters read from the layer's attributes and its own state dict as
weights (the compiled node builds that very class, so the keys inside a node are torch's).
A module that fx cannot trace (data-dependent control flow) fails with the trace error and
the hint to export it to ONNX and import that file (``torch.export``'s ATen graph is not
mapped).
"""

from __future__ import annotations

import importlib
import operator
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from engine import catalog
from engine.errors import failure_text
from engine.imports.builder import Builder, ImportResult, Unsupported, check_parity
from engine.imports.report import ImportReport, ModelImportError

# -- layers -----------------------------------------------------------------------------
_SKIP_MODULES = {nn.MultiheadAttention, nn.TransformerEncoderLayer}  # call/attrs differ


def _layer_types() -> dict[type, str]:
    return {
        s.module: s.type
        for s in catalog.all_specs()
        if s.kind == "model" and s.module is not None and s.module not in _SKIP_MODULES
    }


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


def _layer_params(mod: nn.Module, type_name: str) -> dict[str, Any]:
    """The node's parameters from the layer's attributes; what the catalog cannot say
    raises Unsupported."""
    spec = catalog.get(type_name)
    params: dict[str, Any] = {}
    for p in spec.params:
        if p.name == "bias" and isinstance(getattr(mod, "bias", None), (torch.Tensor, type(None))):
            params["bias"] = mod.bias is not None
        elif p.ctor and hasattr(mod, p.name):
            params[p.name] = _plain(getattr(mod, p.name))
    if isinstance(mod, nn.modules.conv._ConvNd) and isinstance(mod.padding, str):
        if mod.padding != "valid":
            raise Unsupported(f"padding={mod.padding!r} (give the padding as numbers)")
        params["padding"] = 0
    if isinstance(mod, nn.modules.batchnorm._BatchNorm) and (
        not mod.track_running_stats or mod.momentum is None
    ):
        raise Unsupported("track_running_stats=False or momentum=None")
    if isinstance(mod, nn.LayerNorm):
        if mod.elementwise_affine and getattr(mod, "bias", True) is None:
            raise Unsupported("LayerNorm(bias=False)")
        params["normalized_dims"] = len(mod.normalized_shape)
    if isinstance(mod, nn.RNNBase):
        if not mod.batch_first:
            raise Unsupported("batch_first=False (Torchwire's recurrent layers are batch-first)")
        if getattr(mod, "proj_size", 0):
            raise Unsupported("proj_size")
    if isinstance(mod, nn.PReLU):
        params["num_parameters"] = int(mod.weight.numel())
        params.pop("init", None)
    if isinstance(mod, nn.Upsample):
        sf = mod.scale_factor
        if mod.size is not None or sf is None:
            raise Unsupported("Upsample by size (only scale_factor maps)")
        if isinstance(sf, tuple):
            if len(set(sf)) != 1:
                raise Unsupported(f"scale_factor {sf}: different factors per dimension")
            sf = sf[0]
        if mod.align_corners:
            raise Unsupported("align_corners=True")
        params["scale_factor"] = float(sf)
    if isinstance(mod, (nn.MaxPool1d, nn.MaxPool2d)) and mod.return_indices:
        raise Unsupported("return_indices=True")
    if isinstance(mod, (nn.AvgPool1d, nn.AvgPool2d)) and getattr(mod, "divisor_override", None):
        raise Unsupported("divisor_override")
    if isinstance(mod, nn.Embedding) and mod.max_norm is not None:
        raise Unsupported("max_norm")
    if isinstance(mod, (nn.Softmax, nn.LogSoftmax)) and mod.dim is None:
        raise Unsupported("dim=None")
    for k in ("kernel_size", "stride", "padding", "dilation", "output_padding", "output_size"):
        if isinstance(params.get(k), list) and len(set(params[k])) == 1:
            params[k] = params[k][0]
    return params


# -- functions and methods ----------------------------------------------------------------
def _bind(node: fx.Node, spec: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """Arguments of a call by name (positional first, then keywords, then defaults)."""
    out = {name: default for name, default in spec}
    for (name, _), v in zip(spec, node.args, strict=False):
        out[name] = v
    for k, v in node.kwargs.items():
        if k not in out:
            raise Unsupported(f"argument {k}={v!r}")
        out[k] = v
    return out


ACTIVATIONS: dict[Any, tuple[str, Sequence[tuple[str, Any]], dict[str, str]]] = {}


def _act(
    fns: Sequence[Any],
    type_name: str,
    spec: Sequence[tuple[str, Any]] = (),
    rename: dict[str, str] | None = None,
) -> None:
    for f in fns:
        ACTIVATIONS[f] = (type_name, [("input", None), *spec], rename or {})


_act([F.relu, torch.relu, "relu"], "ReLU", [("inplace", False)])
_act([F.relu6], "ReLU6", [("inplace", False)])
_act([torch.sigmoid, F.sigmoid, "sigmoid"], "Sigmoid")
_act([torch.tanh, F.tanh, "tanh"], "Tanh")
_act([F.silu], "SiLU", [("inplace", False)])
_act([F.mish], "Mish", [("inplace", False)])
_act([F.hardswish], "Hardswish", [("inplace", False)])
_act([F.softsign], "Softsign")
_act([F.selu, torch.selu], "SELU", [("inplace", False)])
_act([F.gelu], "GELU", [("approximate", "none")])
_act([F.elu], "ELU", [("alpha", 1.0), ("inplace", False)])
_act([F.leaky_relu], "LeakyReLU", [("negative_slope", 0.01), ("inplace", False)])
_act([F.softplus], "Softplus", [("beta", 1.0), ("threshold", 20.0)])
_SM = [("dim", None), ("_stacklevel", 3), ("dtype", None)]
_act([F.softmax, torch.softmax, "softmax"], "Softmax", _SM)
_act([F.log_softmax, torch.log_softmax, "log_softmax"], "LogSoftmax", _SM)
_act([F.dropout], "Dropout", [("p", 0.5), ("training", True), ("inplace", False)])

ADD = {operator.add, operator.iadd, torch.add, "add"}
MUL = {operator.mul, operator.imul, torch.mul, "mul"}
PLUMBING = {
    torch.reshape,
    torch.squeeze,
    torch.unsqueeze,
    "view",
    "reshape",
    "squeeze",
    "unsqueeze",
}
PASS = {"contiguous", torch.clone, "clone", "detach"}
SUB = {operator.sub, operator.isub, torch.sub, "sub"}
DIV = {operator.truediv, operator.itruediv, torch.div, "div"}
REDUCE: dict[Any, str] = {}
for _op in ("mean", "sum", "amax", "amin", "std", "var", "logsumexp"):
    REDUCE[getattr(torch, _op)] = REDUCE[_op] = _op
UNARY: dict[Any, str] = {}
for _op in ("abs", "neg", "exp", "log", "sqrt", "rsqrt", "reciprocal", "sin", "cos", "erf"):
    UNARY[getattr(torch, _op)] = UNARY[_op] = _op
UNARY[operator.neg] = "neg"


def _target_name(node: fx.Node, gm: fx.GraphModule) -> str:
    t = node.target
    if node.op == "call_module":
        cls = type(gm.get_submodule(str(t)))
        return f"{cls.__module__}.{cls.__name__}"
    if isinstance(t, str):
        return f"Tensor.{t}" if node.op == "call_method" else t
    mod = getattr(t, "__module__", None) or ""
    return f"{mod}.{getattr(t, '__name__', repr(t))}".lstrip(".")


def _location(node: fx.Node) -> str:
    trace = node.stack_trace or ""
    found = re.findall(r'File "([^"]+)", line (\d+)', trace)
    torch_dir = str(Path(torch.__file__).parent)
    own = [f for f in found if not f[0].startswith(torch_dir)] or found
    return f"{own[-1][0]}:{own[-1][1]}" if own else ""


class _Fx:
    def __init__(self, gm: fx.GraphModule, b: Builder) -> None:
        self.gm = gm
        self.b = b
        self.val: dict[fx.Node, str] = {}
        self.layers = _layer_types()
        self.rnn_tuple: dict[fx.Node, fx.Node] = {}  # getitem source → recurrent call
        self.rnn_nid: dict[fx.Node, str] = {}
        self.multi: dict[fx.Node, str] = {}  # torch.split / chunk call → its node (ports)

    def shape(self, n: Any) -> tuple[int, ...]:
        meta = n.meta.get("tensor_meta") if isinstance(n, fx.Node) else None
        if meta is None or not hasattr(meta, "shape"):
            raise Unsupported(f"{n} is not a tensor")
        return tuple(meta.shape)

    def x(self, n: Any) -> str:
        if not isinstance(n, fx.Node) or n not in self.val:
            raise Unsupported(f"argument {n!r} is not a computed tensor")
        return self.val[n]

    def is_tensor(self, n: Any) -> bool:
        return isinstance(n, fx.Node) and n in self.val

    def node(self, n: fx.Node) -> None:
        if n.op == "placeholder":
            raise AssertionError("placeholders are added first")
        if n.op == "get_attr":
            raise Unsupported("a tensor stored on the module (a constant or a bare parameter)")
        if n.op == "call_module":
            return self.module(n)
        if n.op in ("call_function", "call_method"):
            return self.call(n)
        raise Unsupported(f"fx op {n.op}")

    def module(self, n: fx.Node) -> None:
        mod = self.gm.get_submodule(str(n.target))
        type_name = self.layers.get(type(mod))
        if type_name is None:
            raise Unsupported(f"no node type for {type(mod).__module__}.{type(mod).__name__}")
        params = _layer_params(mod, type_name)
        if len(n.args) != 1 or n.kwargs:
            raise Unsupported("called with more than one input")
        name = str(n.target).replace(".", "_")
        nid = self.b.add(type_name, [self.x(n.args[0])], name, dict(mod.state_dict()), **params)
        if isinstance(mod, nn.RNNBase):
            self.rnn_nid[n] = nid  # its value is a tuple: getitem 0 is the sequence
        else:
            self.val[n] = nid

    def call(self, n: fx.Node) -> None:
        """A function or method call: the first handler whose targets hold ``n``'s maps it."""
        t = n.target
        if t is operator.getitem:
            return self.getitem(n)
        if t in ("size", "dim") or t is getattr:
            return None  # x.size(0), x.shape: plain values the reshape calls read
        if not any(self.is_tensor(a) for a in n.all_input_nodes) and not any(
            a in self.rnn_nid for a in n.all_input_nodes
        ):
            return None  # sizes and other plain values (x.size(0)): no node of their own
        if t in ACTIVATIONS:
            return self.activation(n)
        if self.tensor_op(n):
            return None
        if t in ADD or t in MUL:
            return self.merge(n)
        if t is torch.cat or t is torch.concat:
            return self.concat(n)
        if t in (torch.flatten, "flatten"):
            return self.flatten(n)
        if t in PLUMBING:
            src = n.args[0]
            self.val[n] = self.b.plumb(self.x(src), self.shape(src), self.shape(n), n.name)
            return None
        if t in PASS:
            self.val[n] = self.x(n.args[0])
            return None
        if t in ("permute", torch.permute, "transpose", torch.transpose):
            return self.permute(n)
        if t in (torch.mean, "mean"):
            return self.global_mean(n)
        if t in (F.adaptive_avg_pool2d, F.adaptive_avg_pool1d):
            return self.adaptive_pool(n)
        if t in (F.max_pool2d, F.avg_pool2d, F.max_pool1d, F.avg_pool1d):
            return self.pool(n)
        raise Unsupported("no node type for this function")

    def activation(self, n: fx.Node) -> None:
        """An activation function (or dropout): the catalog node of its layer class."""
        type_name, spec, _ = ACTIVATIONS[n.target]
        a = _bind(n, spec)
        src = self.x(a.pop("input"))
        a.pop("inplace", None)
        if type_name == "Dropout":
            a.pop("training")
        a.pop("_stacklevel", None)
        if a.pop("dtype", None) is not None:
            raise Unsupported("dtype=")
        if type_name in ("Softmax", "LogSoftmax") and (
            a["dim"] is None or a["dim"] % (len(self.shape(n)) or 1) == 0
        ):
            raise Unsupported(f"dim={a['dim']} (the batch or an implicit dim)")
        self.val[n] = self.b.add(type_name, [src], n.name, **a)

    def merge(self, n: fx.Node) -> None:
        """Add/Mul of two computed tensors of one shape: the Add/Mul merge node."""
        t = n.target
        a = _bind(n, [("input", None), ("other", None), ("alpha", 1)])
        if a["alpha"] != 1 or not (self.is_tensor(a["input"]) and self.is_tensor(a["other"])):
            raise Unsupported("with a constant or alpha (Add/Mul merge computed tensors)")
        if self.shape(a["input"]) != self.shape(a["other"]):
            raise Unsupported("inputs of different shapes (broadcasting)")
        kind = "Add" if t in ADD else "Mul"
        self.val[n] = self.b.add(kind, [self.x(a["input"]), self.x(a["other"])], n.name)

    def concat(self, n: fx.Node) -> None:
        a = _bind(n, [("tensors", None), ("dim", 0)])
        rank = len(self.shape(n))
        if a["dim"] % rank == 0:
            raise Unsupported("joins along the batch dimension")
        srcs = [self.x(v) for v in a["tensors"]]
        self.val[n] = self.b.add("Concat", srcs, n.name, dim=a["dim"] % rank)

    def flatten(self, n: fx.Node) -> None:
        a = _bind(n, [("input", None), ("start_dim", 0), ("end_dim", -1)])
        if a["start_dim"] == 0:
            raise Unsupported("flattens the batch dimension (start_dim=0)")
        self.val[n] = self.b.add(
            "Flatten",
            [self.x(a["input"])],
            n.name,
            start_dim=a["start_dim"],
            end_dim=a["end_dim"],
        )

    def permute(self, n: fx.Node) -> None:
        """permute/transpose that keep the batch dimension first: a Permute node."""
        t = n.target
        src = n.args[0]
        rank = len(self.shape(src))
        if t in ("transpose", torch.transpose):
            a = _bind(n, [("input", None), ("dim0", None), ("dim1", None)])
            dims = list(range(rank))
            i, j = a["dim0"] % rank, a["dim1"] % rank
            dims[i], dims[j] = dims[j], dims[i]
        else:
            rest = n.args[1:]
            if len(rest) == 1 and isinstance(rest[0], (tuple, list)):
                rest = rest[0]
            dims = [int(d) % rank for d in (rest or n.kwargs.get("dims", ()))]
        if dims[0] != 0:
            raise Unsupported(f"dims {dims} move the batch dimension")
        self.val[n] = self.b.add("Permute", [self.x(src)], n.name, dims=dims)

    def global_mean(self, n: fx.Node) -> None:
        """A mean over every spatial dim (what ``tensor_op`` leaves): a global average pool."""
        a = _bind(n, [("input", None), ("dim", None), ("keepdim", False)])
        src = a["input"]
        rank = len(self.shape(src))
        dims = a["dim"] if isinstance(a["dim"], (tuple, list)) else [a["dim"]]
        dims = sorted(int(d) % rank for d in dims if d is not None)
        if rank not in (3, 4) or dims != list(range(2, rank)):
            raise Unsupported(f"mean over {a['dim']} (only a global average pool maps)")
        pool = self.b.add(f"AdaptiveAvgPool{rank - 2}d", [self.x(src)], n.name, output_size=1)
        self.val[n] = pool if a["keepdim"] else self.b.add("Flatten", [pool], f"{n.name}_flatten")

    def adaptive_pool(self, n: fx.Node) -> None:
        a = _bind(n, [("input", None), ("output_size", None)])
        d = 2 if n.target is F.adaptive_avg_pool2d else 1
        size = _plain(a["output_size"])
        self.val[n] = self.b.add(
            f"AdaptiveAvgPool{d}d", [self.x(a["input"])], n.name, output_size=size
        )

    def pool(self, n: fx.Node) -> None:
        """F.max_pool1d/2d, F.avg_pool1d/2d: the pooling node of that kind and rank."""
        t = n.target
        is_max = t in (F.max_pool2d, F.max_pool1d)
        d = 2 if t in (F.max_pool2d, F.avg_pool2d) else 1
        spec = [("input", None), ("kernel_size", None), ("stride", None), ("padding", 0)]
        spec += (
            [("dilation", 1), ("ceil_mode", False), ("return_indices", False)]
            if is_max
            else [("ceil_mode", False), ("count_include_pad", True), ("divisor_override", None)]
        )
        a = _bind(n, spec)
        src = self.x(a.pop("input"))
        if a.pop("return_indices", False) or a.pop("divisor_override", None):
            raise Unsupported("return_indices / divisor_override")
        if a["stride"] is None or a["stride"] == []:
            a["stride"] = None
        self.val[n] = self.b.add(
            f"{'Max' if is_max else 'Avg'}Pool{d}d",
            [src],
            n.name,
            **{k: _plain(v) for k, v in a.items()},
        )

    def getitem(self, n: fx.Node) -> None:
        src, idx = n.args
        if src in self.rnn_nid:
            if idx != 0 and not n.users:
                return None  # ``out, _ = self.lstm(x)``: the unused state
            if idx != 0:
                raise Unsupported(
                    "the hidden state of a recurrent layer (only its output sequence maps)"
                )
            self.val[n] = self.rnn_nid[src]
            self.rnn_tuple[n] = src
            return None
        if isinstance(src, fx.Node) and src in self.rnn_tuple and self._last_step(idx):
            rnn = self.gm.get_submodule(str(self.rnn_tuple[src].target))
            if not rnn.bidirectional and len(src.users) == 1:
                nid = self.val[src]
                self.b.graph.set(nid, output="last")
                self.val[n] = nid
                return None
        if isinstance(src, fx.Node) and src in self.multi:
            self.val[n] = f"{self.multi[src]}:output{int(idx)}"
            return None
        if not self.is_tensor(src):
            return None  # x.shape[0] and the like
        self.index(n, src, idx)

    def tensor_op(self, n: fx.Node) -> bool:
        """Calls onto the tensor node types (broadcasting arithmetic, matmul, reductions,
        the element-wise menu, split/chunk, hardsigmoid, interpolate by size); False when
        ``n`` is none of them (or an Add/Mul of equal shapes, which the merge rule maps)."""
        t = n.target
        if t in ADD or t in MUL or t in SUB or t in DIV:
            a = _bind(n, [("input", None), ("other", None), ("alpha", 1)])
            x, y = a["input"], a["other"]
            if a["alpha"] != 1:
                raise Unsupported("alpha")
            both = self.is_tensor(x) and self.is_tensor(y)
            if (t in ADD or t in MUL) and both and self.shape(x) == self.shape(y):
                return False
            kind = "Add" if t in ADD else "Mul" if t in MUL else "Sub" if t in SUB else "Div"
            if both:
                if len(self.shape(x)) != len(self.shape(y)):
                    raise Unsupported("operands of different ranks: the batch would move")
                self.val[n] = self.b.add(kind, [self.x(x), self.x(y)], n.name)
                return True
            if isinstance(x, (int, float)) and self.is_tensor(y):
                if kind in ("Sub", "Div"):
                    raise Unsupported(f"a number {'minus' if kind == 'Sub' else 'over'} a tensor")
                x, y = y, x
            if not (self.is_tensor(x) and isinstance(y, (int, float))):
                raise Unsupported("a constant tensor operand (only a number maps)")
            if kind == "Div":  # x · (1/c) is not x / c exactly
                raise Unsupported("dividing by a number (multiply by its inverse instead)")
            op, v = ("scale", y) if kind == "Mul" else ("shift", -y if kind == "Sub" else y)
            self.val[n] = self.b.add("Elementwise", [self.x(x)], n.name, op=op, value=float(v))
            return True
        if t in (torch.matmul, operator.matmul, "matmul"):
            x, y = n.args[0], n.args[1]
            if len(self.shape(x)) < 3 or len(self.shape(x)) != len(self.shape(y)):
                raise Unsupported("matmul of tensors of different ranks or 2-D")
            self.val[n] = self.b.add("MatMul", [self.x(x), self.x(y)], n.name)
            return True
        if t in REDUCE and not (t in (torch.mean, "mean") and self._global_mean(n)):
            a = _bind(n, [("input", None), ("dim", None), ("keepdim", False)])
            rank = len(self.shape(a["input"]))
            if a["dim"] is None:
                raise Unsupported("reduces every dimension, the batch too")
            d = a["dim"] if isinstance(a["dim"], (tuple, list)) else [a["dim"]]
            dims = sorted({int(v) % rank for v in d})
            if 0 in dims:
                raise Unsupported("reduces over the batch dimension")
            self.val[n] = self.b.add(
                "Reduce",
                [self.x(a["input"])],
                n.name,
                op=REDUCE[t],
                dim=dims[0] if len(dims) == 1 else dims,
                keepdim=bool(a["keepdim"]),
            )
            return True
        if t in UNARY:
            self.val[n] = self.b.add("Elementwise", [self.x(n.args[0])], n.name, op=UNARY[t])
            return True
        if t is F.hardsigmoid:
            self.val[n] = self.b.add("Hardsigmoid", [self.x(n.args[0])], n.name)
            return True
        if t in (torch.split, "split", torch.chunk, "chunk"):
            is_split = t in (torch.split, "split")
            a = _bind(n, [("input", None), ("sizes" if is_split else "chunks", None), ("dim", 0)])
            src = a["input"]
            rank = len(self.shape(src))
            dim = int(a["dim"]) % rank
            if dim == 0:
                raise Unsupported("splits the batch dimension")
            if is_split:
                size = self.shape(src)[dim]
                sz = a["sizes"]
                sizes = list(sz) if isinstance(sz, (list, tuple)) else [int(sz)] * (size // sz)
                if sum(sizes) != size:
                    sizes.append(size - sum(sizes))
                nid = self.b.add("SplitTensor", [self.x(src)], n.name, dim=dim, sizes=sizes)
            else:
                nid = self.b.add("Chunk", [self.x(src)], n.name, chunks=int(a["chunks"]), dim=dim)
            self.multi[n] = nid
            return True
        if t is F.interpolate:
            spec = [("input", None), ("size", None), ("scale_factor", None), ("mode", "nearest")]
            spec += [("align_corners", None), ("recompute_scale_factor", None)]
            spec += [("antialias", False)]
            a = _bind(n, spec)
            if a["size"] is None or a["antialias"]:
                raise Unsupported("interpolate by scale_factor or with antialias")
            size = a["size"]
            rank = len(self.shape(a["input"])) - 2
            size = [int(v) for v in (size if isinstance(size, (list, tuple)) else [size] * rank)]
            self.val[n] = self.b.add(
                "Upsample",
                [self.x(a["input"])],
                n.name,
                size=size,
                scale_factor=None,
                mode=a["mode"],
                align_corners=a["align_corners"],
            )
            return True
        return False

    def _global_mean(self, n: fx.Node) -> bool:
        a = _bind(n, [("input", None), ("dim", None), ("keepdim", False)])
        rank = len(self.shape(a["input"]))
        d = a["dim"] if isinstance(a["dim"], (tuple, list)) else [a["dim"]]
        dims = sorted(int(v) % rank for v in d if v is not None)
        return rank in (3, 4) and dims == list(range(2, rank))

    def index(self, n: fx.Node, src: fx.Node, idx: Any) -> None:
        """``x[:, 0]``, ``x[:, 1:3]``, ``x[..., ::2]``: Select and Slice nodes, one per dim."""
        rank = len(self.shape(src))
        items = list(idx) if isinstance(idx, tuple) else [idx]
        if Ellipsis in items:
            k = items.index(Ellipsis)
            items = items[:k] + [slice(None)] * (rank - len(items) + 1) + items[k + 1 :]
        if len(items) > rank or not all(isinstance(i, (int, slice)) for i in items):
            raise Unsupported(f"indexing with {idx!r}")
        out = self.x(src)
        removed = 0
        for d, i in enumerate(items):
            dim = d - removed
            if i == slice(None):
                continue
            if d == 0:
                raise Unsupported("indexes the batch dimension")
            if isinstance(i, int):
                out = self.b.add("Select", [out], n.name, dim=dim, index=i)
                removed += 1
                continue
            size = self.shape(src)[d]
            start, stop, step = i.indices(size)
            if stop <= start:
                raise Unsupported(f"the empty slice {i}")
            end = None if stop >= size else stop
            out = self.b.add("Slice", [out], n.name, dim=dim, start=start, end=end, step=step)
        self.val[n] = out

    @staticmethod
    def _last_step(idx: Any) -> bool:
        return (
            isinstance(idx, tuple)
            and len(idx) == 2
            and idx[0] == slice(None, None, None)
            and idx[1] == -1
        )


def _resolve(spec: str) -> nn.Module:
    """``package.module:callable`` (the user's own choice on the command line or in a dialog,
    never read from a project file): imported, called with no arguments."""
    mod_name, sep, attr = spec.partition(":")
    if not sep or not mod_name or not attr:
        raise ModelImportError(f"{spec!r}: expected package.module:callable")
    try:
        obj: Any = importlib.import_module(mod_name)
    except ImportError as e:
        raise ModelImportError(f"{spec}: cannot import {mod_name} ({e})") from None
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # the user's module failed, or exited, while importing
        raise ModelImportError(f"{spec}: importing {mod_name} failed: {failure_text(e)}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ModelImportError(f"{spec}: {mod_name} has no {attr}")
        obj = getattr(obj, part)
    if not isinstance(obj, nn.Module):
        try:
            obj = obj()
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # sys.exit included: the import fails, naming the spec
            raise ModelImportError(f"{spec}: calling {attr}() failed: {failure_text(e)}") from None
    if not isinstance(obj, nn.Module):
        raise ModelImportError(
            f"{spec}: {attr}() returned a {type(obj).__name__}, not an nn.Module"
        )
    return obj


def import_module_result(
    module_or_spec: Any,
    *,
    input_shape: tuple[int, ...],
    dtype: str = "float32",
    tolerance: float = 1e-4,
) -> ImportResult:
    """Import a module; see :func:`engine.imports.import_module`."""
    source, module = _source_module(module_or_spec)
    rep = ImportReport(source=source, format="torch")
    if not input_shape:
        raise ModelImportError(
            f"{source}: give the shape of one input sample (--input-shape 3,224,224)", rep
        )
    if dtype not in ("float32", "int64"):
        raise ModelImportError(f"{source}: dtype {dtype!r} is not float32 or int64", rep)
    _check_example_size(source, input_shape, dtype, rep)
    module = module.eval()
    gm, placeholder = _trace(module, source, rep)
    x2 = _example(input_shape, dtype, batch=EXAMPLE_BATCH)
    _propagate_shapes(gm, x2, source, rep)
    name = re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", source.rpartition(":")[2] or source).lower()
    b = Builder(name or "model", rep)
    fxm = _Fx(gm, b)
    fxm.val[placeholder] = b.add(
        "Input", [], placeholder.name, shape=list(input_shape), dtype=dtype
    )
    outputs = _map_nodes(fxm, rep)
    _add_outputs(fxm, outputs, rep)
    compiled, sd = b.finish()
    with torch.no_grad():
        ref = module(x2)
        ours = compiled(x2)
    refs = list(ref) if isinstance(ref, (tuple, list)) else [ref]
    got = list(ours) if isinstance(ours, tuple) else [ours]
    check_parity(rep, got, refs, EXAMPLE_BATCH, tolerance)
    return ImportResult(b.graph, sd, rep)


def _source_module(module_or_spec: Any) -> tuple[str, nn.Module]:
    """The report's source name and the module: a module as given, or a spec resolved."""
    if isinstance(module_or_spec, str):
        return module_or_spec, _resolve(module_or_spec)
    if isinstance(module_or_spec, nn.Module):
        return type(module_or_spec).__name__, module_or_spec
    raise ModelImportError(
        f"cannot import a {type(module_or_spec).__name__}: give an nn.Module or package.module:callable"
    )


def _trace(module: nn.Module, source: str, rep: ImportReport) -> tuple[fx.GraphModule, fx.Node]:
    """The module traced by fx with stack traces (to point at the user's source), and its
    one input."""
    tracer = fx.Tracer()
    tracer.record_stack_traces = True
    try:
        graph = tracer.trace(module)
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # the module's forward runs here: sys.exit included
        raise ModelImportError(
            f"{source}: torch.fx cannot trace the module ({failure_text(e)}). "
            "Export it with torch.onnx.export and import the .onnx file instead.",
            rep,
        ) from None
    gm = fx.GraphModule(tracer.root, graph)
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise ModelImportError(
            f"{source}: forward takes {len(placeholders)} inputs; one is supported", rep
        )
    return gm, placeholders[0]


# The import runs the module on a few example samples; one sample of a real model is
# kilobytes to megabytes. A shape asking for more is a typo, refused before allocating.
MAX_EXAMPLE_BYTES = 2**30
EXAMPLE_BATCH = 2  # the samples the import runs the module and its copy on


def _check_example_size(
    source: str, input_shape: tuple[int, ...], dtype: str, rep: ImportReport
) -> None:
    need = EXAMPLE_BATCH * 4 * (2 if dtype == "int64" else 1)
    for d in input_shape:
        need *= int(d)
    if need > MAX_EXAMPLE_BYTES:
        raise ModelImportError(
            f"{source}: an example input of shape {tuple(input_shape)} needs "
            f"{need / 2**30:,.1f} GiB for {EXAMPLE_BATCH} samples (at most "
            f"{MAX_EXAMPLE_BYTES / 2**30:.0f} GiB); is --input-shape right?",
            rep,
        )


def _example(input_shape: tuple[int, ...], dtype: str, batch: int) -> torch.Tensor:
    """A fixed-seed input batch: random floats, or zeros for int64 ids."""
    gen = torch.Generator().manual_seed(0)
    tdtype = torch.float32 if dtype == "float32" else torch.int64
    if tdtype.is_floating_point:
        return torch.randn((batch, *input_shape), generator=gen)
    return torch.zeros((batch, *input_shape), dtype=tdtype)


def _propagate_shapes(gm: fx.GraphModule, x: torch.Tensor, source: str, rep: ImportReport) -> None:
    """Run the trace once on ``x`` so every fx node knows its tensor's shape."""
    try:
        with torch.no_grad():
            ShapeProp(gm).propagate(x)
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # the module's own code: sys.exit included
        raise ModelImportError(
            f"{source}: the module fails on an input of shape {tuple(x.shape)}: {failure_text(e)}",
            rep,
        ) from None


def _map_nodes(fxm: _Fx, rep: ImportReport) -> list[Any]:
    """Map every fx node; an unsupported one is reported and replaced by a stand-in input
    of its shape so the rest still maps. Returns the graph's outputs."""
    b, gm = fxm.b, fxm.gm
    outputs: list[Any] = []
    for n in gm.graph.nodes:
        if n.op == "placeholder":
            continue
        if n.op == "output":
            outs = n.args[0]
            outputs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
            continue
        if any(
            isinstance(a, fx.Node)
            and a not in fxm.val
            and a not in fxm.rnn_nid
            and _was_unsupported(a, rep)
            for a in n.all_input_nodes
        ):
            _mark(n, rep)
            continue
        try:
            fxm.node(n)
        except Unsupported as e:
            b.unsupported(n.name, _target_name(n, gm), _location(n), str(e))
            try:  # a stand-in of its shape lets the import go on and report every op
                fxm.val[n] = b.add("Input", [], f"stand_in_{n.name}", shape=list(fxm.shape(n)[1:]))
            except Unsupported:
                _mark(n, rep)
    return outputs


def _add_outputs(fxm: _Fx, outputs: list[Any], rep: ImportReport) -> None:
    for i, o in enumerate(outputs):
        if isinstance(o, fx.Node) and o in fxm.val:
            fxm.b.output(fxm.val[o], "output" if len(outputs) == 1 else f"output_{i}")
        elif not (isinstance(o, fx.Node) and _was_unsupported(o, rep)):
            fxm.b.unsupported(str(o), "output", "", "the output is not a computed tensor")


_FAILED_KEY = "torchwire_unsupported"


def _mark(n: fx.Node, rep: ImportReport) -> None:
    n.meta[_FAILED_KEY] = True


def _was_unsupported(n: fx.Node, rep: ImportReport) -> bool:
    return bool(n.meta.get(_FAILED_KEY))
