"""Measuring a variant as deployed: its ONNX file's size, CPU latency and test metric.

Every variant (the original, a pruned or distilled project, a quantized file) is measured
the same way: as an ONNX model with the preprocessing baked in, run by onnxruntime on the
CPU on the test split's raw features. Latency is the median over interleaved runs (variant
A, B, C, A, B, C, …) so that a machine's drift affects all of them alike.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.analysis.check import check
from engine.compress.errors import CompressError
from engine.data.errors import DataError
from engine.data.pipeline import chain_of, prepare

# Fitted steps that exported models bake in (their inputs are the features before them).
BAKED_TYPES = frozenset({"Standardize", "MinMaxScale"})


@dataclass
class RawSplits:
    """The project's splits as the baked ONNX model takes them (before fitted scaling)."""

    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    task: str
    class_names: list[str]


def raw_splits(g: Any) -> RawSplits:
    """Train/val/test features before Standardize/MinMaxScale (the baked steps) and targets
    in their own units, split exactly as training splits them (the split is seeded and
    happens before any fitted step; Clean's fill and clip stay, and replaying them in the
    model changes nothing)."""
    rep = check(g)
    plan = rep.extra.get("train_plan")
    if plan is None:
        raise CompressError("the project has no complete data → model → loss chain")
    try:
        steps = [s for s in chain_of(g, plan.data) if s.type not in BAKED_TYPES]
        prep = prepare(steps)
    except DataError as e:
        raise CompressError(str(e)) from None
    if prep.info.streaming:
        raise CompressError(
            "compression measures variants on in-memory data; this project streams image "
            "files (ImageFolder)"
        )
    x = {k: np.ascontiguousarray(v, np.float32) for k, v in prep.x.items()}
    y = {k: np.asarray(v) for k, v in prep.y.items()}
    return RawSplits(x, y, prep.info.task, list(prep.info.class_names))


def session(path: str | Path, threads: int = 1) -> Any:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def run(sess: Any, x: np.ndarray, batch: int = 512) -> np.ndarray:
    name = sess.get_inputs()[0].name
    outs = [
        sess.run(None, {name: np.ascontiguousarray(x[i : i + batch])})[0]
        for i in range(0, len(x), batch)
    ]
    return np.concatenate(outs).astype(np.float64).reshape(len(x), -1)


def classes(out: np.ndarray) -> np.ndarray:
    if out.shape[1] == 1:
        return (out[:, 0] > 0).astype(np.int64)
    return out.argmax(1)


def metric(task: str, out: np.ndarray, y: np.ndarray) -> tuple[str, float]:
    """accuracy (classification) or R² (regression, outputs in target units)."""
    if task == "classification":
        return "accuracy", float((classes(out) == y.reshape(-1)).mean())
    yt = y.reshape(len(y), -1).astype(np.float64)
    ss_res = float(((yt - out) ** 2).sum())
    ss_tot = float(((yt - yt.mean(0)) ** 2).sum())
    return "r2", 1.0 - ss_res / ss_tot if ss_tot > 0 else 0.0


def agreement(task: str, out: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """How a variant's outputs compare with the fp32 original's on the same samples."""
    if task == "classification":
        return {"class_agreement": float((classes(out) == classes(ref)).mean())}
    d = np.abs(out - ref)
    return {"max_abs_error": float(d.max()), "mean_abs_error": float(d.mean())}


def latencies(
    paths: dict[str, Path],
    sample: np.ndarray,
    batches: tuple[int, ...] = (1, 32),
    repeats: int = 30,
    threads: int = 1,
) -> dict[str, dict[int, float]]:
    """Median milliseconds per call of each model at each batch size, interleaved runs."""
    if len(sample) == 0:
        raise CompressError("no samples to time the models on")
    sessions = {k: session(p, threads) for k, p in paths.items()}
    inputs = {}
    for b in batches:
        reps = int(np.ceil(b / len(sample)))
        inputs[b] = np.ascontiguousarray(np.concatenate([sample] * reps)[:b], np.float32)
    times: dict[str, dict[int, list[float]]] = {k: {b: [] for b in batches} for k in paths}
    names = {k: s.get_inputs()[0].name for k, s in sessions.items()}
    for k, s in sessions.items():  # warm-up
        for b in batches:
            s.run(None, {names[k]: inputs[b]})
    for _ in range(repeats):
        for b in batches:
            for k, s in sessions.items():
                t0 = time.perf_counter()
                s.run(None, {names[k]: inputs[b]})
                times[k][b].append((time.perf_counter() - t0) * 1000.0)
    return {k: {b: statistics.median(v) for b, v in d.items()} for k, d in times.items()}
