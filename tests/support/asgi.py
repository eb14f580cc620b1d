"""One request to an ASGI application in this process (no server, no socket): how the
serve tests ask the FastAPI app many hostile questions quickly."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any


@dataclass
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    app: Any, method: str, path: str, body: bytes | str = b"", headers: dict[str, str] | None = None
) -> Answer:
    """``method path`` with ``body`` (sent in one piece) answered by ``app``."""
    data = body.encode() if isinstance(body, str) else body
    hs = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    hs.append((b"content-length", str(len(data)).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "scheme": "http", "headers": hs, "state": {},
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}  # fmt: skip
    status = 0
    chunks: list[bytes] = []

    async def run() -> None:
        nonlocal status
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            await asyncio.Event().wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            else:
                chunks.append(message.get("body", b""))

        await app(scope, receive, send)

    asyncio.run(run())
    return Answer(status, b"".join(chunks))
