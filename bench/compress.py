"""Compression variants side by side: ONNX file size, CPU latency and test accuracy.

For the digits CNN and the digits MLP: train (seeded), then ``engine.compress.compress``
with structured pruning of half the channels/neurons (fine-tuned), unstructured global
magnitude pruning, int8 dynamic, int8 static (QDQ, calibrated) and fp16 quantization of
the original and of the pruned model, and, for the CNN, a distilled student with a quarter
of the channels. Latency: onnxruntime on the CPU, one thread, median of interleaved runs at
batch 1 and 32. Prints each report's table and writes them under OUT.

    python bench/compress.py [--epochs N] [--repeats N] [--out DIR]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.compress import compress
from engine.project import load_project
from engine.train import train

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "resources" / "examples"


def student_cnn() -> object:
    g = load_project(EXAMPLES / "digits_cnn.json")
    g.name = "digits_cnn_student"
    g.set("conv2d", out_channels=4)
    g.set("conv2d_2", out_channels=8)
    g.set("linear", out_features=16)
    return g


def bench(name: str, epochs: int, repeats: int, out: Path, distill: bool) -> None:
    project = EXAMPLES / f"{name}.json"
    run = out / name / "run"
    print(f"\n## {name}: training {epochs} epochs…", flush=True)
    res = train(str(project), out_dir=str(run), epochs=epochs, device="cpu")
    print(f"trained: test accuracy {res.test_metrics['accuracy']:.4f}")
    modes = ("int8-dynamic", "int8-static", "fp16")
    q = compress(str(project), run, out / name / "quantized", quantize_modes=modes,
                 repeats=repeats)  # fmt: skip
    print(f"\n### {name}: quantization of the original\n{q.table()}")
    s = compress(
        str(project), run, out / name / "structured", prune=0.5, structured=True,
        finetune_epochs=max(1, epochs // 3), quantize_modes=modes, repeats=repeats,
        distill=student_cnn() if distill else None, distill_epochs=epochs,
    )  # fmt: skip
    print(
        f"\n### {name}: structured pruning 50% (+ quantization{', distillation' if distill else ''})"
    )
    print(s.table())
    for v in s.variants:
        for note in v.notes:
            print(f"  {v.name}: {note}")
    u = compress(str(project), run, out / name / "unstructured", prune=0.7, scope="global",
                 steps=2, finetune_epochs=max(1, epochs // 4), repeats=repeats)  # fmt: skip
    print(f"\n### {name}: unstructured global magnitude pruning 70% (2 steps, fine-tuned)")
    print(u.table())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--out", help="folder for the runs and variants (default: a temporary one)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    logging.getLogger().setLevel(logging.ERROR)
    print(f"torch {torch.__version__}; onnxruntime CPU, 1 thread; {args.repeats} timed runs")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        bench("digits_cnn", args.epochs, args.repeats, out, distill=True)
        bench("digits_mlp", args.epochs, args.repeats, out, distill=False)


if __name__ == "__main__":
    main()
