"""Export to ONNX, proven equal: checker (full), then onnxruntime against torch, then the file.

Exporter choice. ``torch.onnx.export(dynamo=True)`` (torch.export + onnxscript's torchlib) is
the default for opset 18 and later: it is the exporter torch maintains (the TorchScript one
is deprecated), it converts every model node type of our catalog (the TorchScript exporter
has no ``aten::bilinear``), and its failures carry the FX node being translated, which we map
back to the user's node. Its cost is time: torch rebuilds the torchlib registry (~1.5 s) on
every call, so we build it once per opset and hand out copies (``_cache_registry``), which
brings a small graph down to ~0.5 s. Opsets below 18 go through the TorchScript exporter,
which targets them natively (dynamo would export 18 and try a lossy down-conversion).

Nothing is written at ``path`` until the model passed ``onnx.checker`` (full check) and gave
torch's answers in onnxruntime at two batch sizes other than the one it was traced with;
until then it lives in a hidden temporary file beside ``path`` that is removed on failure.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

import engine
from engine import catalog
from engine.export.errors import ExportError, node_of_failure
from engine.export.parity import DEFAULT_RTOL, DEFAULT_TOLERANCE, ParityReport, report_rows
from engine.export.preprocess import baked_model
from engine.export.source import (
    Progress,
    Source,
    eval_mode,
    random_inputs,
    resolve,
    say,
)
from engine.fileio import publish, temp_path
from engine.graph.blocks import SEP

Exporter = Literal["auto", "dynamo", "torchscript"]
DEFAULT_OPSET = 18
MIN_OPSET = 13
DYNAMO_MIN_OPSET = 18
TRACE_BATCH = 3  # the batch the exporter traces with; parity runs at others
PARITY_BATCHES = (1, 7)

# Node types one exporter cannot convert, with what to do instead; checked before export.
TORCHSCRIPT_UNSUPPORTED = {
    "Bilinear": "the TorchScript exporter has no aten::bilinear; use opset 18 or later",
}


def max_opset() -> int:
    """The newest opset both torch's exporter and the installed onnxruntime handle."""
    try:
        from torch.onnx._constants import ONNX_MAX_OPSET

        top = int(ONNX_MAX_OPSET)
    except Exception:
        top = 20
    try:
        import onnx

        top = min(top, int(onnx.defs.onnx_opset_version()))
    except Exception:
        pass
    return top


def export_onnx(
    model_or_graph: Any,
    path: str | os.PathLike[str],
    *,
    checkpoint: Any = None,
    opset: int | None = None,
    bake_preprocessing: bool = False,
    progress: Progress = None,
    tolerance: float = DEFAULT_TOLERANCE,
    rtol: float = DEFAULT_RTOL,
    batch_sizes: Sequence[int] = PARITY_BATCHES,
    exporter: Exporter = "auto",
    seed: int = 0,
) -> ParityReport:
    """Export a graph or compiled model to ONNX with a dynamic batch dimension.

    The file appears only after it passed the full ONNX check and matched torch in
    onnxruntime; otherwise ``ExportError`` says why (naming the node where it can) and no
    file is left behind. Returns the parity report, which is also stored in the model's
    metadata (``parity``).
    """
    path = Path(path)
    opset, kind, batches = _checked_options(opset, exporter, batch_sizes)
    src = resolve(model_or_graph, checkpoint, progress)
    refuse_unexportable(src, kind)
    model = _model_to_export(src, bake_preprocessing, progress)
    report = ParityReport(target="onnxruntime", path=str(path), tolerance=tolerance, rtol=rtol)
    report.info.update(
        {"exporter": kind, "opset": opset, "baked_preprocessing": bake_preprocessing}
    )
    if bake_preprocessing:
        report.info["baked_steps"] = ", ".join(getattr(model, "baked_steps", [])) or "none"
        report.info["outputs_in_target_units"] = bool(getattr(model, "unscale", False))
    gen = torch.Generator().manual_seed(seed)
    tmp = temp_path(path, ".onnx")
    try:
        with eval_mode(src.module), eval_mode(model):
            _export_checked(
                tmp, src, model, kind, opset, bake_preprocessing, report, batches, gen, progress
            )
            publish(tmp, path)
    except ExportError:
        raise
    except Exception as e:  # anything else is still the export's failure, said as ours
        raise ExportError(f"the ONNX export failed: {type(e).__name__}: {_first_line(e)}") from e
    finally:
        if tmp.exists():
            tmp.unlink()
    say(progress, f"Exported {path.name}: max abs difference {report.max_abs:.3g}")
    return report


def _checked_options(
    opset: int | None, exporter: str, batch_sizes: Sequence[int]
) -> tuple[int, str, list[int]]:
    """The opset, the exporter and the parity batches, refused before any work is done."""
    opset = DEFAULT_OPSET if opset is None else int(opset)
    top = max_opset()
    if not MIN_OPSET <= opset <= top:
        raise ExportError(f"opset {opset} is not supported: choose {MIN_OPSET} to {top}")
    kind = _pick_exporter(exporter, opset)
    batches = [int(b) for b in batch_sizes]
    if not batches or any(b < 1 for b in batches):
        raise ExportError(f"batch sizes for the parity check must be positive, got {batches}")
    return opset, kind, batches


def _model_to_export(src: Source, bake_preprocessing: bool, progress: Progress) -> nn.Module:
    """The module the exporter traces: the model itself, or it wrapped with its
    preprocessing so the file takes raw inputs."""
    model: nn.Module = src.module
    if bake_preprocessing:
        model = baked_model(src)
        steps = getattr(model, "baked_steps", [])
        say(progress, f"Baking the preprocessing: {', '.join(steps) or 'nothing to bake'}")
    return model


def _export_checked(
    tmp: Path,
    src: Source,
    model: nn.Module,
    kind: str,
    opset: int,
    bake_preprocessing: bool,
    report: ParityReport,
    batches: list[int],
    gen: torch.Generator,
    progress: Progress,
) -> None:
    """Export into ``tmp``, then prove it: the full ONNX check and onnxruntime's answers
    against torch's; the measured parity is stored in the file. Raises ``ExportError``."""
    import onnx

    info = src.info
    tolerance, rtol = report.tolerance, report.rtol
    say(progress, f"Exporting with the {kind} exporter (opset {opset})…")
    t0 = time.perf_counter()
    sample = random_inputs(src.module, TRACE_BATCH, gen)
    proto = _export(kind, model, sample, info.input_names, info.output_names, opset, src)
    report.info["export_seconds"] = time.perf_counter() - t0
    got = _opset_of(proto)
    if got != opset:
        raise ExportError(
            f"the {kind} exporter wrote opset {got} instead of {opset}; "
            f"choose opset {got} or another exporter"
        )
    _set_metadata(proto, src, opset, kind, model if bake_preprocessing else None)
    _save(proto, tmp)

    say(progress, "Checking the ONNX model (onnx.checker, full check)…")
    t1 = time.perf_counter()
    try:
        onnx.checker.check_model(str(tmp), full_check=True)
    except Exception as e:
        raise ExportError(f"the exported model fails onnx.checker: {_first_line(e)}") from e

    say(progress, "Comparing onnxruntime with torch…")
    _parity(report, tmp, model, src, batches, gen, tolerance, rtol)
    report.info["check_seconds"] = time.perf_counter() - t1
    if not report.ok:
        worst = report.failures()[0]
        raise ExportError(
            f"onnxruntime's output {worst.output!r} differs from torch's by up to "
            f"{worst.max_abs:.3g} (tolerance {tolerance:g}) at batch {worst.batch}"
            + (f": {worst.note}" if worst.note else "")
            + "; no file was written\n"
            + str(report),
            report=report,
        )
    # Store the parity that was measured inside the file itself.
    proto_final = onnx.load(str(tmp))
    _set_props(proto_final, {"parity": json.dumps(_compact(report))})
    _save(proto_final, tmp)
    report.info["file_bytes"] = tmp.stat().st_size


def _pick_exporter(exporter: str, opset: int) -> str:
    if exporter not in ("auto", "dynamo", "torchscript"):
        raise ExportError(f"exporter must be auto, dynamo or torchscript, got {exporter!r}")
    if exporter == "auto":
        return "dynamo" if opset >= DYNAMO_MIN_OPSET else "torchscript"
    if exporter == "dynamo" and opset < DYNAMO_MIN_OPSET:
        raise ExportError(
            f"the dynamo exporter writes opset {DYNAMO_MIN_OPSET} or later, not {opset}"
        )
    return exporter


def unexportable(src: Source, kind: str = "dynamo") -> list[tuple[str, str]]:
    """(node id, message) for each model node the chosen exporter cannot convert."""
    info = src.info
    used = set(info.node_of_attr.values())
    out: list[tuple[str, str]] = []
    blocks = src.graph.blocks if src.graph is not None else {}
    for nid in sorted(used, key=lambda n: src.node_names.get(n, n)):
        t = src.node_types.get(nid)
        if t is not None and t in blocks:  # a block: the first inner node that cannot go
            inner = _unexportable_inside(blocks[t], kind)
            if inner:
                out.append((nid, f"node {src.label(nid)} cannot be exported to ONNX: {inner}"))
            continue
        if t is None or not catalog.has(t):
            continue
        spec = catalog.get(t)
        why = ""
        if not spec.exportable:
            why = spec.export_note or "this node type cannot be exported to ONNX"
        elif kind == "torchscript" and t in TORCHSCRIPT_UNSUPPORTED:
            why = TORCHSCRIPT_UNSUPPORTED[t]
        if why:
            out.append((nid, f"node {src.label(nid)} cannot be exported to ONNX: {why}"))
    return out


def _unexportable_inside(block: Any, kind: str) -> str:
    """Why a block's inner graph cannot be exported ("inner › node: why"), or ""."""
    for n in block.graph.nodes.values():
        if n.type in block.graph.blocks:
            why = _unexportable_inside(block.graph.blocks[n.type], kind)
        elif not catalog.has(n.type):
            continue
        else:
            spec = catalog.get(n.type)
            why = ""
            if not spec.exportable:
                why = spec.export_note or "this node type cannot be exported to ONNX"
            elif kind == "torchscript" and n.type in TORCHSCRIPT_UNSUPPORTED:
                why = TORCHSCRIPT_UNSUPPORTED[n.type]
        if why:
            return f"{n.name}{SEP}{why}"
    return ""


def refuse_unexportable(src: Source, kind: str = "dynamo") -> None:
    """Say, by name and before any export work, which nodes cannot be exported."""
    bad = unexportable(src, kind)
    if bad:
        nodes = [nid for nid, _ in bad]
        raise ExportError("\n".join(m for _, m in bad), node=nodes[0], nodes=nodes)


def onnx_problems(
    model_or_graph: Any, *, opset: int | None = None, exporter: Exporter = "auto"
) -> list[tuple[str, str]]:
    """What would stop an ONNX export, per node, without exporting: for a dialog to show
    before the user presses Export. Empty when nothing is known to be in the way."""
    opset = DEFAULT_OPSET if opset is None else int(opset)
    try:
        kind = _pick_exporter(exporter, opset)
        src = resolve(model_or_graph, None, None)
    except ExportError as e:
        return [("", str(e))]
    return unexportable(src, kind)


# -- the exporters --------------------------------------------------------------------------
def _export(
    kind: str,
    model: nn.Module,
    sample: tuple[torch.Tensor, ...],
    input_names: list[str],
    output_names: list[str],
    opset: int,
    src: Source,
) -> Any:

    # The exporters name internal values after FX nodes and modules (``linear``, ``val_0``,
    # ``onnx::MatMul_1``), and give the declared input/output names to graph values as
    # they are: a user's node named like one of those made the graph non-SSA. So the
    # export runs with placeholder names no exporter generates, and ``_rename_values``
    # then gives every other value a name clear of the declared ones.
    tmp_in = [_placeholder("input", i) for i in range(len(input_names))]
    tmp_out = [_placeholder("output", i) for i in range(len(output_names))]
    proto = _run_exporter(kind, model, sample, tmp_in, tmp_out, opset, src)
    _rename_values(proto, dict(zip(tmp_in, input_names)), dict(zip(tmp_out, output_names)))
    return proto


def _placeholder(kind: str, i: int) -> str:
    """Not an identifier, not a path (``/``) nor a ``onnx::`` name: no exporter makes it."""
    return f"<torchwire {kind} {i}>"


def _run_exporter(
    kind: str,
    model: nn.Module,
    sample: tuple[torch.Tensor, ...],
    input_names: list[str],
    output_names: list[str],
    opset: int,
    src: Source,
) -> Any:
    import onnx

    try:
        # torch's exporters keep global state (tracing flags, the registry): one at a time,
        # so that a GUI worker and a script exporting together cannot interleave.
        with _export_lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "dynamo":
                _quiet_registry_warnings()
                _cache_registry()
                batch = torch.export.Dim("batch")
                shapes: tuple[Any, ...] = tuple({0: batch} for _ in sample)
                if _takes_varargs(model):
                    shapes = (shapes,)
                program = torch.onnx.export(
                    model,
                    sample,
                    None,
                    dynamo=True,
                    dynamic_shapes=shapes,
                    input_names=input_names,
                    output_names=output_names,
                    opset_version=opset,
                    optimize=True,
                    verbose=False,
                )
                return program.model_proto
            buf = io.BytesIO()
            axes = {n: {0: "batch"} for n in [*input_names, *output_names]}
            torch.onnx.export(
                model,
                sample,
                buf,
                dynamo=False,
                input_names=input_names,
                output_names=output_names,
                dynamic_axes=axes,
                opset_version=opset,
                do_constant_folding=True,
            )
            return onnx.load_from_string(buf.getvalue())
    except ExportError:
        raise
    except Exception as e:
        nid = node_of_failure(src.module, e)
        where = f" at node {src.label(nid)}" if nid else ""
        raise ExportError(
            f"the ONNX exporter ({kind}) failed{where}: {_cause_line(e)}", node=nid
        ) from e


def _rename_values(proto: Any, inputs: dict[str, str], outputs: dict[str, str]) -> None:
    """Give the graph its declared input/output names, renaming any other value (node
    output, initializer, in subgraphs too) that has one of them, so the graph stays SSA.

    ``inputs``/``outputs`` map the placeholder each graph input/output was exported with
    to its declared name. Values keep their names unless they would collide.
    """
    g = proto.graph
    got_in = [v.name for v in g.input if v.name not in {i.name for i in g.initializer}]
    got_out = [v.name for v in g.output]
    if got_in != list(inputs) or got_out != list(outputs):
        raise ExportError(
            f"the exporter named the inputs/outputs {got_in}/{got_out}, "
            f"expected {list(inputs)}/{list(outputs)}"
        )
    declared = {**inputs, **outputs}
    used = _all_names(g)
    clear = set(declared.values())
    mapping = dict(declared)
    fresh_taken = used | clear
    for name in sorted(used):
        if name in declared or name not in clear:
            continue
        i = 1
        while f"{name}_{i}" in fresh_taken:
            i += 1
        mapping[name] = f"{name}_{i}"
        fresh_taken.add(mapping[name])
    _apply(g, mapping)


def _subgraphs(node: Any) -> list[Any]:
    import onnx

    out = []
    for a in node.attribute:
        if a.type == onnx.AttributeProto.GRAPH:
            out.append(a.g)
        elif a.type == onnx.AttributeProto.GRAPHS:
            out.extend(a.graphs)
    return out


def _all_names(g: Any) -> set[str]:
    """Every value name a graph and its subgraphs define or use."""
    names = {v.name for v in [*g.input, *g.output, *g.value_info]}
    names |= {t.name for t in g.initializer}
    names |= {t.values.name for t in g.sparse_initializer}
    for n in g.node:
        names |= {x for x in [*n.input, *n.output] if x}
        for sub in _subgraphs(n):
            names |= _all_names(sub)
    return names


def _apply(g: Any, mapping: dict[str, str]) -> None:
    def new(x: str) -> str:
        return mapping.get(x, x) if x else x  # "" marks an omitted optional input

    for v in [*g.input, *g.output, *g.value_info]:
        v.name = new(v.name)
    for t in g.initializer:
        t.name = new(t.name)
    for t in g.sparse_initializer:
        t.values.name = new(t.values.name)
    for n in g.node:
        n.input[:] = [new(x) for x in n.input]
        n.output[:] = [new(x) for x in n.output]
        for sub in _subgraphs(n):
            _apply(sub, mapping)


def _quiet_registry_warnings() -> None:
    """torch warns, on every registry build, that torchvision's ops are missing: noise here."""
    import logging

    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)


_export_lock = threading.Lock()
_registry_lock = threading.Lock()
_registry_cache: dict[int, Any] = {}
_registry_patched = False


def _cache_registry() -> None:
    """Build torch's torchlib registry once per opset instead of on every export.

    Private API, so strictly optional: if torch changes it, exports are slower, not broken.
    The exporter only reads the registry; each export still gets its own copy.
    """
    global _registry_patched
    with _registry_lock:
        if _registry_patched:
            return
        _registry_patched = True
        try:
            from torch.onnx._internal.exporter import _registration as reg

            original = reg.ONNXRegistry.from_torchlib.__func__  # type: ignore[attr-defined]
        except Exception:
            return

        def from_torchlib(cls: Any, opset_version: int = 18) -> Any:
            with _registry_lock:
                base = _registry_cache.get(opset_version)
                if base is None:
                    base = original(cls, opset_version)
                    _registry_cache[opset_version] = base
            copy = cls()
            copy._opset_version = base._opset_version
            copy.functions = {k: list(v) for k, v in base.functions.items()}
            return copy

        reg.ONNXRegistry.from_torchlib = classmethod(from_torchlib)  # type: ignore[method-assign,assignment]


# -- metadata -----------------------------------------------------------------------------
def _set_metadata(proto: Any, src: Source, opset: int, kind: str, baked: Any) -> None:
    info = src.info
    proto.producer_name = "torchwire"
    proto.producer_version = getattr(engine, "__version__", "")
    proto.doc_string = f"{info.graph_name}: exported by Torchwire ({kind} exporter, opset {opset})"
    shapes = {
        "inputs": [
            {"name": n, "shape": ["batch", *s], "dtype": str(d).replace("torch.", "")}
            for n, s, d in zip(info.input_names, info.input_shapes, info.input_dtypes, strict=True)
        ],
        "outputs": [
            {"name": n, "shape": ["batch", *s]}
            for n, s in zip(info.output_names, info.output_shapes, strict=True)
        ],
    }
    props = {
        "source_graph": info.graph_name,
        "task": src.task or "",
        "class_names": json.dumps(src.class_names or []),
        "preprocessing": json.dumps(src.preprocessing) if src.preprocessing is not None else "",
        "preprocessing_baked": "true" if baked is not None else "false",
        "preprocessing_baked_steps": json.dumps(getattr(baked, "baked_steps", [])),
        "outputs_in_target_units": json.dumps(bool(getattr(baked, "unscale", False))),
        "io": json.dumps(shapes),
        "exporter": kind,
    }
    if src.checkpoint_path:
        props["checkpoint"] = os.path.basename(src.checkpoint_path)
    _set_props(proto, props)


def _opset_of(proto: Any) -> int | None:
    for o in proto.opset_import:
        if o.domain in ("", "ai.onnx"):
            return int(o.version)
    return None


def _set_props(proto: Any, props: dict[str, str]) -> None:
    keep = [p for p in proto.metadata_props if p.key not in props]
    del proto.metadata_props[:]
    for p in keep:
        proto.metadata_props.add(key=p.key, value=p.value)
    for k, v in props.items():
        proto.metadata_props.add(key=k, value=v)


def _compact(report: ParityReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "tolerance": report.tolerance,
        "rtol": report.rtol,
        "max_abs": report.max_abs,
        "max_rel": report.max_rel,
        "outputs": {
            r.output: {"max_abs": r.max_abs, "max_rel": r.max_rel} for r in report.worst().values()
        },
        "batch_sizes": report.batch_sizes,
    }


def _save(proto: Any, path: Path) -> None:
    import onnx

    if proto.ByteSize() >= 2**31 - 1:
        raise ExportError(
            "the model is larger than 2 GB, the most one ONNX file can hold; "
            "external weight files are not supported yet"
        )
    onnx.save_model(proto, str(path))


# -- parity -------------------------------------------------------------------------------
def _parity(
    report: ParityReport,
    onnx_path: Path,
    model: nn.Module,
    src: Source,
    batches: list[int],
    gen: torch.Generator,
    tolerance: float,
    rtol: float,
) -> None:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:
        raise ExportError(f"onnxruntime cannot load the exported model: {_first_line(e)}") from e
    info = src.info
    got_in = [i.name for i in sess.get_inputs()]
    got_out = [o.name for o in sess.get_outputs()]
    if got_in != info.input_names or got_out != info.output_names:
        raise ExportError(
            f"the exported model's inputs/outputs are {got_in}/{got_out}, "
            f"expected {info.input_names}/{info.output_names}"
        )
    for b in batches:
        xs = random_inputs(src.module, b, gen)
        with torch.no_grad():
            expected = model(*xs)
        expected = expected if isinstance(expected, (tuple, list)) else (expected,)
        try:
            actual = sess.run(None, {n: x.numpy() for n, x in zip(got_in, xs, strict=True)})
        except Exception as e:
            raise ExportError(
                f"onnxruntime failed at batch size {b}: {_first_line(e)}"
                + (" (is the batch dimension really dynamic?)" if b != TRACE_BATCH else "")
            ) from e
        report.rows += report_rows(
            info.output_names,
            b,
            [t.detach().numpy() for t in expected],
            actual,
            tolerance,
            rtol,
        )


def _takes_varargs(model: nn.Module) -> bool:
    import inspect

    params = inspect.signature(model.forward).parameters.values()
    return any(p.kind == p.VAR_POSITIONAL for p in params)


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), text)
    return line[:400]


def _cause_line(e: BaseException) -> str:
    """The most specific message in the chain (the exporter wraps the real cause)."""
    chain = []
    cur: BaseException | None = e
    while cur is not None and cur not in chain:
        chain.append(cur)
        cur = cur.__cause__  # the explicit chain; contexts are often unrelated noise
    for c in reversed(chain):
        line = _first_line(c)
        if line and not line.startswith("#"):
            return f"{type(c).__name__}: {line}"
    return f"{type(e).__name__}: {_first_line(e)}"
