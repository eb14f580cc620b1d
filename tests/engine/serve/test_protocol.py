"""The Open Inference Protocol against a live server, with NVIDIA's tritonclient.http as the
client (binary tensors by default, JSON tensors too), and every bad request refused with
its 4xx while the server keeps answering."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.http as th
from tritonclient.utils import InferenceServerException


def _client(server) -> th.InferenceServerClient:
    return th.InferenceServerClient(server.host, connection_timeout=10, network_timeout=10)


def _ort(path, x):
    s = ort.InferenceSession(str(path))
    return s.run(None, {s.get_inputs()[0].name: x})[0]


def _post(server, path, body, headers=None, method="POST"):
    host, port = server.host.split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read(), dict(r.getheaders())
    finally:
        c.close()


def _still_answers(server, trained):
    c = _client(server)
    assert c.is_server_ready()
    x = np.ones((2, 4), np.float32)
    i = th.InferInput("features", [2, 4], "FP32")
    i.set_data_from_numpy(x)
    np.testing.assert_allclose(
        c.infer("iris", [i]).as_numpy("linear_2"), _ort(trained["iris"].onnx, x), rtol=1e-6
    )


def test_metadata_and_health_through_tritonclient(iris_server):
    c = _client(iris_server)
    assert c.is_server_live() and c.is_server_ready()
    assert c.is_model_ready("iris") and c.is_model_ready("iris", "1")
    assert not c.is_model_ready("nope")
    meta = c.get_server_metadata()
    assert meta["name"] == "torchwire" and "binary_tensor_data" in meta["extensions"]
    m = c.get_model_metadata("iris")
    assert m["name"] == "iris" and m["platform"] == "onnxruntime_onnx"
    assert m["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, 4]}]
    assert m["outputs"] == [{"name": "linear_2", "datatype": "FP32", "shape": [-1, 3]}]
    cfg = c.get_model_config("iris")
    assert cfg["max_batch_size"] == 64 and cfg["input"][0]["dims"] == [4]
    with pytest.raises(InferenceServerException, match="no model 'nope'"):
        c.get_model_metadata("nope")


@pytest.mark.parametrize("binary_in", [True, False])
@pytest.mark.parametrize("binary_out", [True, False])
def test_infer_equals_onnxruntime(iris_server, trained, binary_in, binary_out):
    c = _client(iris_server)
    x = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float32) * 3
    i = th.InferInput("features", list(x.shape), "FP32")
    i.set_data_from_numpy(x, binary_data=binary_in)
    outs = [th.InferRequestedOutput("linear_2", binary_data=binary_out)]
    r = c.infer("iris", [i], outputs=outs, request_id="r-7", model_version="1")
    got = r.as_numpy("linear_2")
    assert got.dtype == np.float32 and got.shape == (7, 3)
    np.testing.assert_allclose(got, _ort(trained["iris"].onnx, x), rtol=1e-6, atol=1e-7)
    assert r.get_response()["id"] == "r-7"
    # no outputs named: tritonclient asks for all of them, binary
    r = c.infer("iris", [i])
    np.testing.assert_allclose(r.as_numpy("linear_2"), got, rtol=1e-6)


def test_concurrent_clients_each_get_their_own_answer(iris_server, trained):
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=(1 + k % 5, 4)).astype(np.float32) for k in range(64)]
    want = [_ort(trained["iris"].onnx, x) for x in xs]
    got: list = [None] * len(xs)
    errors: list = []

    def worker(k0: int) -> None:
        c = _client(iris_server)
        try:
            for k in range(k0, len(xs), 16):
                i = th.InferInput("features", list(xs[k].shape), "FP32")
                i.set_data_from_numpy(xs[k])
                got[k] = c.infer("iris", [i]).as_numpy("linear_2")
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)


def _infer_body(inputs, **extra):
    return json.dumps({"inputs": inputs, **extra}).encode()


GOOD = {"name": "features", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}

BAD_INFER = [
    (
        {**GOOD, "shape": [1, 3], "data": [1, 2, 3]},
        400,
        "has shape [1, 3], the model takes [-1, 4]",
    ),
    ({**GOOD, "shape": [4]}, 400, "has shape [4]"),
    ({**GOOD, "datatype": "FP64"}, 400, "datatype 'FP64', the model takes FP32"),
    ({**GOOD, "datatype": "INT32", "data": [1, 2, 3, 4]}, 400, "the model takes FP32"),
    ({**GOOD, "name": "pixels"}, 400, "no input 'pixels' (its inputs: features)"),
    ({**GOOD, "data": [1, 2, 3]}, 400, "3 values in 'data', shape [1, 4] needs 4"),
    ({**GOOD, "data": [1, 2, "x", 4]}, 400, "'x' in 'data' is not a float32 value"),
    ({**GOOD, "shape": [0, 4], "data": []}, 400, "the batch is empty"),
    ({**GOOD, "shape": [65, 4], "data": [0.0] * 260}, 413, "a batch of 65 is more than"),
]


@pytest.mark.parametrize(("tensor", "status", "message"), BAD_INFER)
def test_bad_tensors_get_their_4xx(iris_server, trained, tensor, status, message):
    code, body, _ = _post(iris_server, "/v2/models/iris/infer", _infer_body([tensor]))
    assert code == status, body
    assert message in json.loads(body)["error"]
    _still_answers(iris_server, trained)


def test_non_finite_values_are_refused_where_nothing_fills_them(iris_server, trained):
    # Python's json writes NaN / Infinity literals, as many clients do
    for v, word in ((float("nan"), "NaN"), (float("inf"), "infinite")):
        body = json.dumps({"inputs": [{**GOOD, "data": [1, v, 3, 4]}]}).encode()
        code, out, _ = _post(iris_server, "/v2/models/iris/infer", body)
        assert code == 400
        err = json.loads(out)["error"]
        assert word in err and "sepal width (cm)" in err
    # binary tensors too (tritonclient)
    c = _client(iris_server)
    i = th.InferInput("features", [1, 4], "FP32")
    i.set_data_from_numpy(np.array([[1, np.nan, 3, 4]], np.float32))
    with pytest.raises(InferenceServerException, match=r"\[400\].*NaN values are not allowed"):
        c.infer("iris", [i])
    _still_answers(iris_server, trained)


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        (b'{"inputs": [', {}, 400, "malformed JSON"),
        (b"", {}, 400, "the request body is empty"),
        (b"[1, 2]", {}, 400, "must be a JSON object with 'inputs'"),
        (b'{"inputs": []}', {}, 400, "has no 'inputs'"),
        (b"\xff\xfe", {}, 400, "not UTF-8 JSON"),
        (
            _infer_body([{**GOOD, "data": None, "parameters": {"binary_data_size": 16}}])
            + b"\0" * 8,
            {"Inference-Header-Content-Length": "X"},
            400,
            "not a number",
        ),
        (
            b'{"inputs": []}',
            {"Inference-Header-Content-Length": "999"},
            400,
            "the body has 14 bytes",
        ),
        (
            _infer_body(
                [
                    {k: v for k, v in GOOD.items() if k != "data"}
                    | {"parameters": {"binary_data_size": 16}}
                ]
            )
            + b"\0" * 8,
            None,
            400,
            "binary_data_size 16 runs past the end",
        ),
        (
            _infer_body(
                [
                    {k: v for k, v in GOOD.items() if k != "data"}
                    | {"parameters": {"binary_data_size": 8}}
                ]
            )
            + b"\0" * 8,
            None,
            400,
            "8 bytes of binary data, but shape [1, 4] of FP32 needs 16",
        ),
        (_infer_body([GOOD], outputs=[{"name": "softmax"}]), {}, 400, "no output 'softmax'"),
    ],
)
def test_malformed_requests_get_their_4xx(iris_server, trained, body, headers, status, message):
    if headers is None:  # the JSON's own length, the binary part after it
        n = body.index(b"}]}") + 3
        headers = {"Inference-Header-Content-Length": str(n)}
    code, out, _ = _post(iris_server, "/v2/models/iris/infer", body, headers)
    assert code == status, out
    assert message in json.loads(out)["error"]
    _still_answers(iris_server, trained)


def test_unknown_model_version_and_route_are_404(iris_server, trained):
    code, out, _ = _post(iris_server, "/v2/models/other/infer", _infer_body([GOOD]))
    assert code == 404 and "no model 'other'" in json.loads(out)["error"]
    code, out, _ = _post(iris_server, "/v2/models/iris/versions/2/infer", _infer_body([GOOD]))
    assert code == 404 and "no version '2'" in json.loads(out)["error"]
    code, out, _ = _post(iris_server, "/v3/anything", b"", method="GET")
    assert code == 404 and "error" in json.loads(out)
    _still_answers(iris_server, trained)


def test_a_body_over_max_body_is_refused(iris_server, trained):
    big = _infer_body([{**GOOD, "shape": [60, 4], "data": [0.123456789] * 240}]) + b" " * 200_000
    code, out, _ = _post(iris_server, "/v2/models/iris/infer", big)
    assert code == 413 and "--max-body 200000" in json.loads(out)["error"]
    # without a Content-Length (chunked), counted as it arrives
    host, port = iris_server.host.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                  b"Content-Type: application/json\r\n\r\n")  # fmt: skip
        chunk = b"[" + b" " * 65_000
        resp = b""
        try:
            for _ in range(8):
                s.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                chunk = b" " * 65_000
        except OSError:  # the server answered and closed while we were still sending
            pass
        s.settimeout(10)
        try:
            while b"\r\n\r\n" not in resp:
                part = s.recv(4096)
                if not part:
                    break
                resp += part
        except OSError:
            pass
    assert resp.startswith(b"HTTP/1.1 413"), resp[:200]
    _still_answers(iris_server, trained)


def test_an_unexpected_failure_is_a_500_with_an_id_in_the_log(tmp_path, start_server):
    import onnx
    from onnx import TensorProto, helper

    # a model whose Reshape fails at run time for any batch but 1: onnxruntime raises
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [2, 2])
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        "broken",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
        [shape],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    path = tmp_path / "broken.onnx"
    onnx.save_model(model, str(path))
    s = start_server("--model", str(path), "--name", "broken")
    body = _infer_body([{"name": "x", "shape": [3, 4], "datatype": "FP32", "data": [0.0] * 12}])
    code, out, _ = _post(s, "/v2/models/broken/infer", body)
    assert code == 500
    err = json.loads(out)
    assert err["id"] in err["error"]
    time.sleep(0.2)
    assert f"internal error {err['id']}" in s.log() and "Traceback" in s.log()
    # no Torchwire metadata: /predict says so, the protocol still works
    code, out, _ = _post(s, "/predict", b"[[1, 2, 3, 4]]", {"Content-Type": "application/json"})
    assert code == 400 and "no Torchwire task metadata" in json.loads(out)["error"]
    c = _client(s)
    i = th.InferInput("x", [1, 4], "FP32")
    i.set_data_from_numpy(np.arange(4, dtype=np.float32)[None])
    np.testing.assert_array_equal(c.infer("broken", [i]).as_numpy("y"), [[0, 1], [2, 3]])
    assert s.stop() == 0


def test_sigterm_drains_the_requests_in_flight(trained, start_server):
    s = start_server("--model", str(trained["iris"].onnx))
    host, port = s.host.split(":")
    body = _infer_body([GOOD])
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(
        b"POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body[:10]
    )
    time.sleep(0.3)  # the request is in flight: its body is half there
    s.proc.send_signal(15)
    time.sleep(0.5)
    assert s.proc.poll() is None, "exited with a request in flight"
    with pytest.raises(OSError):  # no new connections while draining
        socket.create_connection((host, int(port)), timeout=2).close()
    sock.sendall(body[10:])
    resp = b""
    while True:
        part = sock.recv(65536)
        if not part:
            break
        resp += part
    sock.close()
    assert resp.startswith(b"HTTP/1.1 200"), resp[:300]
    out = json.loads(resp.split(b"\r\n\r\n", 1)[1])
    assert out["outputs"][0]["shape"] == [1, 3]
    assert s.proc.wait(20) == 0


def test_several_workers_serve_and_stop(trained, start_server):
    s = start_server("--model", str(trained["iris"].onnx), "--workers", "2")
    results = []
    for _ in range(6):
        c = _client(s)
        i = th.InferInput("features", [1, 4], "FP32")
        i.set_data_from_numpy(np.ones((1, 4), np.float32))
        results.append(c.infer("iris", [i]).as_numpy("linear_2"))
        c.close()
    np.testing.assert_allclose(results[0], _ort(trained["iris"].onnx, np.ones((1, 4), np.float32)),
                               rtol=1e-6)  # fmt: skip
    assert all(np.array_equal(r, results[0]) for r in results)
    assert s.stop() == 0


def test_keep_alive_requests_do_not_wait_for_delayed_acks(iris_server):
    """Without TCP_NODELAY on the accepted sockets each response waited ~40 ms (Nagle
    against the client's delayed ACK); a small request takes about a millisecond."""
    host, port = iris_server.host.split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    body = _infer_body([GOOD])
    times = []
    for _ in range(15):
        t0 = time.perf_counter()
        c.request("POST", "/v2/models/iris/infer", body=body)
        r = c.getresponse()
        assert r.status == 200
        r.read()
        times.append(time.perf_counter() - t0)
    c.close()
    assert sorted(times)[len(times) // 2] < 0.025, times


def test_torchwire_serve_exports_a_run_folder_and_documents_the_api(trained, start_server):
    s = start_server(module="engine", command=("serve", str(trained["iris"].run)))
    log = s.log()
    assert "Exported model.onnx" in log and "serving iris" in log
    c = _client(s)
    assert c.is_model_ready("iris")
    code, out, _ = _post(s, "/openapi.json", None, method="GET")
    assert code == 200
    doc = json.loads(out)
    assert "Classes: setosa, versicolor, virginica." in doc["info"]["description"]
    predict = doc["paths"]["/predict"]["post"]
    ex = predict["requestBody"]["content"]["application/json"]["examples"]["objects"]["value"]
    assert list(ex[0]) == [
        "sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"
    ]  # fmt: skip
    assert "text/csv" in predict["requestBody"]["content"]
    resp = predict["responses"]["200"]["content"]["application/json"]["example"]
    assert resp["class_names"] == ["setosa", "versicolor", "virginica"]
    infer = doc["paths"]["/v2/models/{model_name}/infer"]["post"]["requestBody"]["content"]
    assert infer["application/json"]["example"]["inputs"][0]["name"] == "features"
    assert "application/octet-stream" in infer
    code, out, _ = _post(s, "/docs", None, method="GET")
    assert code == 200 and b"swagger" in out.lower()
    assert s.stop() == 0


def test_names_from_the_model_reach_the_docs_page_inert(trained, tmp_path):
    import shutil

    from engine.serve.app import create_app
    from engine.serve.model import ServedModel
    from engine.serve.prepare import add_metadata

    path = tmp_path / "m.onnx"
    shutil.copyfile(trained["iris"].onnx, path)
    hostile = ["<script>alert(1)</script>", "`x` **b** [l](javascript:x)", "ok"]
    add_metadata(path, {"class_names": json.dumps(hostile)})
    doc = create_app(ServedModel(path, "m")).app.openapi()
    text = doc["info"]["description"] + doc["paths"]["/predict"]["post"]["description"]
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "`x`" not in text and "**b**" not in text and "[l](" not in text
    assert "\\`x\\`" in text
