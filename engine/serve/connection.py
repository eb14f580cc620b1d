"""One HTTP/1.1 connection: uvicorn's h11 protocol with what a public server needs.

Why its own protocol: uvicorn times out idle keep-alive connections but never a client
that sends its request head slowly (hundreds of such connections stay open for ever); it
answers an oversized head with a 400 and a close that resets the connection before the
client reads it; and on SIGTERM it closes idle connections at once, so a request already
on its way on one of them gets no answer. Here:

- the request head must arrive within ``header_timeout`` seconds (408 otherwise), on a new
  connection and between keep-alive requests;
- a head over the size limit is answered 431, a malformed one 400, as JSON ``{"error"}``;
  refusals close gently (the rest of the request is read and dropped for a moment) so the
  client reads the answer instead of a reset;
- while the server drains, an idle connection waits ``DRAIN_LINGER`` seconds for a request
  already sent, answers it (``Connection: close``), then closes; and the app is told it is
  draining (``/v2/health/ready`` turns false).

The body's own deadline is the application's (``BodyLimit``), which sees it arrive.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
from uvicorn.protocols.http.flow_control import CLOSE_HEADER
from uvicorn.protocols.http.h11_impl import H11Protocol

from .app import STATUS_KEY
from .model import DEFAULT_HEADER_TIMEOUT

DRAIN_LINGER = 1.0  # seconds an idle connection waits for a request already on its way
REFUSAL_LINGER = 2.0  # seconds a refused connection reads and drops what still arrives
HEAD_LIMIT = 16 * 1024  # bytes of a request line and headers (uvicorn's h11 default)
REASONS = {400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large"}


class Connection(H11Protocol):
    """uvicorn's h11 connection with a header timeout, 431, gentle refusals and a drain
    that answers requests already sent (see the module's docstring)."""

    def __init__(self, config: Any, server_state: Any, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:  # fmt: skip
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = getattr(config, "header_timeout", DEFAULT_HEADER_TIMEOUT)
        self.head_timer: asyncio.TimerHandle | None = None
        self.drain_timer: asyncio.TimerHandle | None = None
        self.draining = False
        self.refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._wait_for_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return  # the rest of a refused request: read and dropped
        if self.conn.their_state is h11.IDLE and self._head_too_large(data):
            self._refuse(431, f"the request's headers are over {self._head_limit()} bytes")
            return
        super().data_received(data)
        self._request_started()

    def eof_received(self) -> bool | None:
        if self.refused:
            self.transport.close()
        return None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.draining and not self.transport.is_closing():
            self.transport.close()  # answered while draining: nothing more on it
        elif not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._wait_for_head()

    def send_400_response(self, msg: str) -> None:
        """h11 refused the request head: too large (431) or malformed (400)."""
        if len(self.conn.trailing_data[0]) > self._head_limit():
            self._refuse(431, f"the request's headers are over {self._head_limit()} bytes")
        else:
            self._refuse(400, "malformed HTTP request")

    def shutdown(self) -> None:
        """The server drains: say so to the app; an idle connection answers a request
        already on its way before it closes, a busy one closes after its answer."""
        status = self.app_state.get(STATUS_KEY)
        if status is not None:
            status.draining = True
        self.draining = True
        if self.cycle is None or self.cycle.response_complete:
            self._cancel_timers()
            self.drain_timer = self.loop.call_later(DRAIN_LINGER, self._close_if_idle)
        else:
            self._last_request()

    # -- internals ---------------------------------------------------------------------
    def _head_limit(self) -> int:
        size = self.config.h11_max_incomplete_event_size
        return size if size is not None else HEAD_LIMIT

    def _head_too_large(self, data: bytes) -> bool:
        """Whether the request head now arriving is over the limit (h11 alone catches only
        a head that arrives in pieces)."""
        limit = self._head_limit()
        buf = self.conn.trailing_data[0]
        if len(buf) + len(data) <= limit:
            return False
        end = (buf + data).find(b"\r\n\r\n", 0, limit + 4)
        return end == -1

    def _wait_for_head(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
        self.head_timer = self.loop.call_later(self.header_timeout, self._head_too_slow)

    def _request_started(self) -> None:
        if self.conn.their_state is h11.IDLE or self.cycle is None:
            return
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        if self.draining:
            if self.drain_timer is not None:
                self.drain_timer.cancel()
                self.drain_timer = None
            self._last_request()

    def _last_request(self) -> None:
        """The request in progress is this connection's last: its answer says
        ``Connection: close`` (uvicorn adds it when the request has it), so the client
        sends its next request on a new connection instead of into a closed one."""
        self.cycle.keep_alive = False
        headers = self.cycle.scope["headers"]
        if CLOSE_HEADER not in headers:
            headers.append(CLOSE_HEADER)

    def _head_too_slow(self) -> None:
        self.head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._refuse(408, f"the request's headers did not arrive within "
                         f"{self.header_timeout:g} s")  # fmt: skip

    def _close_if_idle(self) -> None:
        self.drain_timer = None
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()

    def _cancel_timers(self) -> None:
        for t in (self.head_timer, self.drain_timer, self.timeout_keep_alive_task):
            if t is not None:
                t.cancel()
        self.head_timer = self.drain_timer = self.timeout_keep_alive_task = None

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` outside h11 (no request was read), then close gently."""
        self._cancel_timers()
        self.refused = True
        body = json.dumps({"error": message}).encode()
        head = (f"HTTP/1.1 {status} {REASONS[status]}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")  # fmt: skip
        self.transport.write(head.encode() + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.flow.resume_reading()
        self.loop.call_later(REFUSAL_LINGER, self.transport.close)
