"""What tuning itself costs: a 20-trial TPE study against 20 plain runs of the same project.

For each project (iris, digits_mlp), side by side in one process:

- 20 plain runs: the project trained 20 times as it is (``engine.train``);
- "same work": a 20-trial TPE study (Optuna, SQLite storage, run folders, pruning off)
  whose space is the project's own learning rate as the only choice, so every trial trains
  exactly the plain project: the difference is the cost of tuning itself;
- "real space": a 20-trial TPE study with the median pruner over the learning rate and the
  hidden width (bigger or smaller models, some trials pruned): what a study costs in use.

Each side is measured ``--repeat`` times, interleaved, and the median printed. One
warm-up run first, so torch's first-use cost falls on neither side; the one-time import
of SQLAlchemy/alembic by the first storage is printed on its own.

    python bench/tune.py [--trials 20] [--repeat 3] [--projects iris digits_mlp]
"""

from __future__ import annotations

import argparse
import statistics
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


def study(
    path: str, space: list[str], n: int, out: Path, pruner: str
) -> tuple[float, dict[str, int]]:
    t0 = time.perf_counter()
    res = Study(load_project(path), space, trials=n, sampler="tpe", pruner=pruner, out=out,
                seed=0).run()  # fmt: skip
    wall = time.perf_counter() - t0
    states: dict[str, int] = {}
    for t in res.trials:
        states[t["state"]] = states.get(t["state"], 0) + 1
    return wall, states


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--projects", nargs="+", default=["iris", "digits_mlp"])
    ap.add_argument("--repeat", type=int, default=3, help="measurements per side (median)")
    a = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        train(str(ROOT / "resources/examples/iris.json"), out_dir=tmp / "warmup")
        t0 = time.perf_counter()
        make_storage(storage_url(tmp / "warmup-study"))
        print(f"first storage open (imports SQLAlchemy/alembic, once a process): "
              f"{time.perf_counter() - t0:.2f}s, on neither side below")  # fmt: skip
        print(f"{'project':<11} {'20 plain runs':>14} {'TPE same work':>14} {'ratio':>6} "
              f"{'TPE real space':>15} {'ratio':>6}  trials (real space, median pruner)")  # fmt: skip
        for name in a.projects:
            path = str(ROOT / "resources/examples" / f"{name}.json")
            lr = load_project(path).nodes["adam"].params["lr"]
            bases, sames, reals = [], [], []
            for k in range(a.repeat):  # interleaved, the median taken: the machine is noisy
                bases.append(plain(path, a.trials, tmp / name / f"{k}"))
                sames.append(
                    study(path, [f"adam.lr={lr}"], a.trials, tmp / name / f"same{k}", "none")[0]
                )
                wall, states = study(path, SPACE[name], a.trials, tmp / name / f"real{k}", "median")
                reals.append(wall)
            base, same, real = (statistics.median(x) for x in (bases, sames, reals))
            print(f"{name:<11} {base:>13.2f}s {same:>13.2f}s {same / base:>6.2f} {real:>14.2f}s "
                  f"{real / base:>6.2f}  {states}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
