"""Quantizing an exported ONNX model with ONNX Runtime's own tools.

- ``int8-dynamic``: ``onnxruntime.quantization.quantize_dynamic`` (int8 weights,
  activations quantized on the fly per batch);
- ``int8-static``: ``quant_pre_process`` (shape inference, graph optimisation), then
  ``quantize_static`` in the QDQ format, per-channel int8 weights, int8 activations whose
  ranges are calibrated (MinMax) on the training split: the raw features, since the
  preprocessing is baked into the exported model;
- ``fp16``: ``onnxruntime.transformers.float16.convert_float_to_float16``, inputs and
  outputs kept float32 so callers feed the same arrays.

Each writes its file atomically and carries the fp32 model's metadata (project,
preprocessing, classes) plus ``compression``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from engine.compress.errors import CompressError
from engine.compress.options import MODES
from engine.fileio import atomic_path

CALIBRATION_SAMPLES = 2048
CALIBRATION_BATCH = 128


class _Calibration:
    """``CalibrationDataReader``: the calibration samples in batches, once."""

    def __init__(self, name: str, x: np.ndarray, batch: int = CALIBRATION_BATCH) -> None:
        self.name, self.x, self.batch = name, x, batch
        self._it: Iterator[dict[str, np.ndarray]] | None = None

    def _batches(self) -> Iterator[dict[str, np.ndarray]]:
        for i in range(0, len(self.x), self.batch):
            yield {self.name: np.ascontiguousarray(self.x[i : i + self.batch], np.float32)}

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._it is None:
            self._it = self._batches()
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = None


def _input_name(path: Path) -> str:
    import onnx

    m = onnx.load(str(path), load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    names = [i.name for i in m.graph.input if i.name not in inits]
    if len(names) != 1:
        raise CompressError("quantization supports models with one input")
    return names[0]


def _copy_metadata(src: Path, dst: Path, extra: dict[str, Any]) -> None:
    import onnx

    a = onnx.load(str(src))
    b = onnx.load(str(dst))
    props = {p.key: p.value for p in a.metadata_props}
    props.update({p.key: p.value for p in b.metadata_props})
    props["compression"] = json.dumps(extra)
    del b.metadata_props[:]
    for k, v in props.items():
        entry = b.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(b, str(dst))


def strip_debug_info(path: str | os.PathLike[str]) -> None:
    """Drop the exporter's per-node debugging records (stack traces, source file paths,
    name scopes) from an ONNX file, in place: a deployment file needs none of them, and on
    a small model they are a large part of its size. The model's metadata stays."""
    import onnx

    path = Path(path)
    m = onnx.load(str(path))
    for node in m.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
    with atomic_path(path) as tmp:
        onnx.save(m, str(tmp))


def quantize(
    fp32: str | os.PathLike[str],
    out: str | os.PathLike[str],
    mode: str,
    calibration: np.ndarray | None = None,
) -> Path:
    """Write the ``mode`` variant of the ``fp32`` ONNX model to ``out`` (atomically).

    ``calibration``: raw training features for ``int8-static`` (at most
    ``CALIBRATION_SAMPLES`` are used).
    """
    fp32, out = Path(fp32), Path(out)
    if mode not in MODES:
        raise CompressError(f"unknown quantization {mode!r}: choose {', '.join(MODES)}")
    info: dict[str, Any] = {"quantization": mode, "tool": "onnxruntime"}
    with atomic_path(out) as tmp, tempfile.TemporaryDirectory(prefix="torchwire-q-") as work:
        try:
            if mode == "int8-dynamic":
                from onnxruntime.quantization import QuantType, quantize_dynamic
                from onnxruntime.quantization.shape_inference import quant_pre_process

                pre = Path(work) / "pre.onnx"
                quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
                quantize_dynamic(str(pre), str(tmp), weight_type=QuantType.QInt8)
            elif mode == "int8-static":
                _static(fp32, Path(tmp), Path(work), calibration, info)
            else:
                import onnx
                from onnxruntime.transformers.float16 import convert_float_to_float16

                m = convert_float_to_float16(onnx.load(str(fp32)), keep_io_types=True)
                onnx.save(m, str(tmp))
            _copy_metadata(fp32, Path(tmp), info)
        except CompressError:
            raise
        except Exception as e:
            line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise CompressError(f"{mode} quantization failed: {type(e).__name__}: {line}") from e
    return out


def _static(
    fp32: Path, tmp: Path, work: Path, calibration: np.ndarray | None, info: dict[str, Any]
) -> None:
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if calibration is None or len(calibration) == 0:
        raise CompressError("int8 static quantization needs calibration data (training split)")
    x = np.asarray(calibration, np.float32)[:CALIBRATION_SAMPLES]
    pre = work / "pre.onnx"
    quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
    reader = _Calibration(_input_name(pre), x)
    quantize_static(
        str(pre), str(tmp), reader, quant_format=QuantFormat.QDQ, per_channel=True,
        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
    )  # fmt: skip
    info.update(
        {"format": "QDQ", "per_channel": True, "calibration": "MinMax",
         "calibration_samples": len(x)}
    )  # fmt: skip
