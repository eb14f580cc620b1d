"""ONNX file → graph of catalog nodes + state dict.

Three passes: shape inference on the original and constant folding (``onnx_prepare``),
then one mapping rule per op (``onnx_rules.RULES``, filled by the rule modules
``onnx_layer_ops`` and ``onnx_tensor_ops``). The import is then checked against
onnxruntime on the original file (``onnx_verify``).
"""

from __future__ import annotations

import os
from typing import Any

from engine.imports.builder import Builder, ImportResult, Unsupported
from engine.imports.onnx_prepare import Prepared, prepare
from engine.imports.onnx_rules import RULES, Ctx
from engine.imports.onnx_verify import verify_onnx
from engine.imports.report import ImportReport


def import_onnx_result(
    path: str | os.PathLike[str],
    *,
    input_shape: tuple[int, ...] | None = None,
    verify: bool = True,
    tolerance: float = 1e-4,
) -> ImportResult:
    """Import an ONNX file; see :func:`engine.imports.import_onnx`."""
    path = str(path)
    rep = ImportReport(source=path, format="onnx")
    p = prepare(path, rep, input_shape)
    name = os.path.splitext(os.path.basename(path))[0] or "model"
    b = Builder(name, rep)
    ctx = _context(b, p)
    poisoned = _map_nodes(ctx, p)
    out_index = _add_outputs(ctx, p, poisoned)
    compiled, sd = b.finish()
    if verify:
        onnx_name = {nid: n for n, nid in ctx.val.items() if n in p.feeds}
        verify_onnx(path, rep, compiled, p.feeds, onnx_name, tolerance, out_index)
    return ImportResult(b.graph, sd, rep)


def _context(b: Builder, p: Prepared) -> Ctx:
    """The rules' context, with who reads each tensor and an Input node per graph input."""
    import onnx

    ctx = Ctx(b, p.consts, p.shapes, p.opset)
    ctx.graph_outputs = {o.name for o in p.graph.output}
    for node in p.nodes:
        for i in node.input:
            ctx.consumers.setdefault(i, []).append(node)
    for vi in p.inputs:
        elem = vi.type.tensor_type.elem_type
        dtype = "int64" if elem in (onnx.TensorProto.INT64, onnx.TensorProto.INT32) else "float32"
        if elem not in (onnx.TensorProto.FLOAT, onnx.TensorProto.INT64, onnx.TensorProto.INT32):
            b.report.notes.append(
                f"input {vi.name}: {onnx.TensorProto.DataType.Name(elem)} read as {dtype}"
            )
        ctx.val[vi.name] = b.add(
            "Input", [], vi.name, shape=list(p.feeds[vi.name][1:]), dtype=dtype
        )
    return ctx


def _map_nodes(ctx: Ctx, p: Prepared) -> set[str]:
    """Map every op by its rule; an unsupported one is reported and stood in for. Returns
    the tensors that nothing could stand in for (what reads them is skipped)."""
    poisoned: set[str] = set()
    place = {id(n): k for k, n in enumerate(p.graph.node)}  # once: an index() per node is n²
    for node in p.nodes:
        if id(node) in ctx.done:
            continue
        if any(i in poisoned for i in node.input if i):
            poisoned.update(node.output)
            continue
        r = RULES.get(node.op_type) if node.domain in ("", "ai.onnx") else None
        try:
            if r is None:
                raise Unsupported("no node type for this op")
            r.fn(ctx, node)
        except Unsupported as e:
            where = f"ONNX node {node.name!r}" if node.name else f"ONNX node #{place.get(id(node))}"
            ctx.b.unsupported(node.name or node.output[0], node.op_type, where, str(e))
            _stand_in(ctx, node, poisoned)
    return poisoned


def _stand_in(ctx: Ctx, node: Any, poisoned: set[str]) -> None:
    """After an unsupported op, stand-in inputs of its output shapes let the import go on,
    so one report lists every unsupported op (the graph is discarded)."""
    for out in node.output:
        shape = ctx.shapes.get(out)
        try:
            if shape is None or len(shape) < 2:
                raise Unsupported("unknown shape")
            ctx.val[out] = ctx.b.add("Input", [], f"stand_in_{out}", shape=list(shape[1:]))
        except Unsupported:
            poisoned.add(out)


def _add_outputs(ctx: Ctx, p: Prepared, poisoned: set[str]) -> dict[str, int]:
    """An Output node per ONNX output; returns each Output node's place among them."""
    b = ctx.b
    outputs: list[str] = []
    out_index: dict[str, int] = {}  # Output node → its place among the ONNX outputs
    for o in p.graph.output:
        if o.name in poisoned:
            continue
        if o.name not in ctx.val and o.name in ctx.seq:
            b.unsupported(o.name, "output", "graph output", "a sequence-first output")
            continue
        if o.name not in ctx.val:
            b.unsupported(o.name, "output", "graph output", "the output is a constant")
            continue
        outputs.append(b.output(ctx.val[o.name], o.name))
        out_index[outputs[-1]] = len(outputs) - 1
    return out_index
