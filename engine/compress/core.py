"""``compress``: prune, quantize and distill a trained project, and measure what it costs.

Every variant is built in a hidden work folder inside ``out_dir``, measured as a deployed
ONNX model (see ``engine.compress.measure``), and only then published into ``out_dir``;
with ``max_drop`` a variant whose test metric falls by more than that is refused and
nothing of it is written (its row in the report says why). ``report.json`` holds the
whole table.

Variants, each a project + checkpoint and/or an ONNX file (preprocessing baked):

- ``original``: ``original.onnx`` (fp32), the reference every other row is compared with;
- ``pruned-<k>``: ``pruned-<k>/project.json`` + ``pruned-<k>/model.pt`` (and its
  fine-tuning run folders) + ``pruned-<k>.onnx``;
- ``<base>-int8-dynamic`` / ``-int8-static`` / ``-fp16``: ONNX files quantized from the
  pruned variant when there is one, else from the original;
- ``distilled``: ``distilled/project.json`` + ``distilled/run/`` (a training run folder)
  + ``distilled.onnx``, a student trained against this project as its teacher.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.analysis.check import check
from engine.build.compile import compile_model
from engine.compress import measure
from engine.compress.errors import CompressError
from engine.compress.options import DEFAULT_MAX_DROP, check_options
from engine.compress.outdir import REPORT_FILE, WORK_PREFIX, OutFolder
from engine.compress.prune import (
    FROZEN_HINT,
    KeepPruned,
    prunable_layers,
    prune_structured,
    prune_unstructured,
    touched,
    weighted_modules,
)
from engine.compress.quantize import quantize, strip_debug_info
from engine.data.pipeline import base_dir_of
from engine.data.sources import resolve_path
from engine.export import export_onnx
from engine.export.errors import ExportError
from engine.fileio import atomic_write
from engine.project import project_to_dict, save_project
from engine.train import checkpoint as ckm
from engine.train import events
from engine.train.checkpoint import load_checkpoint
from engine.train.distill import Teacher
from engine.train.errors import TrainError
from engine.train.graphs import as_graph
from engine.train.session import train
from engine.train.specs import node_training

Progress = Callable[[str], None] | None
# A pruned project starts training from its own weights, saved beside it.
PRUNED_WEIGHTS = "model.pt"


class VariantKind(StrEnum):
    """What a variant started as, before any quantization."""

    ORIGINAL = "original"
    PRUNED = "pruned"
    DISTILLED = "distilled"


@dataclass(frozen=True)
class Recipe:
    """How a variant was made, as fields: a view words it in its own language.

    ``Variant.description`` is the same in English (the CLI's table and ``report.json``).
    """

    kind: VariantKind = VariantKind.ORIGINAL
    amount: float = 0.0  # pruned: the fraction removed
    structured: bool = False
    norm: int = 1
    scope: str = "layer"
    steps: int = 1
    finetune_epochs: int = 0
    student: str = ""  # distilled: the student project's name
    epochs: int = 0  # distilled: epochs trained
    quantization: str | None = None  # int8-dynamic / int8-static / fp16, on top of ``kind``


@dataclass
class Variant:
    name: str
    description: str
    onnx: str | None  # relative to the report's folder
    project: str | None = None
    checkpoint: str | None = None
    params: int = 0
    nonzero_params: int = 0
    file_bytes: int = 0
    latency_ms: dict[str, float] = field(default_factory=dict)  # batch size → median ms
    metric: str = ""
    value: float = float("nan")
    drop: float = 0.0
    parity: dict[str, float] = field(default_factory=dict)  # against the fp32 original
    refused: str | None = None
    notes: list[str] = field(default_factory=list)
    recipe: Recipe = field(default_factory=Recipe)


@dataclass
class CompressionReport:
    out_dir: str
    task: str
    metric: str
    variants: list[Variant]
    options: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "torchwire-compression-report",
            "out_dir": self.out_dir,
            "task": self.task,
            "metric": self.metric,
            "options": self.options,
            "variants": [asdict(v) for v in self.variants],
        }

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)

    @property
    def refused(self) -> list[Variant]:
        return [v for v in self.variants if v.refused]

    def table(self) -> str:
        """The report as a plain-text table (what ``torchwire compress`` prints)."""
        m = "acc" if self.metric == "accuracy" else "R²"
        par = "agree" if self.task == "classification" else "max err"
        head = ["variant", "params", "non-zero", "file", "b1 ms", "b32 ms", m, "drop", par, ""]
        rows = [head]
        for v in self.variants:
            pv = v.parity.get("class_agreement", v.parity.get("max_abs_error"))
            rows.append(
                [
                    v.name,
                    f"{v.params:,}",
                    f"{v.nonzero_params:,}",
                    _size(v.file_bytes),
                    f"{v.latency_ms.get('1', float('nan')):.3f}",
                    f"{v.latency_ms.get('32', float('nan')):.3f}",
                    f"{v.value:.4f}",
                    f"{v.drop:+.4f}" if v.name != "original" else "",
                    (f"{pv:.2%}" if self.task == "classification" else f"{pv:.3g}")
                    if pv is not None
                    else "",
                    f"REFUSED: {v.refused}" if v.refused else "",
                ]
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        out = []
        for r in rows:
            cells = [r[0].ljust(widths[0])] + [
                c.rjust(w) for c, w in zip(r[1:-1], widths[1:-1], strict=True)
            ]
            out.append("  ".join(cells) + (f"  {r[-1]}" if r[-1] else ""))
        return "\n".join(out)


def _size(n: int) -> str:
    if n >= 1e6:
        return f"{n / 1e6:.2f} MB"
    return f"{n / 1e3:.1f} KB"


def _say(progress: Progress, text: str) -> None:
    if progress is not None:
        progress(text)


def _count(sd: dict[str, torch.Tensor], model: torch.nn.Module) -> tuple[int, int]:
    names = {n for n, _ in model.named_parameters()}
    total = sum(sd[k].numel() for k in names)
    nonzero = sum(int((sd[k] != 0).sum()) for k in names)
    return total, nonzero


def _checkpoint_payload(
    ck: Any, graph: Any, sd: dict[str, torch.Tensor], info: dict[str, Any]
) -> dict[str, Any]:
    meta = {
        "graph": project_to_dict(graph),
        "preprocessing": ck.preprocessing,
        "task": ck.task,
        "class_names": list(ck.class_names),
        "settings": ck.meta.get("settings", {}),
        "loss": ck.meta.get("loss"),
        "torch": torch.__version__,
        "kind": "best",
        "epoch": ck.epoch,
        "compression": info,
    }
    return {
        "format": ckm.FORMAT,
        "version": ckm.VERSION,
        "meta": json.dumps(meta),
        "model": {k: v.detach().cpu().contiguous().clone() for k, v in sd.items()},
    }


def _finetune(
    g: Any,
    sd: dict[str, torch.Tensor],
    run_dir: Path,
    epochs: int,
    device: str,
    masks: dict[str, torch.Tensor] | None,
    lr: float | None,
    progress: Progress,
) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]]]:
    g = g.copy()
    if lr is not None:
        plan = check(g).extra.get("train_plan")
        if plan is not None:
            g.set(plan.optimizer, lr=float(lr))

    def on_event(ev: Any) -> None:
        if isinstance(ev, events.EpochEnded):
            acc = ev.val.get("accuracy", ev.val.get("r2"))
            tail = f", val {acc:.4f}" if acc is not None else ""
            _say(progress, f"  fine-tuning epoch {ev.epoch}/{ev.epochs}: loss "
                 f"{ev.train.get('loss', float('nan')):.4f}{tail}")  # fmt: skip

    cbs = [KeepPruned(masks)] if masks else []
    try:
        res = train(
            g, out_dir=str(run_dir), epochs=epochs, device=device, init_weights=sd,
            callbacks=cbs, on_event=on_event,
        )  # fmt: skip
    except TrainError as e:
        raise CompressError(f"fine-tuning failed: {e}") from None
    best = load_checkpoint(res.best_checkpoint or res.last_checkpoint or run_dir)
    out = dict(best.state_dict)
    if masks:
        for k, m in masks.items():
            out[k] = out[k] * m.to(out[k].dtype)
    return out, res.history


@dataclass
class _PruneOptions:
    """How ``compress`` prunes: see its docstring."""

    amount: float
    structured: bool
    norm: int
    scope: str
    steps: int
    finetune_epochs: int
    finetune_lr: float | None
    device: str
    prune_frozen: bool = False


def compress(
    project: Any,
    checkpoint: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    prune: float = 0.0,
    structured: bool = False,
    norm: int = 1,
    scope: str = "layer",
    steps: int = 1,
    finetune_epochs: int = 0,
    finetune_lr: float | None = None,
    prune_frozen: bool = False,
    quantize_modes: Sequence[str] = (),
    distill: Any = None,
    distill_epochs: int | None = None,
    max_drop: float | None = DEFAULT_MAX_DROP,
    device: str = "cpu",
    repeats: int = 30,
    threads: int = 1,
    progress: Progress = None,
) -> CompressionReport:
    """Compress a trained project; returns the report (also written as ``report.json``).

    ``prune``: the fraction of weights (unstructured) or of each prunable layer's channels
    (``structured``) to remove, ranked by L``norm`` (structured) or magnitude per layer or
    ``scope="global"`` (unstructured); in ``steps`` equal steps, each followed by
    ``finetune_epochs`` epochs of training with the project's optimizer (``finetune_lr``
    overrides its learning rate). Frozen layers keep their weights unless ``prune_frozen``;
    those pruned then are unfrozen (for the fine-tune and in the pruned project), as the
    report's notes say. ``quantize_modes``: any of ``int8-dynamic``, ``int8-static``,
    ``fp16``. ``distill``: a student project (file or Graph) trained for ``distill_epochs``
    against this one. ``max_drop``: refuse variants whose test metric (accuracy or R², as a
    fraction) is lower than the original's by more than this (default 0.05; ``None`` keeps
    them all). ``out_dir`` ends up holding exactly what the report lists (see
    ``engine.compress.outdir``).
    """
    check_options(prune, steps, finetune_epochs, quantize_modes, max_drop)
    with OutFolder(out_dir) as out:
        g, ck, rep, model = _load(project, checkpoint)
        _say(progress, "Preparing the data (train split for calibration, test split to measure)…")
        data = measure.raw_splits(g)
        split = "test" if len(data.y.get("test", [])) else "val"
        options = {
            "prune": prune, "structured": structured, "norm": norm, "scope": scope,
            "steps": steps, "finetune_epochs": finetune_epochs, "finetune_lr": finetune_lr,
            "prune_frozen": prune_frozen, "quantize": list(quantize_modes),
            "max_drop": max_drop, "split": split,
            "latency": {"repeats": repeats, "threads": threads, "runtime": "onnxruntime CPU"},
            "checkpoint": str(ck.path), "distill_epochs": distill_epochs,
        }  # fmt: skip
        with tempfile.TemporaryDirectory(prefix=WORK_PREFIX, dir=out.path) as work_s:
            run = _Variants(Path(work_s), g, ck, rep, model, progress)
            run.add_original()
            if prune > 0:
                opts = _PruneOptions(prune, structured, norm, scope, steps, finetune_epochs,
                                     finetune_lr, device, prune_frozen)  # fmt: skip
                run.add_pruned(opts)
            for mode in quantize_modes:
                run.add_quantized(mode, data.x["train"])
            if distill is not None:
                run.add_distilled(distill, distill_epochs, device)
            _say(progress, f"Measuring {len(run.variants)} variant(s) on the {split} split…")
            run.measure(data, split, repeats, threads, max_drop)
            run.publish(out)
        variants = run.variants
        report = CompressionReport(str(out.path), data.task, variants[0].metric, variants, options)
        atomic_write(out.path / REPORT_FILE, json.dumps(report.to_dict(), indent=2) + "\n")
    return report


def _load(project: Any, checkpoint: str | os.PathLike[str]) -> tuple[Any, Any, Any, nn.Module]:
    """The project, its checkpoint, its check report and the model with the trained weights."""
    g = as_graph(project)
    ck = load_checkpoint(checkpoint)  # a CheckpointError names the file (CLI: exit 2)
    rep = check(g)
    if not rep.ok:
        raise CompressError("the project has problems: " + "; ".join(d.message for d in rep.errors))
    model = compile_model(g, rep)
    try:
        model.load_state_dict(ck.state_dict)
    except RuntimeError:
        raise CompressError(
            f"{ck.path}: the checkpoint's weights do not fit this project"
        ) from None
    model.eval()
    return g, ck, rep, model


class _Variants:
    """The variants being built in the hidden work folder: each step adds one (or more),
    then all are measured together and the accepted ones published."""

    def __init__(
        self, work: Path, g: Any, ck: Any, rep: Any, model: nn.Module, progress: Progress
    ) -> None:
        self.work = work
        self.g, self.ck, self.rep, self.model = g, ck, rep, model
        self.progress = progress
        self.variants: list[Variant] = []
        self.files: dict[str, list[str]] = {}  # variant → its top-level entries in the work folder
        self.onnx_of: dict[str, Path] = {}
        self.base = "original"  # what quantization starts from

    def export(self, name: str, graph: Any, ckpt_path: Path) -> Path:
        path = self.work / f"{name}.onnx"
        _say(self.progress, f"Exporting {name} to ONNX (preprocessing baked)…")
        try:
            export_onnx(graph, path, checkpoint=ckpt_path, bake_preprocessing=True)
        except ExportError as e:
            raise CompressError(f"{name}: the ONNX export failed: {e}") from None
        strip_debug_info(path)
        return path

    def add_original(self) -> None:
        ck = self.ck
        params, nonzero = _count(ck.state_dict, self.model)
        self.onnx_of["original"] = self.export("original", self.g, Path(ck.path))
        self.variants.append(
            Variant("original", "the trained model, fp32", "original.onnx",
                    checkpoint=str(ck.path), params=params, nonzero_params=nonzero)
        )  # fmt: skip
        self.files["original"] = ["original.onnx"]

    def add_pruned(self, o: _PruneOptions) -> None:
        g, ck = self.g, self.ck
        name = f"pruned-{round(o.amount * 100)}"
        vdir = self.work / name
        vdir.mkdir()
        start, widths, skip, notes = self._prune_start(o)
        pg, pmodel, sd = self._prune_steps(o, start, vdir, widths, skip)
        if o.structured:
            kept = ", ".join(
                f"{pg.nodes[n].name} {pg.nodes[n].params.get('out_channels', pg.nodes[n].params.get('out_features'))}/{w}"
                for n, w in widths.items()
            )  # fmt: skip
            notes.insert(0, f"channels kept: {kept}")
        if g.source_path:
            pg.source_path = g.source_path  # relative dataset paths stay those of the original
        # its weights are the pruned ones, beside it (not the unpruned model's init_from)
        pg.settings.setdefault("training", {})["init_from"] = PRUNED_WEIGHTS
        info = {"pruned": o.amount, "structured": o.structured, "norm": o.norm,
                "scope": o.scope, "steps": o.steps, "finetune_epochs": o.finetune_epochs,
                "prune_frozen": o.prune_frozen}  # fmt: skip
        ckm.save(vdir / PRUNED_WEIGHTS, _checkpoint_payload(ck, pg, sd, info))
        saved = pg.copy()
        _fix_paths(saved, g)
        save_project(saved, vdir / "project.json")
        self.onnx_of[name] = self.export(name, pg, vdir / PRUNED_WEIGHTS)
        params, nonzero = _count(sd, pmodel)
        how = (f"L{o.norm} channels" if o.structured else f"{o.scope} magnitude") + (
            f", {o.steps} steps" if o.steps > 1 else "") + (
            f", fine-tuned {o.finetune_epochs} epoch(s)/step" if o.finetune_epochs else "")  # fmt: skip
        self.variants.append(
            Variant(name, f"pruned {o.amount:.0%} ({how})", f"{name}.onnx",
                    project=f"{name}/project.json", checkpoint=f"{name}/{PRUNED_WEIGHTS}",
                    params=params, nonzero_params=nonzero, notes=notes,
                    recipe=Recipe(VariantKind.PRUNED, o.amount, o.structured, o.norm, o.scope,
                                  o.steps, o.finetune_epochs))
        )  # fmt: skip
        self.files[name] = [name, f"{name}.onnx"]
        self.base = name

    def _prune_start(
        self, o: _PruneOptions
    ) -> tuple[Any, dict[str, int], tuple[str, ...], list[str]]:
        """The project pruning starts from, with the layers it prunes (structured: their
        widths; unstructured: the frozen attributes to skip) and the notes saying which
        layers are left alone and which frozen ones were unfrozen."""
        g = self.g
        notes: list[str] = []
        widths: dict[str, int] = {}
        skip: tuple[str, ...] = ()
        unfreeze: list[str] = []
        if o.structured:
            plans, alone = prunable_layers(g, self.rep, prune_frozen=o.prune_frozen)
            widths = {n: int(g.nodes[n].params.get("out_channels",
                                                   g.nodes[n].params.get("out_features", 0)))
                      for n in plans}  # fmt: skip
            notes += [f"{g.nodes[nid].name} left alone: {why}" for nid, why in alone.items()]
            unfreeze = [t for p in plans.values() for t in touched(p) if g.nodes[t].frozen]
        else:
            node_of_attr = self.model.torchwire.node_of_attr  # type: ignore[union-attr]
            frozen = node_training(g, node_of_attr)[0]
            weighted = {a for a in frozen if weighted_modules(self.model.get_submodule(a))}
            if o.prune_frozen:
                unfreeze = [node_of_attr[a] for a in frozen if a in weighted]
            else:
                skip = frozen
                notes += [f"{g.nodes[node_of_attr[a]].name} left alone: frozen ({FROZEN_HINT})"
                          for a in frozen if a in weighted]  # fmt: skip
        start = g.copy()
        start.settings.get("training", {}).pop("init_from", None)  # the weights are given
        unfreeze = list(dict.fromkeys(unfreeze))
        for nid in unfreeze:
            start.freeze(nid, False)
        if unfreeze:
            names = ", ".join(g.nodes[n].name for n in unfreeze)
            notes.append(f"unfrozen (pruned although frozen; for the fine-tune and in the "
                         f"pruned project): {names}")  # fmt: skip
        return start, widths, skip, notes

    def _prune_steps(
        self,
        o: _PruneOptions,
        start: Any,
        vdir: Path,
        widths: dict[str, int],
        skip: tuple[str, ...],
    ) -> tuple[Any, nn.Module, dict[str, torch.Tensor]]:
        """Prune in ``o.steps`` equal steps, each followed by its fine-tuning: the pruned
        project, its model and its weights."""
        pg, pmodel = start, copy.deepcopy(self.model)
        sd = {k: v.clone() for k, v in self.ck.state_dict.items()}
        masks: dict[str, torch.Tensor] | None = None
        for step in range(1, o.steps + 1):
            frac = 1.0 - (1.0 - o.amount) ** (step / o.steps)
            _say(self.progress, f"Pruning step {step}/{o.steps}: {frac:.0%} "
                 f"{'of the channels' if o.structured else 'of the weights'}…")  # fmt: skip
            if o.structured:
                keep = {n: max(1, w - round(w * frac)) for n, w in widths.items()}
                res = prune_structured(pg, pmodel, 0.0, norm=o.norm, keep=keep)
                pg, sd = res.graph, res.state_dict
                pmodel = compile_model(pg)
                pmodel.load_state_dict(sd)
            else:
                pmodel.load_state_dict(sd)
                masks = prune_unstructured(pmodel, frac, o.scope, skip)
                sd = {k: v.detach().clone() for k, v in pmodel.state_dict().items()}
            if o.finetune_epochs:
                sd, _hist = _finetune(
                    pg, sd, vdir / f"finetune-{step}", o.finetune_epochs, o.device, masks,
                    o.finetune_lr, self.progress,
                )  # fmt: skip
                pmodel.load_state_dict(sd)
            pmodel.eval()
        return pg, pmodel, sd

    def add_quantized(self, mode: str, calibration: Any) -> None:
        base = self.base
        base_v = next(v for v in self.variants if v.name == base)
        name = f"{base}-{mode}"
        _say(self.progress, f"Quantizing {base} ({mode})…")
        quantize(self.onnx_of[base], self.work / f"{name}.onnx", mode, calibration)
        self.onnx_of[name] = self.work / f"{name}.onnx"
        what = {"int8-dynamic": "int8 dynamic", "int8-static": "int8 static (QDQ, "
                "calibrated on the training split)", "fp16": "fp16"}[mode]  # fmt: skip
        self.variants.append(
            Variant(name, f"{base_v.description}; {what}", f"{name}.onnx",
                    params=base_v.params, nonzero_params=base_v.nonzero_params,
                    recipe=replace(base_v.recipe, quantization=mode))
        )  # fmt: skip
        self.files[name] = [f"{name}.onnx"]

    def add_distilled(self, student: Any, epochs: int | None, device: str) -> None:
        self.variants.append(
            _distill(student, epochs, self.g, self.ck, self.work, device, self.onnx_of,
                     self.export, self.progress)
        )  # fmt: skip
        self.files["distilled"] = ["distilled", "distilled.onnx"]

    def measure(
        self, data: Any, split: str, repeats: int, threads: int, max_drop: float | None
    ) -> None:
        """Each variant's test metric, its agreement with the original, its latency; a
        variant that drops more than ``max_drop`` is refused."""
        variants, onnx_of = self.variants, self.onnx_of
        x_test, y_test = data.x[split], data.y[split]
        outs = {}
        for v in variants:
            sess = measure.session(onnx_of[v.name], threads)
            outs[v.name] = measure.run(sess, x_test)
            v.metric, v.value = measure.metric(data.task, outs[v.name], y_test)
            v.file_bytes = onnx_of[v.name].stat().st_size
        ref = variants[0]
        for v in variants:
            v.drop = ref.value - v.value
            if v is not ref:
                v.parity = measure.agreement(data.task, outs[v.name], outs["original"])
        _say(self.progress, "Timing the variants on the CPU (batch 1 and 32, interleaved)…")
        lat = measure.latencies(onnx_of, x_test[:32], (1, 32), repeats, threads)
        for v in variants:
            v.latency_ms = {str(b): ms for b, ms in lat[v.name].items()}
        for v in variants[1:]:
            if max_drop is not None and v.drop > max_drop + 1e-12:
                v.refused = (f"its {v.metric} drops by {v.drop:.4f} "
                             f"(more than --max-drop {max_drop:g}); not written")  # fmt: skip

    def publish(self, out: OutFolder) -> None:
        """Move every accepted variant's files from the work folder into ``out``: it then
        holds exactly these (and the report)."""
        entries: list[str] = []
        for v in self.variants:
            if v.refused:
                v.onnx = v.project = None
                if v.checkpoint and not os.path.isabs(v.checkpoint):
                    v.checkpoint = None
                continue
            entries += self.files[v.name]
        out.publish(self.work, entries)


def _fix_paths(saved: Any, original: Any) -> None:
    """Dataset paths in a project saved into another folder: made absolute, so the copy
    reads the same files as the original."""
    base = base_dir_of(original)
    for nid, node in saved.nodes.items():
        p = node.params.get("path")
        if isinstance(p, str) and p and base is not None:
            saved.set(nid, path=str(resolve_path(p, base)))


def _distill(
    student: Any,
    epochs: int | None,
    g: Any,
    ck: Any,
    work: Path,
    device: str,
    onnx_of: dict[str, Path],
    export: Callable[[str, Any, Path], Path],
    progress: Progress,
) -> Variant:
    sg = as_graph(student)
    vdir = work / "distilled"
    vdir.mkdir()

    def on_event(ev: Any) -> None:
        if isinstance(ev, events.EpochEnded):
            _say(progress, f"  distilling epoch {ev.epoch}/{ev.epochs}: task "
                 f"{ev.train.get('task_loss', float('nan')):.4f}, teacher "
                 f"{ev.train.get('distill_loss', float('nan')):.4f}")  # fmt: skip

    _say(progress, f"Distilling into {sg.name}…")
    try:
        res = train(
            sg, out_dir=str(vdir / "run"), epochs=epochs, device=device,
            teacher=Teacher(g, ck.path), on_event=on_event,
        )  # fmt: skip
    except TrainError as e:
        raise CompressError(f"distillation failed: {e}") from None
    saved = sg.copy()
    _fix_paths(saved, sg)
    save_project(saved, vdir / "project.json")
    best = Path(res.best_checkpoint or res.last_checkpoint or vdir / "run")
    onnx_of["distilled"] = export("distilled", sg, best)
    model = compile_model(sg, check(sg))
    sd = load_checkpoint(best).state_dict
    params, nonzero = _count(sd, model)
    return Variant(
        "distilled", f"{sg.name} trained against the original ({len(res.history)} epochs)",
        "distilled.onnx", project="distilled/project.json",
        checkpoint=f"distilled/run/{best.name}", params=params, nonzero_params=nonzero,
        recipe=Recipe(VariantKind.DISTILLED, student=sg.name, epochs=len(res.history)),
    )  # fmt: skip


def load_report(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A ``report.json`` (or the folder holding one) as written by ``compress``."""
    p = Path(path)
    if p.is_dir():
        p = p / REPORT_FILE
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CompressError(f"{p}: not a readable compression report ({e})", file=p) from None
    if not isinstance(doc, dict) or doc.get("format") != "torchwire-compression-report":
        raise CompressError(f"{p}: not a Torchwire compression report", file=p)
    return doc
