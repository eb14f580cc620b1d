"""Export to a standalone, readable ``.py``: the compiled model's own source (``model.code``),
a loader for our checkpoints, a small command line and, on request, the project's data
loading, preprocessing and training loop (``engine.export.training_code``).

The file depends only on torch and numpy (plus scikit-learn / pandas where the dataset
needs them, safetensors only to read a ``.safetensors`` checkpoint). Before it is reported
done it runs in a fresh, isolated interpreter in which ``import engine`` fails, and its
model's outputs are compared with the compiled graph's; only then is it renamed into place.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from engine import names
from engine.export.errors import ExportError
from engine.export.parity import DEFAULT_RTOL, DEFAULT_TOLERANCE, ParityReport, report_rows
from engine.export.source import (
    Progress,
    Source,
    eval_mode,
    random_inputs,
    resolve,
    say,
)
from engine.export.training_code import (
    RUNTIME_PACKAGE,
    relative_or_absolute,
    runtime_files,
    training_source,
)
from engine.fileio import publish, temp_path

PARITY_BATCHES = (1, 7)
# Modules an exported script may import; anything else means our generator went wrong.
ALLOWED_IMPORTS = {
    "torch", "numpy", "sklearn", "pandas", "safetensors", "PIL", "dataclasses", "typing",
    "argparse", "json", "math", "os", "sys", "random", "pathlib", "time", "csv", "__future__",
    "torchwire_runtime",
}  # fmt: skip
SUBPROCESS_TIMEOUT = 600


def export_python(
    graph: Any,
    path: str | os.PathLike[str],
    *,
    checkpoint: Any = None,
    with_training: bool = False,
    progress: Progress = None,
    tolerance: float = DEFAULT_TOLERANCE,
    rtol: float = DEFAULT_RTOL,
    batch_sizes: Sequence[int] = PARITY_BATCHES,
    seed: int = 0,
) -> ParityReport:
    """Write the project as a standalone PyTorch script, proven to compute what the graph does.

    ``graph`` is a Graph (or a module from ``compile_model``); with ``checkpoint`` the
    script loads that checkpoint's weights by default. ``with_training`` adds the data
    loading, preprocessing and training loop (needs a project with a dataset, loss and
    optimizer). Returns the parity report of the script's model against the compiled
    graph's, run in a separate interpreter.
    """
    path = Path(path)
    if path.suffix != ".py":
        raise ExportError(f"{path}: a Python export needs a .py file name")
    src = resolve(graph, checkpoint, progress)
    say(progress, "Writing the Python source…")
    training = None
    if with_training:
        if src.graph is None:
            raise ExportError("the training code needs the project's graph, not a compiled module")
        try:
            training = training_source(src, path)
        except ExportError:
            raise
        except Exception as e:  # e.g. the data chain cannot be read
            raise ExportError(f"the training code cannot be written: {e}") from e
    text = script_source(src, path, training)
    _check_imports(text, {p.module.split(".")[0] for p in src.info.plugins})

    report = ParityReport(target="python", path=str(path), tolerance=tolerance, rtol=rtol)
    report.info["with_training"] = with_training
    report.info["lines"] = text.count("\n")
    tmp = temp_path(path, ".py")
    shipped = None
    try:
        if training is not None:  # the script imports it, the parity run included
            shipped = RuntimeFolder(path.parent)
        tmp.write_text(text, encoding="utf-8")
        say(progress, "Running the script in a fresh Python to compare its model…")
        t0 = time.perf_counter()
        with eval_mode(src.module):
            _parity(report, tmp, src, [int(b) for b in batch_sizes], seed, tolerance, rtol)
        report.info["check_seconds"] = time.perf_counter() - t0
        if not report.ok:
            worst = report.failures()[0]
            raise ExportError(
                f"the exported script's output {worst.output!r} differs from the graph's by up "
                f"to {worst.max_abs:.3g} at batch {worst.batch}; no file was written\n{report}",
                report=report,
            )
        publish(tmp, path)
        if shipped is not None:
            shipped.keep()
            shipped = None
    except ExportError:
        raise
    except Exception as e:  # anything else is still the export's failure, said as ours
        raise ExportError(f"the Python export failed: {type(e).__name__}: {e}") from e
    finally:
        if tmp.exists():
            tmp.unlink()
        if shipped is not None:
            shipped.undo()
    say(progress, f"Exported {path.name}: max abs difference {report.max_abs:.3g}")
    return report


class RuntimeFolder:
    """``torchwire_runtime/`` beside an exported training script: the engine's runtime
    package, file for file, as it stands (linted and tested with the engine).

    It is written to a hidden folder, then swapped in for an older copy, so the script's
    check runs against it; ``keep()`` drops the old copy, ``undo()`` (a failed export)
    puts it back, leaving the folder as it was. Only the files Torchwire ships are
    replaced: anything else the user put in the folder is copied into the new one
    (Python's ``__pycache__`` aside); a ``torchwire_runtime`` that is not a folder is
    refused, untouched.
    """

    def __init__(self, folder: Path) -> None:
        self._rm = shutil.rmtree
        self.target = folder / RUNTIME_PACKAGE
        if self.target.is_symlink() or (self.target.exists() and not self.target.is_dir()):
            raise ExportError(
                f"{self.target} is not a folder: the training script ships its runtime "
                "there; move it away or export elsewhere"
            )
        shipped = runtime_files()
        new = Path(tempfile.mkdtemp(prefix=f".{RUNTIME_PACKAGE}.", dir=folder))
        try:
            for name, data in shipped.items():
                (new / name).write_bytes(data)
            if self.target.exists():
                _copy_extras(self.target, new, {*shipped, "__pycache__"})
        except BaseException:
            self._rm(new, ignore_errors=True)
            raise
        self.old: Path | None = None
        if self.target.exists():
            self.old = Path(tempfile.mkdtemp(prefix=f".{RUNTIME_PACKAGE}.old.", dir=folder))
            self.old.rmdir()
            os.replace(self.target, self.old)
        os.replace(new, self.target)

    def keep(self) -> None:
        if self.old is not None:
            self._rm(self.old, ignore_errors=True)

    def undo(self) -> None:
        self._rm(self.target, ignore_errors=True)
        if self.old is not None:
            os.replace(self.old, self.target)


def _copy_extras(src: Path, dst: Path, shipped: set[str]) -> None:
    """Copy the entries of ``src`` whose names are not ``shipped`` into ``dst``, as they are
    (links stay links)."""
    for entry in src.iterdir():
        if entry.name in shipped:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, dst / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, dst / entry.name, follow_symlinks=False)


# -- the source ---------------------------------------------------------------------------
def split_code(code: str) -> tuple[list[str], str]:
    """``model.code`` without its module docstring and imports: (import lines, the rest)."""
    tree = ast.parse(code)
    lines = code.splitlines()
    drop: set[int] = set()
    imports: list[str] = []
    for i, node in enumerate(tree.body):
        is_doc = (
            i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        ) and isinstance(node.value.value, str)
        if isinstance(node, (ast.Import, ast.ImportFrom)) or is_doc:
            end = node.end_lineno or node.lineno
            if not is_doc:
                imports.extend(lines[node.lineno - 1 : end])
            drop.update(range(node.lineno - 1, end))
    body = "\n".join(ln for i, ln in enumerate(lines) if i not in drop).strip("\n")
    return imports, body + "\n"


def script_source(src: Source, path: Path, training: dict[str, Any] | None = None) -> str:
    info = src.info
    imports, model_code = split_code(src.module.code)  # type: ignore[union-attr]
    cls = info.class_name
    weights = None
    if src.checkpoint_path:
        weights = relative_or_absolute(src.checkpoint_path, path)
    needs = ["torch", "numpy"] + (training["needs"] if training else [])
    needs += [p.package or f"{p.module}.py" for p in info.plugins]
    head_imports = ["import argparse", "import os", "", "import numpy as np"]
    head_imports += [ln for ln in (training["imports"] if training else []) if ln not in imports]
    custom = [p.import_line() for p in info.plugins]
    all_imports = _merge_imports(head_imports, [ln for ln in imports if ln not in custom])
    if custom:  # the custom layers last, each saying where it comes from
        all_imports += ["", "# Custom layers (Torchwire plugin node types):"]
        for p in info.plugins:
            all_imports += [f"# {p.class_name} needs the {p.needs()}", p.import_line()]

    def shape_text(s: Sequence[int]) -> str:
        return "(batch" + "".join(f", {d}" for d in s) + ")"

    io_lines = [
        f"    {n}: {str(d).replace('torch.', '')}, shape {shape_text(s)}"
        for n, s, d in zip(info.input_names, info.input_shapes, info.input_dtypes, strict=True)
    ]
    out_lines = [
        f"    {n}: shape {shape_text(s)}"
        for n, s in zip(info.output_names, info.output_shapes, strict=True)
    ]
    usage = [
        f"    python {path.name}                     # predict a random batch",
        f"    python {path.name} --input x.npy       # predict saved inputs"
        + (" (one --input per model input)" if len(info.input_names) > 1 else ""),
        f"    python {path.name} --weights ckpt.pt   # weights of another Torchwire checkpoint",
    ]
    if training:
        usage.insert(0, f"    python {path.name} --train             # train as the project does")
    # User text (project name, file name) is in the docstring's text only: names.docstring
    # makes the literal, so no name can close it; everything below is repr() or identifiers.
    doc = [
        f"{cls}: the model of the Torchwire project {info.graph_name!r}, as plain PyTorch.",
        "",
        f"Needs only {', '.join(dict.fromkeys(needs))}. Edit freely: each layer is an attribute",
        "named after its node in the project, and forward() is the graph, line by line.",
        "",
        "Inputs (a batch of samples each):",
        *io_lines,
        "Outputs:",
        *out_lines,
        "",
        "Usage:",
        *usage,
        "",
    ]
    const = [
        "# -- the trained model ------------------------------------------------------------",
        "# Weights: a Torchwire checkpoint (.pt or .safetensors), relative to this file.",
        f"WEIGHTS = {names.literal(weights)}" if weights else "WEIGHTS = None",
        f"TASK = {names.literal(src.task)}" if src.task else "TASK = None",
        f"CLASS_NAMES = {_pylist(src.class_names or [])}",
        "INPUTS = {",
        *[
            f"    {names.literal(n)}: (({', '.join(str(int(d)) for d in s)}{',' if len(s) == 1 else ''}), "
            f"torch.{str(dt).replace('torch.', '')}),"
            for n, s, dt in zip(info.input_names, info.input_shapes, info.input_dtypes, strict=True)
        ],
        "}",
        f"OUTPUTS = {names.literal(list(info.output_names))}",
    ]
    parts = [
        names.docstring("\n".join(doc)),
        "",
        "\n".join(all_imports),
        "",
        "",
        model_code.rstrip(),
        "",
        "",
        "\n".join(const),
        "",
        "",
        _RUNTIME.replace("Model()", f"{cls}()").replace("-> Model", f"-> {cls}").strip(),
    ]
    if training:
        parts += ["", "", training["code"].strip()]
    parts += ["", "", _main(training is not None).strip(), ""]
    return "\n".join(parts)


def _merge_imports(first: list[str], more: list[str]) -> list[str]:
    """Standard library, then third party, each sorted; duplicates removed."""
    std, third, future = [], [], []
    for ln in [*first, *more]:
        if not ln.strip():
            continue
        if ln.startswith("from __future__"):
            future = [ln, ""]
            continue
        top = ln.split()[1].split(".")[0]  # "import x" / "from x import y"
        (third if top in ("torch", "numpy", "sklearn", "pandas") else std).append(ln)
    std = sorted(dict.fromkeys(std), key=lambda s: (s.startswith("from"), s))
    third = sorted(dict.fromkeys(third), key=lambda s: (s.startswith("from"), s))
    return [*future, *std, "", *third] if std else [*future, *third]


def _pylist(items: Sequence[str]) -> str:
    """A list of strings (class names: user data) as ``repr()`` literals, wrapped between
    items (never inside a literal) as ruff format would."""
    reprs = [names.literal(str(s)) for s in items]
    text = "[" + ", ".join(reprs) + "]"
    if len(text) <= 80:
        return text
    lines: list[str] = []
    line = ""
    for r in reprs:
        piece = f"{r},"
        if line and len(line) + 1 + len(piece) > 92:
            lines.append(line)
            line = ""
        line = f"{line} {piece}" if line else f"    {piece}"
    lines.append(line)
    return "[\n" + "\n".join(lines) + "\n]"


_RUNTIME = '''
def load_weights(model: nn.Module, path: str) -> nn.Module:
    """Load a Torchwire checkpoint's weights: a .pt file (a dict with the weights under
    "model", read with weights_only=True, so nothing is unpickled) or a .safetensors file."""
    if not os.path.isabs(path):
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), path)
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        state = load_file(path)
    else:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        state = saved["model"] if "model" in saved else saved
    model.load_state_dict(state)
    return model


def build_model(weights: str | None = WEIGHTS) -> Model:
    """The model in eval mode, with the checkpoint's weights when there is one."""
    model = Model()
    if weights:
        load_weights(model, weights)
    return model.eval()


def random_inputs(batch: int = 2) -> list[torch.Tensor]:
    """Inputs of the right shapes: normal noise, or token ids 0 for integer inputs."""
    return [
        torch.randn(batch, *shape)
        if dtype.is_floating_point
        else torch.zeros(batch, *shape, dtype=dtype)
        for shape, dtype in INPUTS.values()
    ]


@torch.no_grad()
def predict(model: nn.Module, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The model's outputs as a tuple, one per entry of OUTPUTS."""
    out = model(*inputs)
    return out if isinstance(out, tuple) else (out,)
'''


def _main(training: bool) -> str:
    train_arg = (
        '    parser.add_argument("--train", action="store_true", help="train as the project does")\n'
        if training
        else ""
    )
    train_branch = (
        "    if args.train:  # under torchrun --nproc-per-node N: N processes (DDP)\n"
        "        model = train(weights=args.weights, device=args.device)  # new unless --weights\n"
        "        if args.save and rt.from_env().is_main:\n"
        '            torch.save({"model": model.state_dict()}, args.save)\n'
        '            print(f"saved the trained weights to {args.save}")\n'
        "        return\n"
        if training
        else ""
    )
    save_arg = (
        '    parser.add_argument("--save", help="--train: write the trained weights here (.pt)")\n'
        '    parser.add_argument("--device", default="auto", help="--train: auto, cpu, cuda, mps")\n'
        if training
        else ""
    )
    return f"""
def main(argv: list[str] | None = None) -> None:
    description = __doc__.splitlines()[0]
    if "%(prog)" in description:  # argparse %-formats a description that names %(prog)
        description = description.replace("%", "%%")
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--weights", help="a Torchwire checkpoint (default: WEIGHTS)")
    parser.add_argument("--input", action="append", help=".npy file of inputs, one per model input")
    parser.add_argument("--output", help="save the outputs here (.npy; .npz if several)")
{train_arg}{save_arg}    args = parser.parse_args(argv)
{train_branch}    model = build_model(args.weights or WEIGHTS)
    if args.input:
        if len(args.input) != len(INPUTS):
            parser.error(f"give {{len(INPUTS)}} --input file(s): {{', '.join(INPUTS)}}")
        dtypes = [dtype for _, dtype in INPUTS.values()]
        arrays = [np.load(f, allow_pickle=False) for f in args.input]  # never unpickle
        inputs = [torch.from_numpy(a).to(dt) for a, dt in zip(arrays, dtypes)]
    else:
        inputs = random_inputs()
    outputs = predict(model, *inputs)
    if args.output:
        arrays = [o.numpy() for o in outputs]
        if len(arrays) == 1:
            np.save(args.output, arrays[0])
        else:
            np.savez(args.output, **dict(zip(OUTPUTS, arrays)))
    for name, out in zip(OUTPUTS, outputs):
        print(f"{{name}}: shape {{tuple(out.shape)}}")
        if TASK == "classification" and CLASS_NAMES and out.shape[-1] == len(CLASS_NAMES):
            print("  predicted:", [CLASS_NAMES[i] for i in out.argmax(-1).tolist()])
        else:
            print(" ", out)


if __name__ == "__main__":
    main()
"""


def _check_imports(text: str, plugins: frozenset[str] | set[str] = frozenset()) -> None:
    """Refuse a script importing anything but the allowed modules and the plugins' own."""
    try:
        tree = ast.parse(text)
    except SyntaxError as e:  # our generator's fault, said plainly
        raise ExportError(f"the generated script does not parse (line {e.lineno}): {e.msg}") from e
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for n in names:
            if n.split(".")[0] not in ALLOWED_IMPORTS | plugins:
                raise ExportError(f"the generated script would import {n!r}, which it must not")


# -- parity in a fresh interpreter ---------------------------------------------------------
_HARNESS = """
import importlib.util, sys, torch
sys.dont_write_bytecode = True  # no __pycache__ beside the user's file
sys.modules["engine"] = None  # the exported script must not need Torchwire
script, inputs_path, outputs_path, state_path, weights = sys.argv[1:6]
sys.path.extend(sys.argv[6:])  # where the plugin node types' modules were imported from
spec = importlib.util.spec_from_file_location("exported_model", script)
mod = importlib.util.module_from_spec(spec)
sys.modules["exported_model"] = mod
spec.loader.exec_module(mod)
model = mod.build_model(weights if weights != "-" else None)
if state_path != "-":
    model.load_state_dict(torch.load(state_path, weights_only=True))
inputs = torch.load(inputs_path, weights_only=True)
out = {str(b): list(mod.predict(model, *xs)) for b, xs in inputs.items()}
torch.save(out, outputs_path)
"""


def _parity(
    report: ParityReport,
    script: Path,
    src: Source,
    batches: list[int],
    seed: int,
    tolerance: float,
    rtol: float,
) -> None:
    gen = torch.Generator().manual_seed(seed)
    inputs = {str(b): list(random_inputs(src.module, b, gen)) for b in batches}
    with torch.no_grad():
        expected = {}
        for b, xs in inputs.items():
            out = src.module(*xs)
            expected[b] = [t.detach() for t in (out if isinstance(out, tuple) else (out,))]
    with tempfile.TemporaryDirectory(prefix="torchwire-export-") as d:
        dd = Path(d)
        torch.save(inputs, dd / "inputs.pt")
        (dd / "harness.py").write_text(_HARNESS, encoding="utf-8")
        if src.checkpoint_path:
            # the script reads the checkpoint itself: that is part of what is checked
            state, weights = "-", str(Path(src.checkpoint_path).resolve())
        else:
            torch.save(src.module.state_dict(), dd / "state.pt")
            state, weights = str(dd / "state.pt"), "-"
        cmd = [
            sys.executable, "-I", str(dd / "harness.py"),
            str(script.resolve()), str(dd / "inputs.pt"), str(dd / "outputs.pt"), state, weights,
            *dict.fromkeys(r for p in src.info.plugins if (r := p.root)),
        ]  # fmt: skip
        try:
            proc = subprocess.run(
                cmd, cwd=d, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            raise ExportError("the exported script did not finish its check in time") from None
        if proc.returncode != 0:
            tail = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()][-3:]
            raise ExportError("the exported script failed to run: " + " | ".join(tail))
        actual = torch.load(dd / "outputs.pt", weights_only=True)
    info = src.info
    for b in inputs:
        report.rows += report_rows(
            info.output_names,
            int(b),
            [t.numpy() for t in expected[b]],
            [t.numpy() for t in actual[b]],
            tolerance,
            rtol,
        )
