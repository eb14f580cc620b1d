"""Builds the bundled example projects (and the small CSV they use) reproducibly.

Run from the repository root: ``python resources/examples/make_examples.py``. Positions come
from ``engine.build.layout.lay_out`` (the designer's auto-layout): the data chain, the model and the
training nodes in lanes, wrapped so each example reads at the scale it opens with.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from engine import Graph, check, save_project  # noqa: E402
from engine.build.layout import lay_out  # noqa: E402

DX, DATA_Y, MODEL_Y = 220.0, -160.0, 60.0


def pipeline(
    name: str,
    data: list[tuple[str, dict[str, Any]]],
    model: list[tuple[str, dict[str, Any]]],
    loss: tuple[str, dict[str, Any]],
    optimizer: tuple[str, dict[str, Any]],
    training: dict[str, Any],
) -> Graph:
    g = Graph(name=name)
    prev = None
    for i, (t, p) in enumerate(data):
        nid = g.add(t, pos=(i * DX, DATA_Y), **p)
        if prev:
            g.connect(prev, nid)
        prev = nid
    last_data = prev
    x0 = (len(data) - 1) * DX
    inp = g.add("Input", pos=(x0, MODEL_Y), name="features")
    g.connect(last_data, inp)
    prev = inp
    for i, (t, p) in enumerate(model, start=1):
        nid = g.add(t, pos=(x0 + i * DX, MODEL_Y), **p)
        g.connect(prev, nid)
        prev = nid
    xl = x0 + (len(model) + 1) * DX
    ls = g.add(loss[0], pos=(xl, MODEL_Y), **loss[1])
    g.connect(prev, ls, "output", "input")
    g.connect(last_data, ls, "targets", "target")
    op = g.add(optimizer[0], pos=(xl + DX, MODEL_Y), **optimizer[1])
    g.connect(ls, op)
    # tiny models: one CPU thread is faster than two fighting over a busy machine
    g.settings["training"] = {"seed": 0, "device": "auto", "cpu_threads": 1, **training}
    # aspect 1.2: the canvas at the default window size is ~900×640 (1.4), less the room
    # the nodes' captions take at the right edge
    lay_out(g, aspect=1.2)
    rep = check(g)
    assert rep.ok and rep.extra["ready_to_train"], (name, rep.extra["train_reasons"])
    return g


def mlp(hidden: list[int], out: int, dropout: float = 0.0, act: str = "ReLU") -> list:
    layers: list[tuple[str, dict[str, Any]]] = []
    for h in hidden:
        layers += [("Linear", {"out_features": h}), (act, {})]
        if dropout:
            layers.append(("Dropout", {"p": dropout}))
    return [*layers, ("Linear", {"out_features": out})]


def write_csv(path: Path) -> None:
    """A small churn table: numbers with gaps, two text columns (one with gaps), yes/no target."""
    rng = np.random.default_rng(7)
    n = 400
    age = rng.integers(18, 75, n).astype(float)
    income = np.round(rng.normal(52, 15, n).clip(12, 150), 1)
    plans = np.array(["basic", "plus", "pro"])
    plan = plans[rng.choice(3, n, p=[0.5, 0.3, 0.2])]
    regions = np.array(["north", "south", "east", "west"])
    region = regions[rng.integers(0, 4, n)].astype(object)
    visits = rng.poisson(6, n).astype(float)
    score = (
        -0.04 * (age - 45)
        + 0.9 * (plan == "basic")
        - 0.8 * (plan == "pro")
        - 0.25 * (visits - 6)
        - 0.02 * (income - 52)
        + 0.3 * (region == "south")
        + rng.normal(0, 0.5, n)
    )
    churned = np.where(score > 0.2, "yes", "no")
    income_s = income.astype(object)
    income_s[rng.random(n) < 0.08] = ""
    age_s = age.astype(int).astype(object)
    age_s[rng.random(n) < 0.05] = ""
    region[rng.random(n) < 0.06] = ""
    lines = ["age,income,plan,region,visits,churned"]
    for i in range(n):
        lines.append(
            f"{age_s[i]},{income_s[i]},{plan[i]},{region[i]},{int(visits[i])},{churned[i]}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def build() -> dict[str, Graph]:
    split = ("Split", {"val": 0.15, "test": 0.15, "stratify": True, "seed": 0})
    ex: dict[str, Graph] = {}
    ex["digits_mlp"] = pipeline(
        "digits_mlp",
        [("Digits", {}), split, ("Standardize", {}), ("Batch", {"batch_size": 64})],
        [("Flatten", {}), *mlp([128], 10, dropout=0.1)],
        ("CrossEntropyLoss", {}),
        ("Adam", {"lr": 2e-3}),
        {"epochs": 15},
    )
    ex["digits_cnn"] = pipeline(
        "digits_cnn",
        [
            ("Digits", {}),
            split,
            ("Standardize", {"per": "channel"}),
            ("Augment", {"hflip": False, "crop_padding": 1, "rotation": 10.0}),
            ("Batch", {"batch_size": 64}),
        ],
        [
            ("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}),
            ("BatchNorm2d", {}),
            ("ReLU", {}),
            ("Conv2d", {"out_channels": 32, "kernel_size": 3, "padding": 1}),
            ("BatchNorm2d", {}),
            ("ReLU", {}),
            ("MaxPool2d", {"kernel_size": 2}),
            ("Flatten", {}),
            ("Linear", {"out_features": 64}),
            ("ReLU", {}),
            ("Dropout", {"p": 0.2}),
            ("Linear", {"out_features": 10}),
        ],
        ("CrossEntropyLoss", {"label_smoothing": 0.05}),
        ("AdamW", {"lr": 3e-3, "lr_schedule": "one_cycle"}),
        {"epochs": 15},
    )
    ex["iris"] = pipeline(
        "iris",
        [("Iris", {}), split, ("Standardize", {}), ("Batch", {"batch_size": 16})],
        mlp([32], 3),
        ("CrossEntropyLoss", {}),
        ("Adam", {"lr": 1e-2}),
        {"epochs": 40},
    )
    ex["moons"] = pipeline(
        "moons",
        [
            ("Moons", {"n_samples": 1000, "noise": 0.15, "random_state": 0}),
            split,
            ("Standardize", {}),
            ("Batch", {"batch_size": 32}),
        ],
        mlp([32, 32], 2, act="Tanh"),
        ("CrossEntropyLoss", {}),
        ("Adam", {"lr": 1e-2}),
        {"epochs": 30},
    )
    ex["breast_cancer"] = pipeline(
        "breast_cancer",
        [("BreastCancer", {}), split, ("Standardize", {}), ("Batch", {"batch_size": 32})],
        mlp([32], 1, dropout=0.2),
        ("BCEWithLogitsLoss", {}),
        ("AdamW", {"lr": 3e-3}),
        {"epochs": 40, "early_stopping": True, "patience": 8},
    )
    ex["diabetes"] = pipeline(
        "diabetes",
        [
            ("Diabetes", {}),
            # seed 4: a typical split (ordinary least squares scores R² 0.48 on its test set;
            # seed 0's test set is an outlier where it scores 0.32)
            ("Split", {"val": 0.15, "test": 0.2, "seed": 4}),
            ("Standardize", {"targets": True}),
            ("Batch", {"batch_size": 32}),
        ],
        mlp([32], 1),
        ("MSELoss", {}),
        ("AdamW", {"lr": 3e-3, "weight_decay": 1e-2, "lr_schedule": "cosine"}),
        {"epochs": 40, "monitor": "val_r2"},
    )
    csv_path = ROOT / "resources" / "data" / "customers.csv"
    write_csv(csv_path)
    g = Graph()
    g.path = str(HERE / "csv_tabular.json")  # type: ignore[attr-defined]
    ex["csv_tabular"] = pipeline_with_path(
        g,
        "csv_tabular",
        [
            ("CSVDataset", {"path": "../data/customers.csv", "target": "churned"}),
            ("Clean", {"missing": "median", "drop_duplicates": True}),
            ("OneHot", {}),
            split,
            ("Standardize", {}),
            ("Batch", {"batch_size": 32}),
        ],
        mlp([32], 2, dropout=0.1),
        ("CrossEntropyLoss", {}),
        ("Adam", {"lr": 3e-3}),
        {"epochs": 40},
    )
    write_backbone(split)
    ex.update(transfer_examples(split))
    return ex


BACKBONE = HERE / "weights" / "digits_backbone.safetensors"


def backbone(head: str) -> list[tuple[str, dict[str, Any]]]:
    """The digits MLP the transfer examples share: ``fc1`` and ``fc2`` carry the bundled
    weights (matched by name); ``head`` names the last layer."""
    return [
        ("Flatten", {}),
        ("Linear", {"name": "fc1", "out_features": 64}),
        ("ReLU", {}),
        ("Linear", {"name": "fc2", "out_features": 32}),
        ("ReLU", {}),
        ("Linear", {"name": head, "out_features": 10}),
    ]


def write_backbone(split: tuple[str, dict[str, Any]]) -> None:
    """The bundled starting weights: the backbone trained briefly (3 epochs) on digits with
    its own classifier, saved as a plain .safetensors (a stand-in for a model someone else
    trained). Its ``classifier`` tensors are in the file too; the examples' new ``head``
    does not match them, so the run reports them as unused."""
    from safetensors.torch import save_file

    from engine.train import train

    g = pipeline(
        "digits_backbone",
        [("Digits", {}), split, ("Standardize", {}), ("Batch", {"batch_size": 64})],
        backbone("classifier"),
        ("CrossEntropyLoss", {}),
        ("Adam", {"lr": 2e-3}),
        {"epochs": 3, "checkpoint": "last"},
    )
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        res = train(g, out_dir=d, device="cpu")
    sd = {k: v.detach().cpu().contiguous() for k, v in res.extra["model"].state_dict().items()}
    BACKBONE.parent.mkdir(parents=True, exist_ok=True)
    save_file(sd, str(BACKBONE))


def transfer_examples(split: tuple[str, dict[str, Any]]) -> dict[str, Graph]:
    """Transfer learning's three ways, each starting from the bundled backbone weights."""
    data = [("Digits", {}), split, ("Standardize", {}), ("Batch", {"batch_size": 64})]
    init = {"init_from": "weights/digits_backbone.safetensors"}
    ex: dict[str, Graph] = {}
    # feature extraction: the backbone frozen, only the new head learns
    g = pipeline(
        "transfer_feature_extraction", data, backbone("head"), ("CrossEntropyLoss", {}),
        ("Adam", {"lr": 1e-2}), {"epochs": 10, **init},
    )  # fmt: skip
    g.freeze(g.by_name("fc1").id)
    g.freeze(g.by_name("fc2").id)
    ex[g.name] = g
    # fine-tuning: everything learns, the backbone at a tenth of the rate
    g = pipeline(
        "transfer_fine_tuning", data, backbone("head"), ("CrossEntropyLoss", {}),
        ("Adam", {"lr": 3e-3}), {"epochs": 10, **init},
    )  # fmt: skip
    g.set_lr_scale(g.by_name("fc1").id, 0.1)
    g.set_lr_scale(g.by_name("fc2").id, 0.1)
    ex[g.name] = g
    # end-to-end retraining: the weights are only a starting point, all at the full rate
    ex["transfer_end_to_end"] = pipeline(
        "transfer_end_to_end", data, backbone("head"), ("CrossEntropyLoss", {}),
        ("Adam", {"lr": 2e-3}), {"epochs": 10, **init},
    )  # fmt: skip
    return ex


def pipeline_with_path(g: Graph, name: str, *args: Any) -> Graph:
    """Like ``pipeline``, for data read relative to the project file's folder."""
    import engine.data.sources as sources

    base = str(Path(g.path).parent)  # type: ignore[attr-defined]
    old = sources.resolve_path
    sources.resolve_path = lambda v, b: old(v, b or base)  # type: ignore[assignment]
    try:
        out = pipeline(name, *args)
    finally:
        sources.resolve_path = old  # type: ignore[assignment]
    return out


def main() -> None:
    for name, g in build().items():
        save_project(g, HERE / f"{name}.json")
        print(f"wrote {name}.json")


if __name__ == "__main__":
    main()
