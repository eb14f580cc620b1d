"""Epoch time of Torchwire's training session against (a) an idiomatic hand-written loop with
``DataLoader(TensorDataset)`` and (b) PyTorch Lightning's Trainer, on the same model and data,
measured side by side in one run. Prints the ratios (engine / other; lower is better). Then
the same project on 1 and on 2 processes (``torchwire train --nproc-per-node 2``, gloo on
the CPU): samples per second and the scaling efficiency (speed-up / processes).

    python bench/train_loop.py [--project resources/examples/digits_mlp.json] [--epochs 5]
    python bench/train_loop.py --processes-only   # just the 1-vs-2-process comparison

Lightning is only for this benchmark (not a dependency): ``pip install lightning``. Without it
the script says so and prints the other ratio. Every contender: same prepared tensors, same
compiled model (fresh copy, same seed), same optimizer, batch size and shuffling, and a
validation pass per epoch.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch
from torch.utils.data import DataLoader, TensorDataset

from engine import check, compile_model, load_project
from engine.data.pipeline import chain_of, prepare
from engine.train import TrainingSession, events
from engine.train.specs import make_head, optimizer_spec


def setup(project: str):
    g = load_project(project)
    rep = check(g)
    plan = rep.extra["train_plan"]
    prep = prepare(chain_of(g, plan.data))
    torch.manual_seed(0)
    model = compile_model(g, rep)
    return g, rep, plan, prep, model


def engine_epoch_times(project: str, epochs: int) -> list[float]:
    times: list[float] = []
    with tempfile.TemporaryDirectory() as d:
        s = TrainingSession(project, out_dir=d, epochs=epochs, device="cpu")
        s.graph.settings.setdefault("training", {})["early_stopping"] = False
        stamps: list[float] = []

        def on(ev: object) -> None:
            if isinstance(ev, (events.Started, events.EpochEnded)):
                stamps.append(time.perf_counter())

        s.subscribe(on)
        if s.run() is None:
            raise SystemExit(f"engine failed: {s.failure.reason}")
        # between consecutive epoch ends: training, validation, metrics, checkpoint writes
        times = [b - a for a, b in itertools.pairwise(stamps)]
    return times


def loaders(prep):
    task = prep.info.task
    ydt = torch.int64 if task == "classification" else torch.float32
    t = {
        k: (torch.from_numpy(prep.x[k]), torch.from_numpy(prep.y[k]).to(ydt))
        for k in ("train", "val")
    }
    bs = prep.batch["batch_size"]
    train = DataLoader(
        TensorDataset(*t["train"]), batch_size=bs, shuffle=True, drop_last=prep.batch["drop_last"]
    )
    val = DataLoader(TensorDataset(*t["val"]), batch_size=max(bs, 512))
    return train, val


def handwritten_epoch_times(g, rep, plan, prep, model, epochs: int) -> list[float]:
    model = copy.deepcopy(model)
    lnode, onode = g.nodes[plan.loss], g.nodes[plan.optimizer]
    head = make_head(
        lnode.type,
        lnode.params,
        prep.info.task,
        prep.info.n_classes,
        tuple(rep.shapes[plan.output]),
        "cpu",
    )
    loss_fn = head.loss
    opt = optimizer_spec(onode.type, onode.params).build(model.parameters())
    train, val = loaders(prep)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        total, n = 0.0, 0
        for xb, yb in train:
            out = model(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            n += len(yb)
        model.eval()
        correct = 0
        with torch.no_grad():
            for xb, yb in val:
                out = model(xb)
                loss_fn(out, yb)
                correct += (
                    int((head.predict(out) == yb).sum())
                    if prep.info.task == ("classification")
                    else 0
                )
        times.append(time.perf_counter() - t0)
    return times


def lightning_epoch_times(g, rep, plan, prep, model, epochs: int) -> list[float] | str:
    try:
        import lightning as L
    except ImportError:
        try:
            import pytorch_lightning as L  # type: ignore[no-redef]
        except ImportError:
            return "PyTorch Lightning is not installed (pip install lightning); skipped"
    lnode, onode = g.nodes[plan.loss], g.nodes[plan.optimizer]
    head = make_head(
        lnode.type,
        lnode.params,
        prep.info.task,
        prep.info.n_classes,
        tuple(rep.shapes[plan.output]),
        "cpu",
    )

    class Module(L.LightningModule):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def training_step(self, batch, i):
            xb, yb = batch
            loss = head.loss(self.net(xb), yb)
            self.log("train_loss", loss, on_epoch=True, on_step=False)
            return loss

        def validation_step(self, batch, i):
            xb, yb = batch
            self.log("val_loss", head.loss(self.net(xb), yb))

        def configure_optimizers(self):
            return optimizer_spec(onode.type, onode.params).build(self.net.parameters())

    times: list[float] = []

    class Timer(L.Callback):
        def on_train_epoch_start(self, trainer, module):
            self.t0 = time.perf_counter()

        def on_validation_epoch_end(self, trainer, module):
            if not trainer.sanity_checking and hasattr(self, "t0"):
                times.append(time.perf_counter() - self.t0)

    train, val = loaders(prep)
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        callbacks=[Timer()],
    )
    trainer.fit(Module(copy.deepcopy(model)), train, val)
    return times


def process_epoch_seconds(project: str, epochs: int, nproc: int) -> list[float]:
    """Epoch seconds (from the run's history.csv) of ``torchwire train`` on ``nproc`` processes."""
    import csv
    import subprocess

    with tempfile.TemporaryDirectory() as d:
        cmd = [sys.executable, "-m", "engine", "train", project, "--epochs", str(epochs),
               "--device", "cpu", "--out", d, "--quiet"]  # fmt: skip
        if nproc > 1:
            cmd += ["--nproc-per-node", str(nproc)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800)
        if proc.returncode != 0:
            raise SystemExit(f"{nproc} process(es) failed: {proc.stderr[-2000:]}")
        with open(Path(d) / "history.csv", encoding="utf-8") as f:
            return [float(r["seconds"]) for r in csv.DictReader(f)]


def processes(project: str, epochs: int, rounds: int, n_train: int) -> None:
    """1 against 2 processes, interleaved; samples/s from the median epoch (warm-up dropped)."""
    one: list[float] = []
    two: list[float] = []
    for _ in range(rounds):
        one += process_epoch_seconds(project, epochs, 1)[1:]
        two += process_epoch_seconds(project, epochs, 2)[1:]
    s1, s2 = n_train / statistics.median(one), n_train / statistics.median(two)
    print(f"  1 process                         {s1:10,.0f} samples/s")
    print(f"  2 processes (DDP, gloo)           {s2:10,.0f} samples/s")
    print(f"speed-up 2 / 1 processes: {s2 / s1:.2f}; scaling efficiency {s2 / s1 / 2:.0%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", default=str(ROOT / "resources/examples/digits_mlp.json"))
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved repetitions")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads for everyone")
    ap.add_argument("--processes-only", action="store_true", help="only 1 vs 2 processes")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    g, rep, plan, prep, model = setup(args.project)
    n = len(prep.y["train"])
    print(
        f"{Path(args.project).name}: {n} training samples, batch size "
        f"{prep.batch['batch_size']}, {rep.total_params:,} parameters, {args.epochs} epochs, "
        f"{args.threads} thread(s); median epoch time (first epoch dropped as warm-up)"
    )

    if args.processes_only:
        processes(args.project, args.epochs, args.rounds, n)
        return
    # interleave the contenders, round after round, so that a busy machine affects them alike
    eng, hand, light, ratios = [], [], [], []
    light_note = None
    for _ in range(args.rounds):
        e_r = engine_epoch_times(args.project, args.epochs)[1:]
        h_r = handwritten_epoch_times(g, rep, plan, prep, model, args.epochs)[1:]
        eng += e_r
        hand += h_r
        ratios.append(statistics.median(e_r) / statistics.median(h_r))
        lt = lightning_epoch_times(g, rep, plan, prep, model, args.epochs)
        if isinstance(lt, str):
            light_note = lt
        else:
            light += lt[1:]
    e, h = statistics.median(eng), statistics.median(hand)
    print(f"  engine (TrainingSession)          {e * 1e3:8.2f} ms/epoch")
    print(f"  hand-written DataLoader loop      {h * 1e3:8.2f} ms/epoch")
    if light:
        lt_med = statistics.median(light)
        print(f"  PyTorch Lightning Trainer         {lt_med * 1e3:8.2f} ms/epoch")
    print(f"per-round ratios engine / hand-written: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"ratio engine / hand-written loop: {e / h:.2f}  (target ≤ 0.8)")
    if light:
        print(f"ratio engine / Lightning Trainer: {e / lt_med:.2f}")
    else:
        print(f"ratio engine / Lightning Trainer: n/a — {light_note}")
    print("1 against 2 processes (each process gets its share of the machine's threads):")
    processes(args.project, args.epochs, args.rounds, n)


if __name__ == "__main__":
    main()
