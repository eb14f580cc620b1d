"""The FastAPI application: the Open Inference Protocol endpoints and ``/predict``.

Every request is answered: a bad one with a 4xx and ``{"error": "…"}`` naming what was
wrong (the shape Triton answers with), an unexpected failure with a 500 that carries an id
which the server's log repeats with the traceback. A body over ``max_body`` bytes is refused
while it arrives (413), before anything parses it. Model runs happen on worker threads, so
requests are served concurrently (onnxruntime sessions are thread-safe).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import protocol
from .errors import RequestError, shown
from .model import (
    CONFIG_ENV,
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_BODY,
    ServedModel,
    Unseen,
)

log = logging.getLogger("torchwire.serve")

VERSION = "1.0"
STATUS_KEY = "torchwire.status"  # the ServerStatus in the ASGI lifespan state


@dataclass
class ServerStatus:
    """What the server tells the application: ``draining`` once it stops (SIGTERM), so
    readiness turns false while the requests in flight are answered."""

    draining: bool = False


class BodyLimit:
    """ASGI middleware: reads the whole body, refusing it once it passes ``limit`` bytes
    (413) or takes longer than ``timeout`` seconds to arrive (408); puts ``status`` into
    the lifespan state, where the server's connections find it."""

    def __init__(
        self, app: Any, limit: int, timeout: float = DEFAULT_BODY_TIMEOUT,
        status: ServerStatus | None = None,
    ) -> None:  # fmt: skip
        self.app, self.limit, self.timeout = app, limit, timeout
        self.status = status or ServerStatus()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan" and isinstance(scope.get("state"), dict):
            scope["state"][STATUS_KEY] = self.status
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                n = int(declared)
            except ValueError:
                await _send_error(send, 400, "Content-Length is not a number")
                return
            if n > self.limit:
                await _send_error(send, 413, self._too_big(n))
                return
        chunks: list[bytes] = []
        total = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            try:
                msg = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                await _send_error(send, 408, f"the request body did not arrive within "
                                  f"{self.timeout:g} s (--body-timeout)")  # fmt: skip
                return
            if msg["type"] == "http.disconnect":
                return
            body = msg.get("body", b"")
            total += len(body)
            if total > self.limit:
                await _send_error(send, 413, self._too_big(total, at_least=True))
                return
            chunks.append(body)
            if not msg.get("more_body"):
                break
        data = b"".join(chunks)
        done = False

        async def replay() -> Any:
            nonlocal done
            if not done:
                done = True
                return {"type": "http.request", "body": data, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_big(self, n: int, at_least: bool = False) -> str:
        more = "more than " if at_least else ""
        return (
            f"the request body is {more}{n} bytes, more than this server takes "
            f"(--max-body {self.limit})"
        )


async def _send_error(send: Any, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _guard(work: Callable[[], Response]) -> Response:
    try:
        return work()
    except RequestError as e:
        return _error(e.status, e.message)
    except Exception:
        rid = uuid.uuid4().hex[:12]
        log.exception("internal error %s", rid)
        return JSONResponse(
            {"error": f"internal server error (id {rid}; the server's log has the details)",
             "id": rid},
            status_code=500,
        )  # fmt: skip


def create_app(
    model: ServedModel,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    max_batch: int = DEFAULT_MAX_BATCH,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    status: ServerStatus | None = None,
) -> Any:
    """The ASGI application serving ``model`` (the body limit wrapped around FastAPI): the
    health and metadata routes, inference, and ``/predict``, each a router of its own."""
    status = status or ServerStatus()
    app = FastAPI(
        title=f"{model.name} — Torchwire model server",
        version=VERSION,
        description=_description(model),
    )
    app.state.model = model
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.include_router(metadata_router(model, max_batch, status))
    app.include_router(infer_router(model, max_batch))
    app.include_router(predict_router(model, max_batch))
    return BodyLimit(app, max_body, body_timeout, status)


async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return _error(exc.status_code, str(exc.detail))


OIP_TAGS: list[str | Enum] = ["Open Inference Protocol"]
MODEL_PREFIXES = ("/v2/models/{model_name}", "/v2/models/{model_name}/versions/{version}")


def _not_this(model: ServedModel, model_name: str, version: str | None = None) -> None:
    """Refuse (404) a request for another model, or for a version other than ``1``."""
    name = model.name
    if model_name != name:
        raise RequestError(f"no model {model_name!r} (this server serves {name!r})", 404)
    if version not in (None, "1"):
        raise RequestError(f"model {name!r} has no version {version!r} (only '1')", 404)


def metadata_router(model: ServedModel, max_batch: int, status: ServerStatus) -> APIRouter:
    """The server's health and metadata and the model's (Open Inference Protocol): what a
    client or an orchestrator asks before it sends work."""
    router = APIRouter(tags=OIP_TAGS)

    @router.get("/v2", summary="server metadata")
    def server_meta() -> Response:
        return JSONResponse(protocol.server_metadata(VERSION))

    @router.get("/v2/health/live", summary="liveness")
    def live() -> Response:
        return JSONResponse({"live": True})

    @router.get("/v2/health/ready", summary="readiness (503 while the server drains)")
    def ready() -> Response:
        if status.draining:
            return JSONResponse({"ready": False}, status_code=503)
        return JSONResponse({"ready": True})

    def about(model_name: str, version: str | None, answer: Callable[[], Any]) -> Response:
        def work() -> Response:
            _not_this(model, model_name, version)
            return JSONResponse(answer())

        return _guard(work)

    def meta(model_name: str, version: str | None = None) -> Response:
        return about(model_name, version, lambda: protocol.model_metadata(model))

    def model_ready(model_name: str, version: str | None = None) -> Response:
        return about(model_name, version, lambda: {"name": model.name, "ready": True})

    def config(model_name: str, version: str | None = None) -> Response:
        return about(model_name, version, lambda: protocol.model_config(model, max_batch))

    for prefix in MODEL_PREFIXES:
        router.get(prefix, summary="model metadata")(meta)
        router.get(prefix + "/ready", summary="model readiness")(model_ready)
        router.get(prefix + "/config", summary="model configuration")(config)
    return router


def infer_router(model: ServedModel, max_batch: int) -> APIRouter:
    """Inference as the Open Inference Protocol has it: JSON tensors or the binary tensor
    data extension, with and without a model version."""
    router = APIRouter(tags=OIP_TAGS)
    layout = input_layout(model)
    infer_doc = {
        "requestBody": {
            "required": True,
            **({"description": layout} if layout else {}),
            "content": {
                "application/json": {"example": _infer_example(model)},
                "application/octet-stream": {
                    "schema": {"type": "string", "format": "binary"},
                    "description": "binary tensor data extension: the JSON request (its "
                    "length in the Inference-Header-Content-Length header), then the raw "
                    "little-endian tensors of the inputs with parameters.binary_data_size",
                },
            },
        }
    }

    async def infer(model_name: str, request: Request, version: str | None = None) -> Response:
        body = await request.body()
        header = request.headers.get(protocol.HEADER_LENGTH)

        def work() -> Response:
            _not_this(model, model_name, version)
            req, binary = protocol.split_body(body, header)
            feeds, wanted, rid = protocol.parse_infer(model, req, binary, max_batch)
            results = model.run(feeds, [w[0] for w in wanted])
            data, headers = protocol.encode_response(model, results, wanted, rid)
            return Response(data, headers=headers)

        return await run_in_threadpool(_guard, work)

    for prefix in MODEL_PREFIXES:
        router.post(prefix + "/infer", summary="inference", openapi_extra=infer_doc)(infer)
    return router


def predict_router(model: ServedModel, max_batch: int) -> APIRouter:
    """``/predict``: raw feature rows (JSON or CSV) answered as ``torchwire predict`` does,
    for people and scripts that do not speak the tensor protocol."""
    router = APIRouter(tags=["Predict"])
    feats = model.features
    classes = model.class_names

    @router.post(
        "/predict",
        summary="predict on raw feature rows (as torchwire predict)",
        description="Rows as JSON objects by feature name ("
        + ", ".join(_md(f) for f in feats._names())
        + "), as lists in that order, or CSV with a header line. "
        + (f"Classes: {', '.join(_md(c) for c in classes)}." if classes else ""),
        openapi_extra=_predict_doc(model),
    )
    async def predict(request: Request) -> Response:
        body = await request.body()
        ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
        return await run_in_threadpool(_guard, lambda: _predict(model, body, ctype, max_batch))

    return router


def _predict(model: ServedModel, body: bytes, ctype: str, max_batch: int) -> Response:
    """One ``/predict`` request: the rows parsed by content type, then predicted."""
    feats = model.features
    why = model.predict_error
    if why:
        raise RequestError(why, 400)
    if not body.strip():
        raise RequestError("the request body is empty: send rows (JSON or CSV)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError("the body is not UTF-8 text") from None
    unseen: Unseen = {}
    if ctype in ("text/csv", "application/csv"):
        x = feats.from_csv(text, max_batch, unseen)
    elif ctype in ("application/json", "text/json", "") or ctype.endswith("+json"):
        x = feats.from_json(protocol.parse_json(text), max_batch, unseen)
    else:
        raise RequestError(
            f"content type {shown(ctype)} is not served: send application/json or text/csv",
            415,
        )
    answer = model.predict_rows(x)
    if unseen:  # answered as torchwire predict does: predicted, with what it could not read
        answer["warnings"] = feats.warnings(unseen)
    return JSONResponse(answer)


def _predict_doc(model: ServedModel) -> dict[str, Any]:
    """The OpenAPI request and response examples of ``/predict`` (the /docs page)."""
    feats = model.features
    example = feats.example_object()
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "examples": {
                        "objects": {"summary": "rows by feature name", "value": [example]},
                        "lists": {
                            "summary": "rows as lists, in feature order",
                            "value": [feats.example_list()],
                        },
                    }
                },
                "text/csv": {
                    "example": ",".join(_csv_cell(k) for k in example)
                    + "\n"
                    + ",".join(_csv_cell(str(v)) for v in example.values())
                    + "\n"
                },
            },
        },
        "responses": {
            "200": {
                "description": "per row, the prediction (and the class probabilities)",
                "content": {"application/json": {"example": _predict_example(model)}},
            }
        },
    }


def _csv_cell(s: str) -> str:
    return '"' + s.replace('"', '""') + '"' if any(c in s for c in ',"\n\r') else s


def _infer_example(m: ServedModel) -> dict[str, Any]:
    t = m.inputs[0]
    dims = [1 if d < 0 else d for d in t.shape]
    n = 1
    for d in dims:
        n *= d
    zero: Any = False if t.datatype == "BOOL" else (0.0 if t.datatype.startswith("FP") else 0)
    return {"inputs": [{"name": t.name, "shape": dims, "datatype": t.datatype,
                        "data": [zero] * n}]}  # fmt: skip


def _predict_example(m: ServedModel) -> dict[str, Any]:
    if m.task == "classification" and m.class_names:
        k = len(m.class_names)
        row: dict[str, Any] = {"prediction": m.class_names[0]}
        row.update({f"p({c})": round(1 / k, 4) for c in m.class_names})
        return {"task": "classification", "class_names": m.class_names, "predictions": [row]}
    return {"task": m.task or "regression", "predictions": [{"prediction": 0.0}]}


def _md(text: str) -> str:
    """Text from the model (class, feature, tensor names) as inert Markdown: no markup, no
    HTML, one line (the /docs page renders descriptions)."""
    out = []
    for c in " ".join(str(text).split()):
        if c == "<":
            out.append("&lt;")
        elif c == ">":
            out.append("&gt;")
        elif c == "&":
            out.append("&amp;")
        elif c in "\\`*_{}[]()#+-!|~":
            out.append("\\" + c)
        else:
            out.append(c)
    return "".join(out)


def _description(m: ServedModel) -> str:
    ins = ", ".join(f"{_md(t.name)} {t.datatype} {list(t.shape)}" for t in m.inputs)
    outs = ", ".join(f"{_md(t.name)} {t.datatype} {list(t.shape)}" for t in m.outputs)
    lines = [
        f"Model **{_md(m.name)}** on onnxruntime. Inputs: {ins}. Outputs: {outs}.",
        "",
        "`/v2/…`: the Open Inference Protocol (KServe v2 / Triton HTTP), JSON tensors or the "
        "binary tensor data extension; any client of that protocol (e.g. `tritonclient.http`) "
        "works unchanged. `/predict`: raw feature rows, answered as `torchwire predict` does.",
    ]
    layout = input_layout(m)
    if layout:
        lines += ["", layout]
    if m.task:
        lines.append(f"\nTask: {m.task}.")
    if m.class_names:
        lines.append("Classes: " + ", ".join(_md(c) for c in m.class_names) + ".")
    return "\n".join(lines)


def input_layout(m: ServedModel, most: int = 64) -> str:
    """How ``/v2/…/infer`` wants a sample laid out (Markdown), for a model with one input
    whose values are named: each value in order, a category column as its one-hot values
    in the order of its categories. Empty when the model does not say."""
    f = m.features
    if len(m.inputs) != 1 or not f.feature_names:
        return ""
    t = m.inputs[0]
    parts: list[str] = []
    for c in f.columns if f.columns is not None else f.feature_names:
        cats = f.categories.get(c)
        if cats:
            one_hot = ", ".join(_md(f"{c}={k}") for k in cats)
            parts.append(f"{one_hot} (one-hot: 1 for the row's {_md(c)}, else 0)")
        else:
            parts.append(_md(c))
    shown = parts[:most] + ([f"… {len(parts) - most} more"] if len(parts) > most else [])
    raw = m.baked or not (m.preprocessing and m.preprocessing.get("steps"))
    how = ("raw values (the model's preprocessing runs inside it)" if raw else
           "preprocessed values (this model was exported without its preprocessing)")  # fmt: skip
    return (
        f"**The `/v2` input layout.** `{_md(t.name)}` {t.datatype} {list(t.shape)}: per "
        f"sample {len(f.feature_names)} {how}, in this order: " + "; ".join(shown) + "."
    )


def app_from_env() -> Any:
    """The application a uvicorn worker process builds (``--workers N``): its settings come
    in ``TORCHWIRE_SERVE_CONFIG`` (JSON: model, name, threads, max_body, max_batch)."""
    cfg = json.loads(os.environ[CONFIG_ENV])
    model = ServedModel(cfg["model"], cfg["name"], threads=cfg.get("threads"))
    return create_app(model, max_body=cfg["max_body"], max_batch=cfg["max_batch"],
                      body_timeout=cfg.get("body_timeout", DEFAULT_BODY_TIMEOUT))  # fmt: skip
