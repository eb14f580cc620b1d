"""ONNX exporters side by side: time per export and robustness across the catalog.

For each graph: torch's dynamo exporter as shipped (it rebuilds its torchlib registry on
every call), the same with Torchwire's per-opset registry cache, and the TorchScript
exporter; then the whole ``export_onnx`` (export + onnx.checker full check + onnxruntime
parity at two batch sizes). Prints medians and ratios, and which node types each exporter
cannot convert. Runs are interleaved, since these machines are noisy.

    python bench/export.py [--quick] [--repeat N]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import compile_model, load_project
from engine.export import export_onnx
from engine.export import onnx as tw_onnx
from engine.graph.zoo import resnet18
from tests.support import graphs
from tests.support.catalog_cases import model_specs, single_node_graph

ROOT = Path(__file__).resolve().parents[1]


def dynamo(model: torch.nn.Module) -> None:
    info = model.torchwire
    xs = info.example_inputs(3)
    if xs and xs[0].dtype == torch.int64:
        xs = tuple(torch.zeros_like(x) for x in xs)
    batch = torch.export.Dim("batch")
    torch.onnx.export(
        model, xs, None, dynamo=True, dynamic_shapes=tuple({0: batch} for _ in xs),
        input_names=info.input_names, output_names=info.output_names, opset_version=18,
        verbose=False,
    )  # fmt: skip


def torchscript(model: torch.nn.Module) -> None:
    info = model.torchwire
    xs = info.example_inputs(3)
    axes = {n: {0: "batch"} for n in [*info.input_names, *info.output_names]}
    torch.onnx.export(
        model, xs, io.BytesIO(), dynamo=False, input_names=info.input_names,
        output_names=info.output_names, dynamic_axes=axes, opset_version=17,
    )  # fmt: skip


def timed(fn, *a) -> float | None:
    t = time.perf_counter()
    try:
        fn(*a)
    except Exception:
        return None
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a few graphs, one repeat")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import logging

    logging.disable(logging.WARNING)
    repeat = 1 if args.quick else args.repeat
    named = {
        "lenet": load_project(ROOT / "resources/examples/lenet.json"),
        "resnet18@32px": resnet18(num_classes=10, image_size=32),
        "resnet_small": graphs.resnet_small(),
        "lstm_classifier": graphs.lstm_classifier(),
        "transformer_encoder": graphs.transformer_encoder(),
        "two_towers": graphs.two_towers(),
    }
    types = model_specs()
    if args.quick:
        types = ["Linear", "Conv2d", "LSTM", "MultiheadAttention", "Bilinear", "Embedding"]
        named = {k: named[k] for k in ("lenet", "lstm_classifier", "transformer_encoder")}
    for t in types:
        named[f"node:{t}"] = single_node_graph(t)[0]
    models = {k: compile_model(g).eval() for k, g in named.items()}

    from torch.onnx._internal.exporter import _registration as reg

    shipped = reg.ONNXRegistry.__dict__["from_torchlib"]
    tw_onnx._cache_registry()
    cached = reg.ONNXRegistry.__dict__["from_torchlib"]
    dynamo(models["lenet"])  # warm the imports once, outside the measurements

    rows = []
    fails: dict[str, list[str]] = {"dynamo": [], "torchscript": [], "export_onnx": []}
    with tempfile.TemporaryDirectory() as d:
        for name, m in models.items():
            t = {"shipped": [], "cached": [], "torchscript": [], "export_onnx": []}
            for _ in range(repeat):
                reg.ONNXRegistry.from_torchlib = shipped
                t["shipped"].append(timed(dynamo, m))
                reg.ONNXRegistry.from_torchlib = cached
                t["cached"].append(timed(dynamo, m))
                t["torchscript"].append(timed(torchscript, m))
                t["export_onnx"].append(timed(export_onnx, m, Path(d) / "m.onnx"))
            med = {}
            for k, v in t.items():
                ok = [x for x in v if x is not None]
                med[k] = statistics.median(ok) if ok else None
            if med["cached"] is None:
                fails["dynamo"].append(name)
            if med["torchscript"] is None:
                fails["torchscript"].append(name)
            if med["export_onnx"] is None:
                fails["export_onnx"].append(name)
            rows.append((name, med))
            cells = "  ".join(
                f"{k} {'FAIL' if v is None else f'{v:6.2f}s'}" for k, v in med.items()
            )
            print(f"{name:34s} {cells}", flush=True)
    reg.ONNXRegistry.from_torchlib = cached

    def total(key: str) -> float:
        return sum(m[key] for _, m in rows if m[key] is not None)

    both = [m for _, m in rows if m["cached"] is not None and m["torchscript"] is not None]
    print()
    print(f"graphs: {len(rows)} ({len(types)} single node types), medians of {repeat} run(s)")
    print(f"dynamo as shipped, total      {total('shipped'):7.1f}s")
    print(f"dynamo + registry cache       {total('cached'):7.1f}s   "
          f"ratio cached/shipped {total('cached') / max(total('shipped'), 1e-9):.2f}")  # fmt: skip
    print(f"torchscript exporter          {total('torchscript'):7.1f}s   "
          f"ratio dynamo(cached)/torchscript on graphs both export "
          f"{sum(m['cached'] for m in both) / max(sum(m['torchscript'] for m in both), 1e-9):.1f}")  # fmt: skip
    print(f"export_onnx (export + check + parity) total {total('export_onnx'):7.1f}s")
    for k, v in fails.items():
        print(f"{k} cannot export: {', '.join(v) if v else 'nothing'}")


if __name__ == "__main__":
    main()
