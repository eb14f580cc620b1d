"""Run the server: ``python -m torchwire_serve --model model.onnx`` in a bundle, or
``torchwire serve`` in the engine (which exports a run first).

uvicorn drains on SIGTERM (and Ctrl-C): it stops listening, lets the requests in flight
finish (at most ``drain`` seconds), then exits 0; readiness turns false meanwhile, and a
request already sent on an idle keep-alive connection is still answered (``connection``).
A client gets ``--header-timeout`` seconds for its request head and ``--body-timeout`` for
its body. With ``--workers N`` uvicorn starts N processes that share the port, each with
its own onnxruntime session.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ServeError
from .model import (
    CONFIG_ENV,
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_BODY,
    ServedModel,
    default_name,
    default_threads,
    model_name,
)

DRAIN_SECONDS = 30


@dataclass(frozen=True)
class Endpoints:
    """Where a running server answers: what the CLI prints and the designer shows."""

    url: str  # http://host:port
    name: str  # the model's name in the /v2 URLs

    @property
    def model(self) -> str:
        return f"{self.url}/v2/models/{self.name}"

    @property
    def infer(self) -> str:
        return f"{self.model}/infer"

    @property
    def predict(self) -> str:
        return f"{self.url}/predict"

    @property
    def docs(self) -> str:
        return f"{self.url}/docs"


def build_server(
    app: Any,
    *,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    drain: float = DRAIN_SECONDS,
    log_level: str = "info",
) -> Any:
    """A uvicorn server for ``app`` on this package's connections (header timeout, 431,
    a drain that answers what was sent); ``run(sockets=[sock])`` serves until SIGTERM, or
    until ``should_exit`` is set."""
    import uvicorn

    from .connection import Connection

    config = uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=drain,
                            server_header=False, http=Connection)  # fmt: skip
    config.header_timeout = header_timeout  # type: ignore[attr-defined]
    return _server_class()(config)


def serve(
    model_path: str,
    *,
    name: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    threads: int | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    max_batch: int = DEFAULT_MAX_BATCH,
    drain: float = DRAIN_SECONDS,
    header_timeout: float = DEFAULT_HEADER_TIMEOUT,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    log_level: str = "info",
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve ``model_path`` until SIGTERM/SIGINT; in-flight requests finish first."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from .app import create_app
    from .connection import Connection

    if workers < 1:
        raise ServeError("--workers must be at least 1")
    if max_body < 1 or max_batch < 1:
        raise ServeError("--max-body and --max-batch must be at least 1")
    if not (header_timeout > 0 and body_timeout > 0):
        raise ServeError("--header-timeout and --body-timeout must be more than 0 seconds")
    threads = threads or default_threads(workers)
    model = ServedModel(model_path, name or "model", threads=threads)  # fails here, once
    if not name:
        model.name = default_name(model_path, model.metadata)
    else:
        model.name = model_name(name)
    say = announce or (lambda s: print(s, file=sys.stderr, flush=True))
    sock = bind(host, port)  # an address in use fails here, as an OSError
    port = sock.getsockname()[1]
    at = Endpoints(f"http://{_url_host(host)}:{port}", model.name)
    say(f"serving {model.name} ({model_path}) at {at.url}  —  docs: {at.docs}")
    say(f"  curl -s {at.model}")
    common: dict[str, Any] = dict(
        log_level=log_level, timeout_graceful_shutdown=drain, server_header=False,
        http=Connection,
    )  # fmt: skip
    if workers == 1:
        app = create_app(model, max_body=max_body, max_batch=max_batch,
                         body_timeout=body_timeout)  # fmt: skip
        build_server(app, header_timeout=header_timeout, drain=drain,
                     log_level=log_level).run(sockets=[sock])  # fmt: skip
        return
    os.environ[CONFIG_ENV] = json.dumps({
        "model": os.path.abspath(model_path), "name": model.name, "threads": threads,
        "max_body": max_body, "max_batch": max_batch, "body_timeout": body_timeout,
    })  # fmt: skip
    del model
    config = uvicorn.Config(f"{__package__}.app:app_from_env", factory=True, workers=workers,
                            **common)  # fmt: skip
    config.header_timeout = header_timeout  # type: ignore[attr-defined]
    Multiprocess(config, sockets=[sock]).run()  # N processes share the listening socket


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say TCP (else every
    # response waits ~40 ms for the client's delayed ACK)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port} ({e.strerror or e})") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, exiting 0 after a signal's graceful shutdown (uvicorn raises
        the signal again once drained, which would end the process by SIGTERM)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                yield
                self._captured_signals.clear()

    return Server


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def add_server_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", help="model name in the URLs (default: the project's name)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=8000, help="port (default 8000; 0: a free one, printed)"
    )
    p.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    p.add_argument("--threads", type=int, help="onnxruntime threads per run (default: cores "
                   "shared among the workers, at most 4)")  # fmt: skip
    p.add_argument("--max-body", type=int, default=DEFAULT_MAX_BODY, metavar="BYTES",
                   help=f"largest request body (default {DEFAULT_MAX_BODY})")  # fmt: skip
    p.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH, metavar="ROWS",
                   help=f"most rows/samples per request (default {DEFAULT_MAX_BATCH})")  # fmt: skip
    p.add_argument("--header-timeout", type=float, default=DEFAULT_HEADER_TIMEOUT,
                   metavar="SECONDS", help="time a client has to send a request's headers "
                   f"(default {DEFAULT_HEADER_TIMEOUT:g})")  # fmt: skip
    p.add_argument("--body-timeout", type=float, default=DEFAULT_BODY_TIMEOUT,
                   metavar="SECONDS", help="time a client has to send a request's body "
                   f"(default {DEFAULT_BODY_TIMEOUT:g})")  # fmt: skip
    p.add_argument("--log-level", default="info",
                   choices=("critical", "error", "warning", "info", "debug"))  # fmt: skip


def options(args: argparse.Namespace) -> dict[str, Any]:
    return dict(
        name=args.name, host=args.host, port=args.port, workers=args.workers,
        threads=args.threads, max_body=args.max_body, max_batch=args.max_batch,
        header_timeout=args.header_timeout, body_timeout=args.body_timeout,
        log_level=args.log_level,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m torchwire_serve --model model.onnx [options]``: exit 0, or 2 in one line."""
    p = argparse.ArgumentParser(prog="torchwire_serve", description="Serve an ONNX model "
                                "over the Open Inference Protocol and /predict.")  # fmt: skip
    p.add_argument("--model", default="model.onnx", help="the ONNX model (default model.onnx)")
    add_server_options(p)
    args = p.parse_args(argv)
    try:
        serve(args.model, **options(args))
    except ServeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # the port is taken, …
        print(f"error: {e.strerror or e}", file=sys.stderr)
        return 2
    return 0
