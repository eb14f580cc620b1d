"""The check of an ONNX import: the original file and the compiled graph, run on the same
random inputs, must agree.

The original runs in onnxruntime, or — for old opsets it no longer implements — in
onnxruntime after conversion to opset 13, or in ``onnx.reference``; the first that runs it
is the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from engine.imports.builder import check_parity
from engine.imports.report import ImportReport


class _Reference:
    """onnx.reference with the two calls of an onnxruntime session that the check uses."""

    @dataclass
    class _In:
        name: str
        type: str

    def __init__(self, ev: Any, model: Any) -> None:
        self.ev = ev
        inits = {t.name for t in model.graph.initializer}
        self.ins = [
            self._In(
                i.name, "tensor(int64)" if i.type.tensor_type.elem_type == 7 else "tensor(float)"
            )
            for i in model.graph.input
            if i.name not in inits
        ]

    def get_inputs(self) -> list[Any]:
        return self.ins

    def run(self, _names: Any, feeds: dict[str, Any]) -> list[Any]:
        return list(self.ev.run(None, feeds))


def _runners(path: str) -> list[tuple[str, Callable[[], Any]]]:
    """Ways to run the original, best first: onnxruntime, onnxruntime on the model
    converted to opset 13 (old opsets it no longer implements), onnx.reference."""
    import onnx
    import onnxruntime as ort

    def plain() -> Any:
        return ort.InferenceSession(path, providers=["CPUExecutionProvider"])

    def converted() -> Any:
        m = onnx.version_converter.convert_version(onnx.load(path), 13)
        return ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])

    def reference() -> Any:
        from onnx.reference import ReferenceEvaluator

        m = onnx.load(path)
        return _Reference(ReferenceEvaluator(m), m)

    return [
        ("", plain),
        ("onnxruntime on the model converted to opset 13", converted),
        ("onnx.reference", reference),
    ]


def verify_onnx(
    path: str,
    rep: ImportReport,
    compiled: Any,
    feeds: dict[str, tuple[int, ...]],
    onnx_name: dict[str, str],
    tolerance: float,
    out_index: dict[str, int],
) -> None:
    """Run the original file and the compiled graph on the same random inputs."""
    gen = np.random.default_rng(0)
    inputs: dict[str, np.ndarray] = {}
    for name, shape in feeds.items():
        inputs[name] = gen.standard_normal(shape).astype(np.float32)
    info = compiled.torchwire
    names = [onnx_name[info.node_of_attr[a]] for a in info.input_names]
    for dt, name in zip(info.input_dtypes, names, strict=True):
        if not dt.is_floating_point:
            inputs[name] = np.zeros(feeds[name], dtype=np.int64)
    theirs = None
    for how, make in _runners(path):
        try:
            theirs = make().run(None, inputs)
        except Exception:
            continue
        if how:
            rep.notes.append(f"checked with {how}")
        break
    if theirs is None:
        rep.notes.append("not checked: neither onnxruntime nor onnx.reference runs the file")
        return
    with torch.no_grad():
        ours = compiled(*[torch.from_numpy(inputs[n]) for n in names])
    ours = list(ours) if isinstance(ours, tuple) else [ours]
    # the compiled model returns its outputs in graph order: compare each with its own
    theirs = [theirs[out_index[info.node_of_attr[v]]] for v in info.output_names]
    check_parity(rep, ours, theirs, next(iter(feeds.values()))[0], tolerance)
