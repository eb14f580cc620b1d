"""``torchwire bundle``: a folder that serves the model anywhere, with or without Torchwire.

    DIR/model.onnx              the model (preprocessing baked in; classes in its metadata)
    DIR/torchwire_serve/        the server, file for file the engine's (onnxruntime, numpy,
                                FastAPI, uvicorn; no torch, no engine)
    DIR/requirements.txt        those four, pinned to the versions tested here
    DIR/Dockerfile              slim Python, non-root user, HEALTHCHECK on /v2/health/ready
    DIR/README.md               docker build / docker run, a curl example
    --triton:
    DIR/model_repository/NAME/1/model.onnx, DIR/model_repository/NAME/config.pbtxt
    DIR/kserve-inferenceservice.yaml

Names from the model (its name, tensor names) reach these files only quoted for the format
(protobuf text strings, JSON/YAML double-quoted scalars, Dockerfile JSON arrays); the model
name is also cut down to ``[A-Za-z0-9_.-]`` before it names a folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from engine.serve.errors import ServeError
from engine.serve.model import DEFAULT_MAX_BATCH, ServedModel, TensorSpec, default_name, model_name

# The server's own files, shipped as the package ``torchwire_serve``.
SERVER_FILES = ("__init__.py", "__main__.py", "errors.py", "metadata.py", "model.py",
                "protocol.py", "connection.py",
                "app.py", "server.py")  # fmt: skip
REQUIREMENTS = ("onnxruntime", "numpy", "fastapi", "uvicorn")
BASE_IMAGE = "python:{major}.{minor}-slim"
PORT = 8000


@dataclass
class Bundle:
    path: Path
    name: str
    files: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"wrote {self.path} ({', '.join(self.files)})"


def requirements() -> str:
    """The server's dependencies, pinned to the versions installed (and tested) here."""
    from importlib.metadata import PackageNotFoundError, version

    lines = []
    for pkg in REQUIREMENTS:
        try:
            lines.append(f"{pkg}=={version(pkg)}")
        except PackageNotFoundError:
            raise ServeError(f"{pkg} is not installed here; pip install {pkg}") from None
    return "\n".join(lines) + "\n"


def write_bundle(
    model_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    name: str | None = None,
    triton: bool = False,
    max_batch: int | None = None,
) -> Bundle:
    """Write the bundle for the ONNX file ``model_path`` into the new folder ``out``.

    The folder is written beside ``out`` under a hidden name and renamed when complete, so a
    failure leaves nothing behind; an existing non-empty ``out`` is refused.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ServeError(f"{out} exists and is not an empty folder; choose a new one", file=out)
    model = ServedModel(model_path, "model", threads=1)
    nm = model_name(name) if name else default_name(model_path, model.metadata)
    model.name = nm
    batch = max_batch or DEFAULT_MAX_BATCH
    parent = out.parent if str(out.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it 0700; a bundle is an ordinary folder
    try:
        files = _write(tmp, model, Path(model_path), nm, triton, batch)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Bundle(out, nm, files)


def _write(
    d: Path, model: ServedModel, src: Path, name: str, triton: bool, batch: int
) -> list[str]:
    shutil.copyfile(src, d / "model.onnx")
    pkg = d / "torchwire_serve"
    pkg.mkdir()
    here = Path(__file__).parent
    for f in SERVER_FILES:
        shutil.copyfile(here / f, pkg / f)
    (d / "requirements.txt").write_text(requirements(), encoding="utf-8")
    (d / "Dockerfile").write_text(dockerfile(name, batch), encoding="utf-8")
    (d / ".dockerignore").write_text("model_repository/\n*.yaml\n", encoding="utf-8")
    files = ["model.onnx", "torchwire_serve/", "requirements.txt", "Dockerfile"]
    if triton:
        repo = d / "model_repository" / name
        (repo / "1").mkdir(parents=True)
        shutil.copyfile(src, repo / "1" / "model.onnx")
        (repo / "config.pbtxt").write_text(config_pbtxt(model, name, batch), encoding="utf-8")
        (d / "kserve-inferenceservice.yaml").write_text(kserve_yaml(name), encoding="utf-8")
        files += [f"model_repository/{name}/", "kserve-inferenceservice.yaml"]
    (d / "README.md").write_text(readme(model, name, triton), encoding="utf-8")
    files.append("README.md")
    return files


# -- Dockerfile -----------------------------------------------------------------------------
def dockerfile(name: str, max_batch: int) -> str:
    base = BASE_IMAGE.format(major=sys.version_info.major, minor=sys.version_info.minor)
    cmd = ["python", "-m", "torchwire_serve", "--model", "model.onnx", "--name", name,
           "--host", "0.0.0.0", "--port", str(PORT), "--max-batch", str(max_batch)]  # fmt: skip
    probe = (
        "import sys, urllib.request; "
        f"sys.exit(urllib.request.urlopen('http://127.0.0.1:{PORT}/v2/health/ready', "
        "timeout=2).status != 200)"
    )
    return f"""# The Torchwire model server for {json.dumps(name)}: onnxruntime behind FastAPI/uvicorn.
#   docker build -t {image_tag(name)} .
#   docker run --rm -p {PORT}:{PORT} {image_tag(name)}
FROM {base}

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin serve
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY torchwire_serve/ torchwire_serve/
COPY model.onnx .

USER serve
EXPOSE {PORT}
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \\
    CMD {json.dumps(["python", "-c", probe])}

CMD {json.dumps(cmd)}
"""


def image_tag(name: str) -> str:
    """A docker image tag: lowercase, ``[a-z0-9_.-]``."""
    return model_name(name.lower()).lower()


# -- Triton / KServe ------------------------------------------------------------------------
TRITON_TYPES = {"BOOL": "TYPE_BOOL", "UINT8": "TYPE_UINT8", "UINT16": "TYPE_UINT16",
                "UINT32": "TYPE_UINT32", "UINT64": "TYPE_UINT64", "INT8": "TYPE_INT8",
                "INT16": "TYPE_INT16", "INT32": "TYPE_INT32", "INT64": "TYPE_INT64",
                "FP16": "TYPE_FP16", "FP32": "TYPE_FP32", "FP64": "TYPE_FP64"}  # fmt: skip


def pb_string(s: str) -> str:
    """``s`` as a protobuf text-format string literal (UTF-8 bytes, escaped)."""
    out = ['"']
    for b in s.encode("utf-8", "backslashreplace"):
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif 0x20 <= b < 0x7F:
            out.append(c)
        else:
            out.append(f"\\{b:03o}")
    out.append('"')
    return "".join(out)


def config_pbtxt(model: ServedModel, name: str, max_batch: int) -> str:
    """Triton's model configuration (ModelConfig, protobuf text format)."""
    batched = all(t.shape and t.shape[0] == -1 for t in model.inputs + model.outputs)

    def tensor(t: TensorSpec) -> str:
        dims = list(t.shape[1:]) if batched else list(t.shape)
        if not dims:  # a per-sample scalar: Triton wants [1] and reshape to []
            return (f"  {{\n    name: {pb_string(t.name)}\n    data_type: {TRITON_TYPES[t.datatype]}"
                    "\n    dims: [ 1 ]\n    reshape: { shape: [ ] }\n  }")  # fmt: skip
        return (f"  {{\n    name: {pb_string(t.name)}\n    data_type: {TRITON_TYPES[t.datatype]}"
                f"\n    dims: [ {', '.join(map(str, dims))} ]\n  }}")  # fmt: skip

    lines = [
        f"# Triton model configuration for {pb_string(name)}, written by Torchwire.",
        "# Class names and preprocessing travel in model.onnx's metadata.",
        f"name: {pb_string(name)}",
        'platform: "onnxruntime_onnx"',
        'backend: "onnxruntime"',
        f"max_batch_size: {max_batch if batched else 0}",
        "input [\n" + ",\n".join(tensor(t) for t in model.inputs) + "\n]",
        "output [\n" + ",\n".join(tensor(t) for t in model.outputs) + "\n]",
    ]
    if batched:
        lines.append("dynamic_batching {\n  max_queue_delay_microseconds: 100\n}")
    return "\n".join(lines) + "\n"


def k8s_name(name: str) -> str:
    """A Kubernetes resource name (RFC 1123 label): lowercase alphanumerics and '-'."""
    out = "".join(c if c.isascii() and c.isalnum() else "-" for c in name.lower())
    while "--" in out:
        out = out.replace("--", "-")
    out = out.strip("-")[:63].strip("-")
    return out or "model"


def kserve_yaml(name: str) -> str:
    q = json.dumps  # a JSON string is a valid YAML double-quoted scalar
    return f"""# KServe InferenceService serving model_repository/ on NVIDIA Triton (Open Inference
# Protocol v2). Copy model_repository/ to your storage and set storageUri to it:
#   gsutil cp -r model_repository gs://YOUR-BUCKET/{k8s_name(name)}/
#   kubectl apply -f kserve-inferenceservice.yaml
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: {q(k8s_name(name))}
spec:
  predictor:
    model:
      modelFormat:
        name: "triton"
      protocolVersion: "v2"
      runtime: "kserve-tritonserver"
      storageUri: {q(f"gs://YOUR-BUCKET/{k8s_name(name)}/model_repository")}
      resources:
        requests:
          cpu: "1"
          memory: "1Gi"
        limits:
          cpu: "2"
          memory: "2Gi"
"""


# -- README ---------------------------------------------------------------------------------
def readme(model: ServedModel, name: str, triton: bool) -> str:
    tag = image_tag(name)
    base = f"http://localhost:{PORT}"
    feats = model.features
    row = json.dumps([feats.example_object()]) if model.predict_error is None else None
    t = model.inputs[0]
    dims = [1 if d < 0 else d for d in t.shape]
    n = 1
    for d in dims:
        n *= d
    infer = json.dumps({"inputs": [{"name": t.name, "shape": dims, "datatype": t.datatype,
                                    "data": [0] * n}]})  # fmt: skip
    classes = ", ".join(_code(c) for c in model.class_names)
    parts = [
        f"# {_md(name)} — model server",
        "",
        "Written by `torchwire bundle`. The model (`model.onnx`, preprocessing inside) served "
        "on onnxruntime by a small FastAPI/uvicorn server (`torchwire_serve/`), speaking the "
        "Open Inference Protocol (KServe v2 / Triton HTTP) and `/predict` for raw rows.",
        "",
        f"Task: {_md(model.task or 'unknown')}." + (f" Classes: {classes}." if classes else ""),
        "",
        "## Docker",
        "",
        "```bash",
        f"docker build -t {tag} .",
        f"docker run --rm -p {PORT}:{PORT} {tag}",
        "```",
        "",
        "## Without Docker",
        "",
        "```bash",
        "python3 -m venv .venv && . .venv/bin/activate",
        "pip install -r requirements.txt",
        f"python -m torchwire_serve --model model.onnx --name {_sh(name)} --port {PORT}",
        "```",
        "",
        "## Requests",
        "",
        "```bash",
        f"curl -s {base}/v2/health/ready",
        f"curl -s {base}/v2/models/{name}",
        f"curl -s -X POST {base}/v2/models/{name}/infer -H 'Content-Type: application/json' \\",
        f"     -d {_sh(infer)}",
    ]
    if row is not None:
        parts += [
            f"curl -s -X POST {base}/predict -H 'Content-Type: application/json' \\",
            f"     -d {_sh(row)}",
        ]
    parts += ["```", "", f"The API and its examples: {base}/docs."]
    if triton:
        parts += [
            "",
            "## NVIDIA Triton and KServe",
            "",
            f"`model_repository/` is a Triton model repository ({_code(name + '/config.pbtxt')}, "
            f"{_code(name + '/1/model.onnx')}, platform `onnxruntime_onnx`, dynamic batching).",
            "",
            "```bash",
            "docker run --rm -p 8000:8000 -v $PWD/model_repository:/models \\",
            "    nvcr.io/nvidia/tritonserver:24.08-py3 tritonserver --model-repository=/models",
            "```",
            "",
            "`kserve-inferenceservice.yaml` serves the same repository on KServe (Triton "
            "runtime, protocol v2): copy `model_repository/` to your storage, set `storageUri`, "
            "`kubectl apply -f kserve-inferenceservice.yaml`.",
        ]
    return "\n".join(parts) + "\n"


def curl_predict(model: ServedModel, url: str) -> str:
    """A one-line ``curl`` that asks ``/predict`` about one example row (else the v2 API)."""
    if model.predict_error is None:
        row = json.dumps([model.features.example_object()])
        return (f"curl -s -X POST {url}/predict -H 'Content-Type: application/json' "
                f"-d {_sh(row)}")  # fmt: skip
    return f"curl -s {url}/v2/models/{model.name}"


def _md(s: str) -> str:
    """Text for Markdown: no markup, no raw HTML, one line."""
    out = []
    for c in " ".join(str(s).split()):
        out.append("\\" + c if c in "\\`*_{}[]()<>#+-!|~" else c)
    return "".join(out)


def _code(s: str) -> str:
    """``s`` as a Markdown code span: shown as written (escapes inside one are literal), on
    one line, fenced by more backticks than it holds in a row."""
    text = " ".join(str(s).split())
    fence = "`" * (max((len(r) for r in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _sh(s: str) -> str:
    """``s`` quoted for a POSIX shell."""
    return "'" + s.replace("'", "'\"'\"'") + "'"
