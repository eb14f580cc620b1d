"""The Open Inference Protocol (KServe v2, Triton's HTTP/REST) for one model: metadata,
inference requests with JSON tensors or the binary tensor data extension, and responses.

Binary extension: a request whose ``Inference-Header-Content-Length`` header is N holds N
bytes of JSON, then the raw tensors of the inputs that say ``parameters.binary_data_size``,
in the order of ``inputs``. Outputs come back binary when the request asks for it
(``parameters.binary_data_output`` or an output's ``parameters.binary_data``), which is what
``tritonclient`` does by default; the response then carries the same header.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from .errors import RequestError, shown
from .model import V2_TO_NUMPY, ServedModel, TensorSpec

SERVER_NAME = "torchwire"
EXTENSIONS = ["binary_tensor_data"]
HEADER_LENGTH = "Inference-Header-Content-Length"
MAX_DEPTH = 32  # nesting of a request's JSON: a tensor of 30 dimensions still fits


def server_metadata(version: str) -> dict[str, Any]:
    return {"name": SERVER_NAME, "version": version, "extensions": EXTENSIONS}


def model_metadata(m: ServedModel) -> dict[str, Any]:
    return {
        "name": m.name,
        "versions": ["1"],
        "platform": "onnxruntime_onnx",
        "inputs": [t.to_dict() for t in m.inputs],
        "outputs": [t.to_dict() for t in m.outputs],
    }


def model_config(m: ServedModel, max_batch: int) -> dict[str, Any]:
    """The model's configuration as Triton's ``/config`` gives it (JSON of ModelConfig)."""

    def dims(t: TensorSpec) -> list[int]:
        return list(t.shape[1:]) if batched else list(t.shape)

    batched = all(t.shape and t.shape[0] == -1 for t in m.inputs + m.outputs)
    return {
        "name": m.name,
        "platform": "onnxruntime_onnx",
        "backend": "onnxruntime",
        "max_batch_size": max_batch if batched else 0,
        "input": [{"name": t.name, "data_type": "TYPE_" + _cfg(t.datatype), "dims": dims(t)}
                  for t in m.inputs],
        "output": [{"name": t.name, "data_type": "TYPE_" + _cfg(t.datatype), "dims": dims(t)}
                   for t in m.outputs],
    }  # fmt: skip


def _cfg(dt: str) -> str:
    return "STRING" if dt == "BYTES" else dt


def split_body(body: bytes, header_length: str | None) -> tuple[Any, bytes]:
    """The JSON part of a request and the binary data after it."""
    if header_length is None:
        head, rest = body, b""
    else:
        try:
            n = int(header_length)
        except ValueError:
            raise RequestError(f"{HEADER_LENGTH} is {header_length!r}, not a number") from None
        if not 0 <= n <= len(body):
            raise RequestError(f"{HEADER_LENGTH} is {n}, but the body has {len(body)} bytes")
        head, rest = body[:n], body[n:]
    if not head.strip():
        raise RequestError("the request body is empty: send a JSON inference request")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError("the request is not UTF-8 JSON") from None
    return parse_json(text), rest


def parse_json(text: str) -> Any:
    """A request's JSON, refused (400) when malformed or nested deeper than ``MAX_DEPTH``:
    nothing past this point recurses into a structure a client made arbitrarily deep."""
    try:
        value = json.loads(text)
    except RecursionError:
        value = None
        depth = MAX_DEPTH + 1
    except ValueError as e:
        raise RequestError(f"malformed JSON: {e}") from None
    else:
        depth = _depth(value)
    if depth > MAX_DEPTH:
        raise RequestError(f"the JSON nests deeper than {MAX_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    """How deep lists and objects nest in ``value`` (without recursion; stops past the cap)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if d > MAX_DEPTH:
            return d
        deepest = max(deepest, d)
        items = v.values() if isinstance(v, dict) else v
        stack.extend((c, d + 1) for c in items if isinstance(c, list | dict))
    return deepest if isinstance(value, list | dict) else 0


def parse_infer(
    m: ServedModel, req: Any, binary: bytes, max_batch: int
) -> tuple[dict[str, np.ndarray], list[tuple[str, bool]], Any]:
    """Inputs as arrays, the outputs wanted (name, as binary) and the request's id."""
    if not isinstance(req, dict):
        raise RequestError("the inference request must be a JSON object with 'inputs'")
    inputs = req.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise RequestError("the request has no 'inputs' (a list of tensors)")
    params = req.get("parameters") or {}
    if not isinstance(params, dict):
        raise RequestError("'parameters' must be an object")
    rid = req.get("id")
    if rid is not None and not isinstance(rid, str):
        raise RequestError(f"'id' must be a string (the response repeats it), not {shown(rid)}")
    feeds: dict[str, np.ndarray] = {}
    offset = 0
    for k, t in enumerate(inputs):
        if not isinstance(t, dict):
            raise RequestError(f"input {k + 1} is not an object with name, shape, datatype")
        name = t.get("name")
        spec = m.input(name) if isinstance(name, str) else None
        if spec is None:
            raise RequestError(
                f"the model has no input {shown(name)} (its inputs: "
                f"{', '.join(i.name for i in m.inputs)})"
            )
        if name in feeds:
            raise RequestError(f"input {name!r} is given twice")
        shape = t.get("shape")
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            raise RequestError(f"input {name!r}: 'shape' must be a list of sizes ≥ 0")
        dt = t.get("datatype")
        if dt != spec.datatype:
            raise RequestError(
                f"input {name!r} has datatype {shown(dt)}, the model takes {spec.datatype}"
            )
        _check_shape(spec, shape, max_batch)
        tp = t.get("parameters") or {}
        size = tp.get("binary_data_size") if isinstance(tp, dict) else None
        count = math.prod(shape)
        dtype = np.dtype(V2_TO_NUMPY[dt])
        if size is not None:
            if "data" in t:
                raise RequestError(f"input {name!r} has both 'data' and binary_data_size")
            if not isinstance(size, int) or size < 0 or offset + size > len(binary):
                raise RequestError(
                    f"input {name!r}: binary_data_size {shown(size)} runs past the end of the body"
                )
            if size != count * dtype.itemsize:
                raise RequestError(
                    f"input {name!r}: {size} bytes of binary data, but shape {shape} of "
                    f"{dt} needs {count * dtype.itemsize}"
                )
            arr = np.frombuffer(binary, dtype=dtype.newbyteorder("<"), count=count,
                                offset=offset).astype(dtype).reshape(shape)  # fmt: skip
            offset += size
        else:
            arr = _from_json(name, t.get("data"), dtype, shape, count)
        _check_finite(m, name, arr)
        feeds[name] = arr
    if offset != len(binary):
        raise RequestError(f"{len(binary) - offset} bytes of binary data after the last input")
    missing = [i.name for i in m.inputs if i.name not in feeds]
    if missing:
        raise RequestError(f"input {missing[0]!r} is missing")
    batches = {a.shape[0] for a in feeds.values() if a.ndim}
    if len(batches) > 1:
        raise RequestError("the inputs have different batch sizes")
    all_binary = bool(params.get("binary_data_output"))
    wanted: list[tuple[str, bool]] = []
    outs = req.get("outputs")
    if outs is None:
        wanted = [(o.name, all_binary) for o in m.outputs]
    else:
        if not isinstance(outs, list) or not outs:
            raise RequestError("'outputs' must be a list of {name: …}")
        names = {o.name for o in m.outputs}
        for o in outs:
            oname = o.get("name") if isinstance(o, dict) else None
            if oname not in names:
                raise RequestError(
                    f"the model has no output {shown(oname)} (its outputs: {', '.join(sorted(names))})"
                )
            op = o.get("parameters") or {}
            wanted.append((oname, bool(op.get("binary_data", all_binary)) if isinstance(op, dict)
                           else all_binary))  # fmt: skip
    return feeds, wanted, rid


def _check_shape(spec: TensorSpec, shape: list[int], max_batch: int) -> None:
    want = spec.shape
    ok = len(shape) == len(want) and all(w in (-1, s) for w, s in zip(want, shape))
    if not ok:
        pretty = "[" + ", ".join("-1" if d < 0 else str(d) for d in want) + "]"
        raise RequestError(
            f"input {spec.name!r} has shape {shown(shape)}, the model takes {pretty} (-1: any size)"
        )
    if want and want[0] == -1:
        if shape[0] == 0:
            raise RequestError(f"input {spec.name!r}: the batch is empty (shape {shape})")
        if shape[0] > max_batch:
            raise RequestError(
                f"input {spec.name!r}: a batch of {shape[0]} is more than this server takes "
                f"(--max-batch {max_batch})",
                413,
            )


def _from_json(name: str, data: Any, dtype: np.dtype, shape: list[int], count: int) -> np.ndarray:
    if data is None:
        raise RequestError(f"input {name!r} has no 'data'")
    flat = data if isinstance(data, list) else [data]
    if any(isinstance(v, list) for v in flat):
        try:
            flat = np.asarray(data, dtype=object).reshape(-1).tolist()
        except ValueError:
            raise RequestError(f"input {name!r}: 'data' is a ragged nested list") from None
    if len(flat) != count:
        raise RequestError(
            f"input {name!r}: {len(flat)} values in 'data', shape {shape} needs {count}"
        )
    kind = dtype.kind
    for v in flat:
        if kind == "b":
            good = isinstance(v, bool)
        elif kind in "iu":
            good = isinstance(v, int) and not isinstance(v, bool)
        else:
            good = isinstance(v, int | float) and not isinstance(v, bool)
        if not good:
            raise RequestError(f"input {name!r}: {shown(v)} in 'data' is not a {dtype.name} value")
    try:
        with np.errstate(over="ignore"):
            arr = np.asarray(flat, dtype=dtype)
    except OverflowError:
        raise RequestError(
            f"input {name!r}: a value in 'data' is out of {dtype.name}'s range"
        ) from None
    if kind == "f" and np.isinf(arr).any():  # finite in JSON, past the type's range here
        over = np.isinf(arr) & np.isfinite(np.asarray(flat, np.float64))
        if over.any():
            v = flat[int(np.flatnonzero(over)[0])]
            raise RequestError(
                f"input {name!r}: {shown(v)} in 'data' is out of {dtype.name}'s range"
            )
    if kind in "iu" and any(int(a) != v for a, v in zip(arr.tolist(), flat)):
        raise RequestError(f"input {name!r}: a value in 'data' is out of {dtype.name}'s range")
    return arr.reshape(shape)


def _check_finite(m: ServedModel, name: str, arr: np.ndarray) -> None:
    if arr.dtype.kind != "f" or arr.size == 0:
        return
    flat = arr.reshape(len(arr), -1) if arr.ndim > 1 else arr.reshape(1, -1)
    nan, inf = np.isnan(flat), np.isinf(flat)
    if not (nan.any() or inf.any()):
        return
    f = m.features
    data_input = len(m.inputs) == 1 and flat.shape[1] == len(f.nan_ok)
    ok_nan = f.nan_ok if data_input else np.zeros(flat.shape[1], bool)
    ok_inf = f.inf_ok if data_input else np.zeros(flat.shape[1], bool)
    bad = (nan & ~ok_nan) | (inf & ~ok_inf)
    if bad.any():
        r, j = (int(a[0]) for a in np.nonzero(bad))
        what = "NaN" if nan[r, j] else "infinite"
        feat = f.feature_names[j] if data_input and j < len(f.feature_names) else f"element {j}"
        raise RequestError(
            f"input {name!r}: sample {r + 1}, {feat}: {what} values are not allowed "
            "(the model's preprocessing does not fill them)"
        )


def encode_response(
    m: ServedModel, results: list[np.ndarray], wanted: list[tuple[str, bool]], req_id: Any
) -> tuple[bytes, dict[str, str]]:
    """The response body and headers (JSON, or JSON header + binary outputs)."""
    outputs = []
    blobs: list[bytes] = []
    for (name, binary), arr in zip(wanted, results):
        arr = np.ascontiguousarray(arr)
        dt = next(o.datatype for o in m.outputs if o.name == name)
        t: dict[str, Any] = {"name": name, "datatype": dt, "shape": list(arr.shape)}
        if binary:
            raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
            t["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
        else:
            vals = arr.reshape(-1).tolist()
            if arr.dtype.kind == "f" and not np.isfinite(arr).all():
                vals = [v if math.isfinite(v) else None for v in vals]
            t["data"] = vals
        outputs.append(t)
    body: dict[str, Any] = {"model_name": m.name, "model_version": "1", "outputs": outputs}
    if req_id is not None:
        body["id"] = req_id
    head = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
    if not blobs:
        return head, {"content-type": "application/json"}
    return head + b"".join(blobs), {
        "content-type": "application/octet-stream",
        HEADER_LENGTH: str(len(head)),
    }
