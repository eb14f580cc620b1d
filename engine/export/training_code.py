"""The training half of an exported script: the project's dataset, preprocessing and loop.

Data loading and the fitted preprocessing steps are the engine's own functions
(``engine.data.sources`` / ``transforms`` / ``pipeline``), copied verbatim into the script
with ``inspect.getsource``: they are plain numpy / pandas / scikit-learn code, so the script
prepares exactly the data the engine prepares (the tests compare the arrays). The loop
(``engine.export.script_parts``) follows ``engine.train``'s session step by step: same seed,
same weight initialisation order, same batch permutations from a separate generator, same
learning-rate schedule, so on the CPU it reproduces the engine's weights.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from engine.export.errors import ExportError
from engine.export.source import Source
from engine.names import is_identifier, literal

SUPPORTED_DATASETS = {
    "Iris", "Digits", "Wine", "BreastCancer", "Diabetes",
    "Moons", "Circles", "Blobs", "Regression", "CSVDataset", "NpzDataset",
}  # fmt: skip
SUPPORTED_STEPS = {"Clean", "Split", "Standardize", "MinMaxScale", "OneHot", "Batch", "Augment"}


def training_source(src: Source, script_path: Path | None = None) -> dict[str, Any]:
    """``{"code", "imports", "needs"}`` for the script, or ExportError saying what is missing."""
    from engine.check import check
    from engine.data.pipeline import chain_of
    from engine.train.settings import resolve_settings

    g = src.graph
    assert g is not None
    rep = check(g)
    plan = rep.extra.get("train_plan")
    if plan is None:
        reasons = rep.extra.get("train_reasons") or [d.message for d in rep.errors]
        raise ExportError(
            "the training code needs a project that can train (dataset → Input, a loss and an "
            "optimizer): " + ("; ".join(reasons) if reasons else "no training plan")
        )
    steps = chain_of(g, plan.data)
    ds, rest = steps[0], steps[1:]
    if ds.type not in SUPPORTED_DATASETS:
        raise ExportError(
            f"node {src.label(ds.node)}: the training script cannot load {ds.type} data yet "
            "(image folders stream from disk through the engine); export the model without "
            "training code"
        )
    for s in rest:
        if s.type not in SUPPORTED_STEPS:
            raise ExportError(
                f"node {src.label(s.node)}: the training script does not reproduce {s.type} "
                "yet; export the model without training code"
            )
    settings = resolve_settings(g.settings.get("training"))
    lnode, onode = g.nodes[plan.loss], g.nodes[plan.optimizer]
    for n in (lnode, onode):  # catalog types become code (nn.<type>): never other text
        if not is_identifier(n.type):
            raise ExportError(f"node {src.label(n.id)}: {n.type!r} is not a node type")
    lspec, ospec = lnode.spec, onode.spec

    path = None
    if ds.path:
        path = _rel(ds.path, script_path)
    dataset = {"type": ds.type, "params": ds.p, "path": path}
    step_list = [{"type": s.type, "params": s.p} for s in rest]
    training = {
        "epochs": settings["epochs"],
        "seed": settings["seed"],
        "grad_clip": settings["grad_clip"],
        "cpu_threads": settings.get("cpu_threads", 0),
        "monitor": settings["monitor"],
        "early_stopping": settings["early_stopping"],
        "patience": settings["patience"],
        "min_delta": settings["min_delta"],
        "keep_best": settings["checkpoint"] == "best_and_last",
    }
    data_info = rep.data.get(plan.data) if isinstance(rep.data, dict) else None
    task = getattr(data_info, "task", None) or src.task or "classification"
    n_classes = len(getattr(data_info, "class_names", ()) or src.class_names or ())
    loss_target = {
        "task": task,
        "target": lspec.extra.get("target", "onehot"),
        "classes": n_classes,
    }
    code = [
        "# -- training: the project's data, preprocessing and training loop ----------------",
        "# The dataset node and the preprocessing chain, in flow order (paths relative to this",
        "# file). Fitted steps learn their statistics on the training split only.",
        f"DATASET = {_literal(dataset)}",
        f"STEPS = {_literal(step_list)}",
        "# Training settings of the project (epochs, seed, stopping, best-checkpoint rule).",
        f"TRAINING = {_literal(training)}",
        f"LOSS_TARGET = {_literal(loss_target)}",
        f"OPTIMIZER = {_literal({'type': onode.type, 'params': onode.params})}",
        "",
        "",
        _make_loss(lnode.type, lnode.params, lspec),
        "",
        "",
        _make_optimizer(onode.type, onode.params, ospec),
        "",
        "",
        _engine_sources(),
        "",
        "",
        _own_sources(),
    ]
    needs = ["scikit-learn", "pandas"]
    imports = [
        "from __future__ import annotations",
        "import math",
        "from dataclasses import dataclass, field",
        "from typing import Any",
        "import pandas as pd",
        "import torch.nn.functional as F",
    ]
    return {"code": "\n".join(code), "imports": imports, "needs": needs}


def _rel(path: str, script: Path | None) -> str:
    return relative_or_absolute(path, script)


def relative_or_absolute(path: str | os.PathLike[str], script: Path | None) -> str:
    """Relative to the script when the file is near it (moves with a project folder),
    otherwise absolute."""
    full = os.path.abspath(path)
    if script is None:
        return full
    try:
        rel = os.path.relpath(full, script.resolve().parent)
    except ValueError:  # another drive
        return full
    return rel if rel.split(os.sep).count("..") <= 1 else full


def _literal(v: Any, indent: int = 0, width: int = 100) -> str:
    """A Python literal laid out as ``ruff format`` would (plain JSON-able data only)."""
    flat = _flat(v)
    if len(flat) + indent <= width - 12 or not isinstance(v, (dict, list, tuple)) or not v:
        return flat
    pad = " " * (indent + 4)
    if isinstance(v, dict):
        items = [f"{pad}{_flat(k)}: {_literal(x, indent + 4, width)}," for k, x in v.items()]
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    items = [f"{pad}{_literal(x, indent + 4, width)}," for x in v]
    return "[\n" + "\n".join(items) + "\n" + " " * indent + "]"


def _flat(v: Any) -> str:
    """One line of Python literal. Strings (paths, column names: user text) go in only as
    ``repr()`` (``names.literal``), which escapes quotes, newlines, line separators and
    lone surrogates."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_flat(k)}: {_flat(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_flat(x) for x in v) + "]"
    if isinstance(v, str) or v is None or isinstance(v, (bool, int, float)):
        return literal(v)
    raise ExportError(f"cannot write {v!r} into the script")


def _make_loss(type_: str, params: dict[str, Any], spec: Any) -> str:
    kw = [f"{p.name}={_flat(params[p.name])}" for p in spec.params if p.ctor]
    kw += [f"{k}={_flat(v)}" for k, v in spec.extra.get("fixed_kw", {}).items()]
    if params.get("weight"):
        kw.append(f"weight=torch.tensor({_flat(list(params['weight']))})")
    if type_ == "BCEWithLogitsLoss" and params.get("pos_weight", 1.0) != 1.0:
        kw.append(f"pos_weight=torch.tensor({_flat(params['pos_weight'])})")
    return (
        "def make_loss() -> nn.Module:\n"
        f'    """The project\'s loss node ({type_})."""\n' + _call(f"nn.{type_}", kw)
    )


def _make_optimizer(type_: str, params: dict[str, Any], spec: Any) -> str:
    kw = []
    for p in spec.params:
        if p.ctor:
            v = params[p.name]
            text = "(" + ", ".join(_flat(x) for x in v) + ")" if p.type == "floats" else _flat(v)
            kw.append(f"{p.name}={text}")
    return (
        "def make_optimizer(model: nn.Module) -> torch.optim.Optimizer:\n"
        f'    """The project\'s optimizer node ({type_}); its learning-rate schedule is\n'
        '    LRSchedule below."""\n' + _call(f"torch.optim.{type_}", ["model.parameters()", *kw])
    )


def _call(fn: str, args: list[str]) -> str:
    """``    return fn(args)`` wrapped as ruff format would."""
    one = f"    return {fn}({', '.join(args)})"
    if len(one) <= 100:
        return one
    inner = f"        {', '.join(args)}"
    if len(inner) <= 100:
        return f"    return {fn}(\n{inner}\n    )"
    return f"    return {fn}(\n" + "".join(f"        {a},\n" for a in args) + "    )"


def _engine_sources() -> str:
    """The engine's data and schedule code the script reuses, verbatim."""
    from engine.data import loaders, pipeline, sources, transforms
    from engine.train import runtime

    parts = [
        "# -- the engine's own data loading and preprocessing, copied verbatim -------------",
        f"MAX_AUTO_CLASSES = {sources.MAX_AUTO_CLASSES}",
    ]
    for obj in (
        sources.Raw, sources._table, sources._sklearn, sources._generator, sources._generated,
        sources._line_of, sources._numeric, sources._bad_value, sources.load_csv,
        sources._num_name, sources.load_npz,
        transforms.numeric_columns, transforms.text_columns, transforms._flat, transforms._list,
        transforms.Transform, transforms.Impute, transforms._stat, transforms.Standardize,
        transforms._safe, transforms.MinMaxScale, transforms.OneHot, transforms.from_node,
        pipeline._subset, pipeline._split, loaders.augment_batch, runtime.LRSchedule,
    ):  # fmt: skip
        parts += ["", "", inspect.getsource(obj).rstrip()]
    return "\n".join(parts)


def _own_sources() -> str:
    from engine.export import script_parts as sp

    parts = ["# -- preparing the data and training ------------------------------------------"]
    for obj in (sp.DataError, sp.load_raw, sp.prepare_data, sp.loss_target, sp.predicted,
                sp.evaluate, sp.train):  # fmt: skip
        parts += ["", "", inspect.getsource(obj).rstrip()]
    return "\n".join(parts)
