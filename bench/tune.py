"""What tuning itself costs: a 20-trial TPE study against 20 plain runs of the same project.

For each project (iris, digits_mlp) it trains the project 20 times as it is, then runs a
20-trial TPE study (Optuna, SQLite storage in a temporary folder) over the learning rate
and the hidden width, once without pruning (the same work: the overhead is Optuna, the
storage and the run folders) and once with the median pruner (what a study would use).
Prints the wall times and the ratios. One warm-up run first, so torch's first-use cost
falls on neither side.

    python bench/tune.py [--trials 20] [--projects iris digits_mlp]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optuna

from engine import load_project
from engine.train import train
from engine.tune.study import Study, make_storage, storage_url

ROOT = Path(__file__).resolve().parents[1]
SPACE = {
    "iris": ["adam.lr=1e-3:0.1:log", "linear.out_features=8:64"],
    "digits_mlp": ["adam.lr=1e-4:1e-2:log", "linear.out_features=32:256"],
}


def plain(path: str, n: int, tmp: Path) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        train(path, out_dir=tmp / f"plain-{i}")
    return time.perf_counter() - t0


def study(path: str, name: str, n: int, tmp: Path, pruner: str) -> tuple[float, dict[str, int]]:
    out = tmp / f"tune-{pruner}"
    t0 = time.perf_counter()
    res = Study(load_project(path), SPACE[name], trials=n, sampler="tpe", pruner=pruner,
                out=out, seed=0).run()  # fmt: skip
    wall = time.perf_counter() - t0
    states: dict[str, int] = {}
    for t in res.trials:
        states[t["state"]] = states.get(t["state"], 0) + 1
    return wall, states


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--projects", nargs="+", default=["iris", "digits_mlp"])
    a = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        train(str(ROOT / "resources/examples/iris.json"), out_dir=tmp / "warmup")
        t0 = time.perf_counter()
        make_storage(storage_url(tmp / "warmup-study"))
        print(f"first storage open (imports SQLAlchemy/alembic, once a process): "
              f"{time.perf_counter() - t0:.2f}s, on neither side below")  # fmt: skip
        print(f"{'project':<11} {'20 plain runs':>14} {'TPE, no pruner':>15} {'ratio':>6} "
              f"{'TPE + median':>13} {'ratio':>6}  trials (median pruner)")  # fmt: skip
        for name in a.projects:
            path = str(ROOT / "resources/examples" / f"{name}.json")
            base = plain(path, a.trials, tmp / name)
            nop, _ = study(path, name, a.trials, tmp / name, "none")
            med, states = study(path, name, a.trials, tmp / name, "median")
            print(f"{name:<11} {base:>13.2f}s {nop:>14.2f}s {nop / base:>6.2f} {med:>12.2f}s "
                  f"{med / base:>6.2f}  {states}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
