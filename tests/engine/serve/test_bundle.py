"""``torchwire bundle``: the folder's files (Dockerfile, requirements, README, Triton's
config.pbtxt parsed into ModelConfig, KServe YAML), names quoted, the CLI's exit codes, and
the bundle's server started from the bundle folder alone in a fresh virtualenv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from engine.cli import main
from engine.serve.bundle import config_pbtxt, k8s_name, pb_string, write_bundle
from engine.serve.model import ServedModel, model_name


def _config(text: str) -> model_config_pb2.ModelConfig:
    return text_format.Parse(text, model_config_pb2.ModelConfig())


@pytest.fixture(scope="module")
def bundle(trained, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundles") / "iris-bundle"
    assert main([
        "bundle", str(trained["iris"].run), "--out", str(out), "--triton", "--max-batch", "256",
    ]) == 0  # fmt: skip
    return out


def test_the_bundle_holds_what_runs_anywhere(bundle):
    names = {str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file()}
    assert {"model.onnx", "Dockerfile", "requirements.txt", "README.md", ".dockerignore",
            "torchwire_serve/app.py", "torchwire_serve/__main__.py",
            "model_repository/iris/config.pbtxt", "model_repository/iris/1/model.onnx",
            "kserve-inferenceservice.yaml"} <= names  # fmt: skip
    assert not any("__pycache__" in n for n in names)
    reqs = (bundle / "requirements.txt").read_text().split()
    assert sorted(r.split("==")[0] for r in reqs) == ["fastapi", "numpy", "onnxruntime", "uvicorn"]
    assert all("==" in r for r in reqs)
    docker = (bundle / "Dockerfile").read_text()
    lines = [ln for ln in docker.splitlines() if ln and not ln.startswith("#")]
    assert lines[0].startswith("FROM python:3.") and lines[0].endswith("-slim")
    assert "RUN pip install --no-cache-dir -r requirements.txt" in docker
    users = [ln for ln in lines if ln.startswith("USER ")]
    assert users == ["USER serve"] and "useradd" in docker
    # the user is set before CMD, after everything that needs root
    assert docker.index("USER serve") > docker.index("RUN pip install")
    health = docker[docker.index("HEALTHCHECK") :]
    assert "/v2/health/ready" in health.split("\nCMD")[0]
    cmd = json.loads(lines[-1].removeprefix("CMD "))
    assert cmd[:3] == ["python", "-m", "torchwire_serve"] and "--max-batch" in cmd
    assert cmd[cmd.index("--name") + 1] == "iris"
    readme = (bundle / "README.md").read_text()
    assert "docker build -t iris ." in readme and "docker run --rm -p 8000:8000 iris" in readme
    assert "curl -s -X POST http://localhost:8000/v2/models/iris/infer" in readme
    assert "curl -s -X POST http://localhost:8000/predict" in readme


def test_config_pbtxt_parses_into_tritons_model_config(bundle):
    cfg = _config((bundle / "model_repository/iris/config.pbtxt").read_text())
    assert cfg.name == "iris" and cfg.platform == "onnxruntime_onnx"
    assert cfg.max_batch_size == 256 and cfg.HasField("dynamic_batching")
    assert [(i.name, i.data_type, list(i.dims)) for i in cfg.input] == [
        ("features", model_config_pb2.TYPE_FP32, [4])
    ]
    assert [(o.name, o.data_type, list(o.dims)) for o in cfg.output] == [
        ("linear_2", model_config_pb2.TYPE_FP32, [3])
    ]
    # the same model in both places, its metadata (classes, preprocessing) inside
    assert (bundle / "model.onnx").read_bytes() == (
        bundle / "model_repository/iris/1/model.onnx"
    ).read_bytes()
    m = ServedModel(bundle / "model.onnx", "iris")
    assert m.class_names == ["setosa", "versicolor", "virginica"] and m.baked


def test_kserve_inference_service_points_at_the_repository(bundle):
    doc = yaml.safe_load((bundle / "kserve-inferenceservice.yaml").read_text())
    assert doc["apiVersion"] == "serving.kserve.io/v1beta1" and doc["kind"] == "InferenceService"
    assert doc["metadata"]["name"] == "iris"
    model = doc["spec"]["predictor"]["model"]
    assert model["protocolVersion"] == "v2" and model["runtime"] == "kserve-tritonserver"
    assert model["storageUri"].endswith("/model_repository")


def test_hostile_names_are_quoted_or_cut(trained, tmp_path):
    weird = 'a"b\\c\nd\u00e9 } input [ {'
    assert _config(f"name: {pb_string(weird)}").name == weird
    assert model_name('../../etc/x"; rm -rf /') == "etc_x___rm_-rf"
    assert model_name("...") == "model" and k8s_name("My_Model.v2") == "my-model-v2"
    out = tmp_path / "b"
    b = write_bundle(trained["iris"].onnx, out, name='x"\n`$(id)`', triton=True)
    assert b.name == "x_____id" and (out / "model_repository" / b.name / "config.pbtxt").is_file()
    docker = (out / "Dockerfile").read_text()
    assert "$(id)" not in docker and '"\n' not in docker.split("CMD ")[-1][:-1]
    m = ServedModel(trained["iris"].onnx, "iris")
    cfg = _config(config_pbtxt(m, weird, 8))
    assert cfg.name == weird and cfg.input[0].name == "features"


def test_the_cli_refuses_what_it_cannot_use(trained, tmp_path, capsys):
    assert main(["bundle", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "no such run folder, model or project" in capsys.readouterr().err
    assert main(["bundle", str(trained["iris"].project), "--out", str(tmp_path / "o")]) == 1
    assert "needs --checkpoint" in capsys.readouterr().err
    # a run whose data is a CSV beside the project: the error says to give the project
    run = str(trained["csv_tabular"].run)
    assert main(["bundle", run, "--out", str(tmp_path / "o")]) == 1
    assert (
        f"give the project file instead: PROJECT.json --checkpoint {run}" in capsys.readouterr().err
    )
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("keep me")
    assert main(["bundle", str(trained["iris"].onnx), "--out", str(full)]) == 1
    assert "exists and is not an empty folder" in capsys.readouterr().err
    assert (full / "x").read_text() == "keep me" and len(list(full.iterdir())) == 1
    assert not list(tmp_path.glob(".full.*")) and not list(tmp_path.glob(".o.*"))
    # a plain .onnx bundles without Torchwire's training artefacts
    assert main(["bundle", str(trained["iris"].onnx), "--out", str(tmp_path / "plain")]) == 0
    assert (tmp_path / "plain" / "Dockerfile").is_file()
    assert not (tmp_path / "plain" / "model_repository").exists()


def test_serve_cli_says_what_is_wrong_in_one_line(trained, tmp_path, capsys):
    assert main(["serve", str(tmp_path / "nope.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "no such" in err and "Traceback" not in err
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    assert main(["serve", str(tmp_path / "bad.onnx")]) == 1
    err = capsys.readouterr().err
    assert "not a model onnxruntime can load" in err and "Traceback" not in err
    assert str(tmp_path / "bad.onnx") in err


@pytest.mark.slow
def test_the_bundle_serves_from_its_folder_in_a_fresh_virtualenv(bundle, trained, tmp_path):
    """No engine, no torch: a new virtualenv with requirements.txt only (pip's cache reused)."""
    import tritonclient.http as th

    from engine.train.inference import predict

    from .conftest import Server

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    r = subprocess.run(
        [py, "-m", "pip", "install", "-q", "-r", "requirements.txt"],
        cwd=bundle, env=env, capture_output=True, text=True, timeout=540,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    probe = subprocess.run([py, "-c", "import torch"], capture_output=True, env=env, cwd=bundle)
    assert probe.returncode != 0  # nothing but the bundle's requirements
    probe = subprocess.run([py, "-c", "import engine"], capture_output=True, env=env, cwd=bundle)
    assert probe.returncode != 0
    s = Server(["--model", "model.onnx", "--name", "iris"], cwd=bundle, python=py, env=env,
               module="torchwire_serve")  # fmt: skip
    try:
        c = th.InferenceServerClient(s.host, connection_timeout=10, network_timeout=10)
        assert c.is_server_ready() and c.is_model_ready("iris")
        x = np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], np.float32)
        i = th.InferInput("features", [2, 4], "FP32")
        i.set_data_from_numpy(x)
        assert c.infer("iris", [i]).as_numpy("linear_2").shape == (2, 3)
        import http.client

        host, port = s.host.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("POST", "/predict", body=json.dumps(x.tolist()),
                     headers={"Content-Type": "application/json"})  # fmt: skip
        out = json.loads(conn.getresponse().read())
        conn.close()
        want = predict(str(trained["iris"].project), str(trained["iris"].run), x.tolist())
        assert [r["prediction"] for r in out["predictions"]] == want.labels
        assert s.stop() == 0
    finally:
        s.kill()


def test_code_spans_in_the_readme_hold_no_escapes_and_the_folder_is_readable(trained, tmp_path):
    import re
    import stat

    old = os.umask(0o022)
    try:
        b = write_bundle(trained["iris"].onnx, tmp_path / "b", name="iris_v-2", triton=True)
    finally:
        os.umask(old)
    assert b.name == "iris_v-2"
    readme = (tmp_path / "b" / "README.md").read_text()
    spans = re.findall(r"`([^`\n]+)`", readme)
    assert "iris_v-2/config.pbtxt" in spans
    assert not any("\\" in s for s in spans), [s for s in spans if "\\" in s]
    assert stat.S_IMODE((tmp_path / "b").stat().st_mode) == 0o755
