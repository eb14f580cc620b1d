"""An ONNX file made ready for the op rules: loaded, its symbolic sizes fixed, its shapes
inferred and its constant subgraphs folded.

Shape inference runs on the original (a symbolic batch is fixed at 2 so that reshapes that
would mix the batch are seen), then constant folding — initializers, ``Constant``,
``ConstantOfShape``, ``Cast``, ``Shape`` of a tensor whose shape is known, and every op
whose inputs are all constants, evaluated by ``onnx.reference`` — so weights that come from
constant subgraphs become tensors and the ``Shape→Gather→Concat→Reshape`` chains of
exporters become plain reshapes, then shape inference again on the folded model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.imports.onnx_rules import attrs
from engine.imports.report import ImportReport, ModelImportError

FOLDED = (
    "Constant, ConstantOfShape, Cast, Shape, Gather, Unsqueeze, Concat, … whose inputs are "
    "all constant (and Shape of a tensor of known shape)"
)
NONDETERMINISTIC = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike"}
NONDETERMINISTIC |= {"Multinomial", "Bernoulli"}


@dataclass
class Prepared:
    """What the rules read: the original graph (its inputs' sizes fixed), the ops left after
    folding, the constants, every known shape and each input's fixed shape."""

    graph: Any  # the original model's GraphProto
    opset: int
    inputs: list[Any]  # the graph inputs that are not initializers
    nodes: list[Any]  # the ops that folding kept, in graph order
    consts: dict[str, np.ndarray]
    shapes: dict[str, tuple[int, ...]]
    feeds: dict[str, tuple[int, ...]]  # input name → its shape, batch first


def dims(vi: Any) -> list[int | str]:
    """A value's dimensions: sizes, or the symbolic name (``"?"`` when it has none)."""
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return []
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.shape.dim]


def known_shapes(model: Any) -> dict[str, tuple[int, ...]]:
    """Every fully known tensor shape after ONNX shape inference (best effort)."""
    import onnx

    try:
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # inference is best effort; a rule that needs a shape says so
        inferred = model
    out: dict[str, tuple[int, ...]] = {}
    g = inferred.graph
    for vi in [*g.input, *g.value_info, *g.output]:
        d = dims(vi)
        if vi.type.tensor_type.HasField("shape") and all(isinstance(v, int) and v > 0 for v in d):
            out[vi.name] = tuple(int(v) for v in d)
    return out


def evaluate(node: Any, inputs: list[np.ndarray | None], opset: int) -> list[np.ndarray]:
    """One op on constant inputs: its outputs, by ``onnx.reference`` (the simplest directly)."""
    import onnx
    from onnx import helper, numpy_helper

    a = attrs(node)
    if node.op_type == "Constant" and "value" in a:
        return [numpy_helper.to_array(a["value"])]
    if node.op_type == "ConstantOfShape":
        shape = [int(v) for v in inputs[0]] if inputs and inputs[0] is not None else []
        value = numpy_helper.to_array(a["value"]).reshape(-1)[0] if "value" in a else np.float32(0)
        return [np.full(shape, value, dtype=np.asarray(value).dtype)]
    if node.op_type == "Identity":
        return [inputs[0]]  # type: ignore[list-item]
    from onnx.reference import ReferenceEvaluator

    names = [f"i{k}" if v is not None else "" for k, v in enumerate(inputs)]
    n = helper.make_node(
        node.op_type, names, [f"o{k}" for k in range(len(node.output))], domain=node.domain
    )
    n.attribute.extend(node.attribute)
    g = helper.make_graph(
        [n],
        "fold",
        [
            helper.make_tensor_value_info(nm, helper.np_dtype_to_tensor_dtype(v.dtype), None)
            for nm, v in zip(names, inputs, strict=True)
            if v is not None
        ],
        [
            helper.make_tensor_value_info(f"o{k}", onnx.TensorProto.UNDEFINED, None)
            for k in range(len(node.output))
        ],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    res = ReferenceEvaluator(m).run(
        None, {nm: v for nm, v in zip(names, inputs, strict=True) if v is not None}
    )
    return [np.asarray(r) for r in res]


def prepare(path: str, rep: ImportReport, input_shape: tuple[int, ...] | None) -> Prepared:
    """Load ``path``, fix its inputs' sizes, infer shapes and fold constants."""
    import onnx
    from onnx import numpy_helper

    try:
        model = onnx.load(path)
    except Exception as e:
        raise ModelImportError(f"{path}: not a readable ONNX model ({e})", rep, file=path) from None
    if not model.HasField("graph"):  # an empty file parses as an empty model
        raise ModelImportError(
            f"{path}: not an ONNX model (the file is empty or holds no graph)", rep, file=path
        )
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if not 7 <= opset <= 23:
        rep.notes.append(f"opset {opset} is outside the tested 9..23")
    g = model.graph
    consts = read_initializers(path, rep, g)
    check_order(path, rep, g, consts)
    real_inputs = [i for i in g.input if i.name not in consts]
    feeds = fix_input_sizes(path, rep, real_inputs, input_shape)
    shapes = known_shapes(model)
    shapes.update(feeds)
    kept = fold_constants(path, rep, g, consts, shapes, opset)
    folded = onnx.helper.make_model(
        onnx.helper.make_graph(
            kept,
            g.name or "model",
            real_inputs,
            list(g.output),
            [
                numpy_helper.from_array(np.asarray(v), n)
                for n, v in consts.items()
                if any(n in k.input for k in kept)
            ],
        ),
        opset_imports=list(model.opset_import),
    )
    shapes.update(known_shapes(folded))
    return Prepared(g, opset, real_inputs, kept, consts, shapes, feeds)


def read_initializers(path: str, rep: ImportReport, g: Any) -> dict[str, np.ndarray]:
    """The graph's initializers as arrays; one whose data does not match its shape (or
    type) is named, not a numpy traceback."""
    from onnx import numpy_helper

    out: dict[str, np.ndarray] = {}
    for t in g.initializer:
        try:
            out[t.name] = numpy_helper.to_array(t)
        except Exception as e:
            raise ModelImportError(
                f"{path}: initializer {t.name!r} of shape {list(t.dims)} does not hold its "
                f"data ({e})",
                rep,
                file=path,
            ) from None
    return out


def check_order(path: str, rep: ImportReport, g: Any, consts: dict[str, Any]) -> None:
    """Every node reads only tensors made before it (ONNX requires its nodes in order): a
    node feeding itself, or a cycle, is named instead of failing deep in a rule."""
    made = {*consts, *(i.name for i in g.input)}
    for k, node in enumerate(g.node):
        for name in node.input:
            if name and name not in made:
                who = repr(node.name) if node.name else f"#{k}"
                raise ModelImportError(
                    f"{path}: ONNX node {who} reads {name!r}, which no earlier node makes "
                    "(a node feeding itself, a cycle, or nodes out of order)",
                    rep,
                    file=path,
                )
        made.update(node.output)


def fix_input_sizes(
    path: str, rep: ImportReport, inputs: list[Any], input_shape: tuple[int, ...] | None
) -> dict[str, tuple[int, ...]]:
    """Fix symbolic dimensions in place: the batch to 2 (unless fixed), the rest from
    ``input_shape``; returns each input's shape."""
    feeds: dict[str, tuple[int, ...]] = {}
    for vi in inputs:
        d = dims(vi)
        if not d:
            raise ModelImportError(f"{path}: input {vi.name} has no shape", rep, file=path)
        b = d[0] if isinstance(d[0], int) and d[0] > 0 else 2
        rest = list(d[1:])
        if input_shape is not None and len(inputs) == 1:
            if len(input_shape) != len(rest):
                raise ModelImportError(
                    f"{path}: --input-shape {tuple(input_shape)} has {len(input_shape)} sizes, "
                    f"input {vi.name} has {len(rest)} per sample",
                    rep,
                    file=path,
                )
            rest = list(input_shape)
        if not all(isinstance(v, int) and v > 0 for v in rest):
            raise ModelImportError(
                f"{path}: input {vi.name} has dynamic sizes {d}; give the per-sample shape "
                "(--input-shape)",
                rep,
                file=path,
            )
        feeds[vi.name] = (b, *[int(v) for v in rest])
        t = vi.type.tensor_type
        for k, v in enumerate(feeds[vi.name]):
            t.shape.dim[k].Clear()
            t.shape.dim[k].dim_value = v
    return feeds


def fold_constants(
    path: str,
    rep: ImportReport,
    g: Any,
    consts: dict[str, np.ndarray],
    shapes: dict[str, tuple[int, ...]],
    opset: int,
) -> list[Any]:
    """Evaluate every deterministic op whose inputs are constants (and ``Shape`` of a known
    shape) into ``consts``; returns the ops left to map."""
    kept = []
    for node in g.node:
        ins = [n for n in node.input if n]
        foldable = node.domain in ("", "ai.onnx") and node.op_type not in NONDETERMINISTIC
        foldable = foldable and not any(a.type in (5, 10) for a in node.attribute)  # subgraphs
        if foldable and node.op_type == "Shape" and node.input[0] in shapes:
            s = np.asarray(shapes[node.input[0]], dtype=np.int64)
            a = attrs(node)
            consts[node.output[0]] = s[a.get("start", 0) : a.get("end", len(s))]
            continue
        if foldable and all(n in consts for n in ins):
            try:
                vals = evaluate(node, [consts[n] if n else None for n in node.input], opset)
            except Exception as e:
                raise ModelImportError(
                    f"{path}: cannot fold constant {node.op_type} {node.name!r}: {e}",
                    rep,
                    file=path,
                ) from None
            for name, v in zip(node.output, vals, strict=False):
                consts[name] = v
            continue
        kept.append(node)
    return kept
