"""The training half of an exported script: the project's data, preprocessing and loop.

Nothing of the engine is pasted in: the script ships the runtime package whole, as
``torchwire_runtime/`` beside it (``engine.runtime``, which imports nothing else of the
engine), and this module only writes the project's own choices as literals (the dataset
node, the preprocessing chain, the loop settings, the loss and optimizer specs) plus two
short functions that hand them to the runtime. The session trains through the very same
runtime, so on the CPU ``python net.py --train`` reproduces the engine's weights, and
``torchrun --nproc-per-node N net.py --train`` trains on N processes as the engine does.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import engine.runtime
from engine.analysis.check import check
from engine.catalog.settings import resolve_settings
from engine.data.pipeline import chain_of
from engine.export.errors import ExportError
from engine.export.source import Source
from engine.names import literal
from engine.train.specs import loop_settings, loss_spec, optimizer_spec

RUNTIME_PACKAGE = "torchwire_runtime"


def training_source(src: Source, script_path: Path | None = None) -> dict[str, Any]:
    """``{"code", "imports", "needs"}`` for the script, or ExportError saying what is missing."""
    g = src.graph
    assert g is not None
    rep = check(g)
    plan = rep.training.plan if rep.training else None
    if plan is None:
        reasons = (rep.training.messages if rep.training else []) or [d.message for d in rep.errors]
        raise ExportError(
            "the training code needs a project that can train (dataset → Input, a loss and an "
            "optimizer): " + ("; ".join(reasons) if reasons else "no training plan")
        )
    steps = chain_of(g, plan.data)
    ds, rest = steps[0], steps[1:]
    settings = resolve_settings(g.settings.get("training"))
    lnode, onode = g.nodes[plan.loss], g.nodes[plan.optimizer]
    dataset = {
        "type": ds.type,
        "params": ds.p,
        "path": relative_or_absolute(ds.path, script_path) if ds.path else None,
    }
    chain = [{"type": s.type, "params": s.p} for s in rest]
    values = {
        "DATASET": _literal(dataset),
        "STEPS": _literal(chain),
        "TRAINING": _literal(dataclasses.asdict(loop_settings(settings))),
        "SEED": literal(int(settings["seed"])),
        "CPU_THREADS": literal(int(settings.get("cpu_threads", 0))),
        "LOSS": _literal(dataclasses.asdict(loss_spec(lnode.type, lnode.params))),
        "OPTIMIZER": _literal(
            dataclasses.asdict(optimizer_spec(onode.type, onode.params, g, src.info.node_of_attr))
        ),
        "OUTPUT_SHAPE": literal(tuple(int(d) for d in rep.shapes[plan.output])),
    }
    code = _TEMPLATE
    for name, text in values.items():  # literals only: no user text is ever code
        code = code.replace(f"@{name}@", text, 1)
    needs = ["scikit-learn", "pandas"] + (["Pillow"] if ds.type == "ImageFolder" else [])
    imports = ["import sys", "from typing import Any"]
    return {"code": code.strip() + "\n", "imports": imports, "needs": needs}


_TEMPLATE = '''
# -- training: the project's data, preprocessing and training loop ----------------
# The runtime Torchwire itself trains with ships beside this file (torchwire_runtime/).
try:
    import torchwire_runtime as rt
except ModuleNotFoundError:  # imported from another folder: it lies beside this file
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torchwire_runtime as rt

# The dataset node and the preprocessing chain, in flow order (paths relative to this
# file). Each fitted step learns its statistics on the training split only.
DATASET = @DATASET@
STEPS = @STEPS@
# The project's training settings, loss and optimizer, as the runtime takes them.
TRAINING = @TRAINING@
SEED = @SEED@
CPU_THREADS = @CPU_THREADS@
LOSS = @LOSS@
OPTIMIZER = @OPTIMIZER@
OUTPUT_SHAPE = @OUTPUT_SHAPE@


def prepare_data() -> dict[str, Any]:
    """Load, clean, split, then fit each preprocessing step on the training split only.

    Returns the features and targets of each split ("train", "val", "test"), the task, the
    class names, and the runtime's prepared data (fitted steps, batching, augmentation).
    """
    path = DATASET["path"]
    if path is not None and not os.path.isabs(path):
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), path)
    steps = [rt.Step("dataset", DATASET["type"], DATASET["params"], path)]
    steps += [rt.Step(f"step{i}", s["type"], s["params"]) for i, s in enumerate(STEPS, 1)]
    prep = rt.prepare_steps(steps)
    if prep.problem is not None:
        raise prep.problem
    info = prep.info
    return {
        "x": prep.x,
        "y": prep.y,
        "task": info.task,
        "class_names": list(info.class_names),
        "prepared": prep,
    }


class EpochLog(rt.Callback):
    """One line per epoch: the training and validation metrics."""

    def __init__(self, log: Any) -> None:
        self.log = log

    def on_epoch_end(self, trainer: Any, info: Any) -> None:
        row = {
            **{f"train_{k}": v for k, v in info.train.items()},
            **{f"val_{k}": v for k, v in info.val.items()},
        }
        shown = "  ".join(f"{k} {v:.4f}" for k, v in row.items() if isinstance(v, float))
        self.log(f"epoch {info.epoch}/{info.epochs}  {shown}")


def train(
    weights: str | None = None, epochs: int | None = None, log: Any = print, device: str = "auto"
) -> nn.Module:
    """Train as the project does: same data, split, fitted preprocessing, seed, model, loss,
    optimizer, learning-rate schedule, batching and stopping rule. Under ``torchrun
    --nproc-per-node N`` it trains on N processes (DDP: the batch size stays the global
    batch). Returns the model with the best weights by the monitored metric (else the
    last); ``model.last_state`` holds the weights after the last epoch."""
    prep = prepare_data()["prepared"]
    info = prep.info
    dist = rt.Distributed(rt.from_env())
    dev = rt.pick_device(device, dist.info.local_rank if dist.enabled else None)
    dist.setup(dev)
    if CPU_THREADS > 0 and dev.type == "cpu":  # as the project trains: fixes float rounding
        torch.set_num_threads(CPU_THREADS)
    torch.manual_seed(SEED)
    if dev.type == "cuda":
        torch.cuda.manual_seed_all(SEED)
    model = build_model(weights).train().to(dev)
    tt = prep.target_transform
    head = rt.Head(
        rt.LossSpec(**LOSS),
        info.task,
        info.n_classes,
        OUTPUT_SHAPE,
        dev,
        tt.y_mean if tt else None,
        tt.y_std if tt else None,
    )
    batches = rt.split_batches(prep, dev)
    settings = dict(TRAINING, epochs=epochs or TRAINING["epochs"])
    trainer = rt.Trainer(
        model,
        head,
        rt.OptimizerSpec(**OPTIMIZER),
        batches["train"],
        batches.get("val"),
        rt.LoopSettings(**settings),
        device=dev,
        seed=SEED,
        task=info.task,
        n_classes=info.n_classes,
        n_targets=rt.n_targets(info),
        augment=prep.augment,
        callbacks=[EpochLog(log)] if dist.is_main else [],
        dist=dist,
    )
    try:
        trainer.fit()
        last_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        split = "test" if "test" in batches else "val" if "val" in batches else "train"
        with trainer.best_weights():
            metrics, _ = trainer.evaluate(batches[split])
            final = {k: v.detach().clone() for k, v in model.state_dict().items()}
    finally:
        dist.close()
    if dist.is_main:
        log(
            f"{split}: "
            + "  ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))
        )
    model.load_state_dict(final)
    model.last_state = last_state
    return model.eval()
'''


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
    lone surrogates; non-finite numbers as ``float("nan")``-style calls."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_flat(k)}: {_flat(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_flat(x) for x in v) + "]"
    if isinstance(v, str) or v is None or isinstance(v, (bool, int, float)):
        return literal(v)
    raise ExportError(f"cannot write {v!r} into the script")


def runtime_files() -> dict[str, bytes]:
    """The runtime package's files as they stand (what ships as ``torchwire_runtime/``)."""
    folder = Path(engine.runtime.__file__).parent
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.py"))}
