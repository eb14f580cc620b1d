"""The model server against onnxruntime called in-process (the limit), on the same inputs.

Trains an example for two epochs (or takes ``--model X.onnx``), starts ``torchwire serve``'s
server on a free loopback port, and drives it with C concurrent clients (C = 1, 8, 32), each
on its own keep-alive connection sending Open Inference Protocol requests with binary
tensors (as tritonclient does). The same requests then run as ``session.run`` calls from C
threads in this process. Printed side by side: throughput (requests/s), p50 and p99 latency,
and the ratios server / in-process.

    python bench/serve.py [--example digits_mlp] [--batch 1] [--seconds 3] [--model X.onnx]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _model(example: str, tmp: Path) -> Path:
    from engine.project import load_project
    from engine.serve.prepare import model_file
    from engine.train import train

    project = ROOT / "resources" / "examples" / f"{example}.json"
    run = tmp / "run"
    train(load_project(project), out_dir=run, epochs=2)
    return model_file(project, tmp / "model.onnx", checkpoint=run)


def _start(model: Path, name: str) -> tuple[subprocess.Popen, str, int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = tempfile.TemporaryFile()  # noqa: SIM115 (read while the server runs)
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine.serve", "--model", str(model), "--host", "127.0.0.1",
         "--port", "0", "--log-level", "warning", "--max-batch", "100000", "--name", name],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    end = time.monotonic() + 60
    while time.monotonic() < end:
        log.seek(0)
        m = re.search(rb"at http://127\.0\.0\.1:(\d+)", log.read())
        if m:
            port = int(m.group(1))
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/v2/health/ready")
                if c.getresponse().status == 200:
                    return proc, "127.0.0.1", port
            except OSError:
                pass
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    log.seek(0)
    raise SystemExit(f"the server did not start:\n{log.read().decode(errors='replace')}")


def _request(name: str, inp: str, x: np.ndarray) -> tuple[bytes, dict[str, str]]:
    raw = x.tobytes()
    head = json.dumps({
        "inputs": [{"name": inp, "shape": list(x.shape), "datatype": "FP32",
                    "parameters": {"binary_data_size": len(raw)}}],
        "parameters": {"binary_data_output": True},
    }).encode()  # fmt: skip
    return head + raw, {
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(len(head)),
    }


def _drive(concurrency: int, seconds: float, call_factory) -> tuple[float, float, float, int]:
    """C threads calling ``call()`` until ``seconds`` pass: requests/s, p50 ms, p99 ms, n."""
    lat: list[list[float]] = [[] for _ in range(concurrency)]
    stop = time.monotonic() + seconds
    barrier = threading.Barrier(concurrency + 1)

    def worker(k: int) -> None:
        call = call_factory()
        call()  # warm: the connection, the session's first run
        barrier.wait()
        mine = lat[k]
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            call()
            mine.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    allv = sorted(v for a in lat for v in a)
    n = len(allv)
    p = lambda q: allv[min(n - 1, int(q * n))] * 1000  # noqa: E731
    return n / wall, statistics.median(allv) * 1000, p(0.99), n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--example", default="digits_mlp", help="example project to train (2 epochs)")
    ap.add_argument("--model", help="serve this .onnx instead of training an example")
    ap.add_argument("--batch", type=int, default=1, help="rows per request (default 1)")
    ap.add_argument("--seconds", type=float, default=3.0, help="per concurrency level")
    ap.add_argument("--concurrency", default="1,8,32")
    args = ap.parse_args()

    import onnxruntime as ort

    from engine.serve.model import ServedModel, default_threads

    with tempfile.TemporaryDirectory() as tmp:
        model_path = Path(args.model) if args.model else _model(args.example, Path(tmp))
        served = ServedModel(model_path, "bench")
        inp = served.inputs[0]
        shape = [args.batch, *[d if d > 0 else 1 for d in inp.shape[1:]]]
        rng = np.random.default_rng(0)
        x = rng.normal(size=shape).astype(np.float32)
        name = "bench"
        proc, host, port = _start(model_path, name)
        try:
            body, headers = _request(name, inp.name, x)

            def server_call():
                c = http.client.HTTPConnection(host, port, timeout=30)
                c.connect()  # headers and body go out in two writes: no Nagle delay
                c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

                def call():
                    c.request("POST", f"/v2/models/{name}/infer", body=body, headers=headers)
                    r = c.getresponse()
                    data = r.read()
                    if r.status != 200:
                        raise SystemExit(f"the server answered {r.status}: {data[:300]!r}")

                return call

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = default_threads()
            opts.inter_op_num_threads = 1
            sess = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])

            def local_call():
                feeds = {inp.name: x}
                return lambda: sess.run(None, feeds)

            levels = [int(c) for c in args.concurrency.split(",")]
            print(f"model {model_path.name if args.model else args.example}: input {inp.name} "
                  f"{shape}, {os.cpu_count()} cores, onnxruntime {ort.__version__}, "
                  f"{args.seconds:g} s per level")  # fmt: skip
            hdr = (f"{'C':>3} | {'server req/s':>12} {'p50 ms':>8} {'p99 ms':>8} | "
                   f"{'in-proc req/s':>13} {'p50 ms':>8} {'p99 ms':>8} | "
                   f"{'thru ratio':>10} {'p50 ratio':>9} {'p99 ratio':>9}")  # fmt: skip
            print(hdr)
            print("-" * len(hdr))
            for c in levels:
                s_tp, s50, s99, _ = _drive(c, args.seconds, server_call)
                l_tp, l50, l99, _ = _drive(c, args.seconds, local_call)
                print(f"{c:>3} | {s_tp:>12,.0f} {s50:>8.3f} {s99:>8.3f} | "
                      f"{l_tp:>13,.0f} {l50:>8.3f} {l99:>8.3f} | "
                      f"{s_tp / l_tp:>10.3f} {s50 / l50:>9.1f} {s99 / l99:>9.1f}")  # fmt: skip
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
