"""The connection layer against a live server on 127.0.0.1: slow clients are timed out
(408), an oversized request head is answered 431 (read, not reset), and a drain answers
every request already sent, readiness false meanwhile."""

from __future__ import annotations

import json
import socket
import time

GOOD = {"name": "features", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}
BODY = json.dumps({"inputs": [GOOD]}).encode()


def _connect(server) -> socket.socket:
    host, port = server.host.split(":")
    return socket.create_connection((host, int(port)), timeout=15)


def _answer(sock: socket.socket) -> bytes:
    """One response: its head and the body its content-length says."""
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            return data
        data += part
    head, body = data.split(b"\r\n\r\n", 1)
    n = next(
        int(h.split(b":")[1])
        for h in head.split(b"\r\n")
        if h.lower().startswith(b"content-length")
    )
    while len(body) < n:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _infer(sock: socket.socket) -> None:
    sock.sendall(b"POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\n"
                 + f"Content-Length: {len(BODY)}\r\n\r\n".encode() + BODY)  # fmt: skip


def test_slow_clients_are_timed_out(trained, start_server):
    s = start_server("--model", str(trained["iris"].onnx), "--header-timeout", "0.5",
                     "--body-timeout", "0.5")  # fmt: skip
    slow_head, slow_body, idle = _connect(s), _connect(s), _connect(s)
    slow_head.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n")
    slow_body.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[[1,")
    for sock, what in ((slow_head, b"headers"), (slow_body, b"body"), (idle, b"headers")):
        resp = _answer(sock)
        assert resp.startswith(b"HTTP/1.1 408"), resp
        assert what + b" did not arrive within 0.5 s" in resp
        assert sock.recv(100) == b""  # closed after the answer
        sock.close()
    # a keep-alive client that dribbles its next request head is timed out too
    sock = _connect(s)
    _infer(sock)
    assert _answer(sock).startswith(b"HTTP/1.1 200")
    sock.sendall(b"POST /v2/models/iris/infer HTTP/1.1\r\n")
    assert _answer(sock).startswith(b"HTTP/1.1 408")
    sock.close()
    assert s.stop() == 0


def test_oversized_headers_get_431_not_a_reset(iris_server):
    sock = _connect(iris_server)
    sock.sendall(b"GET /v2 HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 40_000 + b"\r\n\r\n")
    resp = _answer(sock)
    sock.close()
    assert resp.startswith(b"HTTP/1.1 431"), resp[:200]
    assert "headers are over" in json.loads(resp.split(b"\r\n\r\n", 1)[1])["error"]
    sock = _connect(iris_server)
    sock.sendall(b"GET /v2 HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
    resp = _answer(sock)
    sock.close()
    assert resp.startswith(b"HTTP/1.1 400") and b"malformed HTTP request" in resp


def test_a_drain_answers_every_request_already_sent(trained, start_server):
    s = start_server("--model", str(trained["iris"].onnx))
    idle = [_connect(s) for _ in range(4)]
    for sock in idle:  # keep-alive connections, idle after one answer
        _infer(sock)
        assert _answer(sock).startswith(b"HTTP/1.1 200")
    busy = _connect(s)
    busy.sendall(b"POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\n"
                 + f"Content-Length: {len(BODY)}\r\n\r\n".encode() + BODY[:10])  # fmt: skip
    time.sleep(0.2)
    s.proc.send_signal(15)
    host, port = s.host.split(":")
    end = time.monotonic() + 10
    while time.monotonic() < end:  # until the server stops listening: it drains
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
        except OSError:
            break
        time.sleep(0.02)
    idle[0].sendall(b"GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n")
    for sock in idle[1:]:
        _infer(sock)
    resp = _answer(idle[0])
    assert resp.startswith(b"HTTP/1.1 503") and b'"ready":false' in resp.replace(b" ", b"")
    for sock in idle[1:]:
        resp = _answer(sock)
        assert resp.startswith(b"HTTP/1.1 200") and b"connection: close" in resp.lower()
        assert sock.recv(100) == b""  # then closed: the server is going away
    busy.sendall(BODY[10:])
    resp = _answer(busy)  # says so: the client sends no more into a closing connection
    assert resp.startswith(b"HTTP/1.1 200") and b"connection: close" in resp.lower()
    assert s.proc.wait(20) == 0
