"""Dataset and preprocessing node types: where a project's data comes from and how it is prepared.

Every data node gives ``data`` (features and targets travelling together) and ``targets``
(the labels or values, wired to a loss's ``target``). Preprocessing nodes take ``data``.
The runtime of these nodes lives in ``engine.data``; statistics are always fitted on the
training split only, wherever the Split node sits in the chain.
"""

from __future__ import annotations

from typing import Any

from engine.catalog.base import NodeSpec, Param, Port
from engine.catalog.registry import register

DATA_IN = Port("data", kind="data", doc="a dataset, possibly already preprocessed")
DATA_OUT = Port("data", kind="data", doc="features and targets; connect to the model's Input")
TARGETS_OUT = Port(
    "targets", kind="target", doc="labels (classification) or values (regression), to a loss"
)
OUTS = (DATA_OUT, TARGETS_OUT)


def P(name: str, type_: str, default: Any, doc: str = "", **kw: Any) -> Param:
    return Param(name, type_, default, doc, ctor=False, **kw)  # type: ignore[arg-type]


SEED_MAX = 2**32 - 1  # numpy's and scikit-learn's seeds are unsigned 32-bit numbers
SEED = P(
    "random_state",
    "int",
    0,
    f"seed of the generator (same seed, same data; 0 … {SEED_MAX})",
    min=0,
    max=SEED_MAX,
)
N_SAMPLES = P("n_samples", "int", 1000, "number of samples to generate", min=10, max=10_000_000)


def dataset(type_: str, doc: str, params: tuple[Param, ...] = (), **extra: Any) -> NodeSpec:
    return register(
        NodeSpec(
            type=type_,
            category="Datasets",
            group=extra.pop("group", "scikit-learn"),
            kind="data",
            doc=doc,
            inputs=(),
            outputs=OUTS,
            params=params,
            exportable=False,
            extra={"role": "dataset", **extra},
        )
    )


def preprocessing(type_: str, doc: str, params: tuple[Param, ...] = (), **extra: Any) -> NodeSpec:
    return register(
        NodeSpec(
            type=type_,
            category="Preprocessing",
            group=extra.pop("group", ""),
            kind="data",
            doc=doc,
            inputs=(DATA_IN,),
            outputs=OUTS,
            params=params,
            exportable=False,
            extra={"role": "preprocessing", **extra},
        )
    )


# -- scikit-learn's bundled datasets ---------------------------------------------------------
dataset("Iris", "Iris flowers: 150 samples, 4 measurements, 3 species (classification).")
dataset(
    "Digits",
    "Handwritten digits 0-9: 1797 grayscale 8×8 images (1×8×8, pixel values 0-16).",
)
dataset("Wine", "Wine cultivars: 178 samples, 13 chemical measurements, 3 classes.")
dataset(
    "BreastCancer",
    "Breast cancer Wisconsin: 569 samples, 30 features, malignant or benign.",
)
dataset(
    "Diabetes",
    "Diabetes progression after one year: 442 patients, 10 features (regression).",
)

# -- scikit-learn's generators ------------------------------------------------------------
dataset(
    "Moons",
    "Two interleaving half circles in 2-D (binary classification).",
    (N_SAMPLES, P("noise", "float", 0.1, "standard deviation of added noise", min=0.0), SEED),
    group="generators",
)
dataset(
    "Circles",
    "A small circle inside a large one in 2-D (binary classification).",
    (
        N_SAMPLES,
        P("noise", "float", 0.05, "standard deviation of added noise", min=0.0),
        P("factor", "float", 0.5, "scale of the inner circle", min=0.0, max=0.999),
        SEED,
    ),
    group="generators",
)
dataset(
    "Blobs",
    "Isotropic Gaussian blobs (multi-class classification).",
    (
        N_SAMPLES,
        P("centers", "int", 3, "number of classes", min=2, max=1000),
        P("n_features", "int", 2, "features per sample", min=1, max=100_000),
        P("cluster_std", "float", 1.0, "standard deviation of each blob", min=0.0),
        SEED,
    ),
    group="generators",
)
dataset(
    "Regression",
    "A random linear regression problem with noise.",
    (
        N_SAMPLES,
        P("n_features", "int", 10, "features per sample", min=1, max=100_000),
        P("n_informative", "int", 5, "features that influence the target", min=1),
        P("n_targets", "int", 1, "values to predict per sample", min=1, max=1000),
        P("noise", "float", 10.0, "standard deviation of the noise on the target", min=0.0),
        SEED,
    ),
    group="generators",
)

# -- files ---------------------------------------------------------------------------------
dataset(
    "CSVDataset",
    "A table from a CSV file: numeric and categorical (text) feature columns and one target.",
    (
        P("path", "path", "", "CSV file (relative paths: from the project file's folder)"),
        P("target", "str", "", "name (or 0-based number, without header) of the target column"),
        P("features", "strs", [], "feature columns (empty: every column but the target)"),
        P("categorical", "strs", [], "columns to treat as categories even if they hold numbers"),
        P("delimiter", "str", ",", "field separator"),
        P("header", "bool", True, "the first line names the columns", tune=False),
        P(
            "task",
            "choice",
            "auto",
            "auto: text or few distinct whole numbers in the target mean classification",
            choices=("auto", "classification", "regression"),
            tune=False,
        ),
    ),
    group="files",
    file_patterns=("*.csv", "*.tsv", "*.txt"),
    column_params=("target",),  # offered from the file's header
)
dataset(
    "ImageFolder",
    "Images in one subfolder per class (folder/cat/1.png …), streamed from disk.",
    (
        P("path", "path", "", "the folder holding one subfolder per class"),
        P("size", "ints", 32, "height and width every image is resized to", min=1, length=2),
        P("grayscale", "bool", False, "convert to one channel"),
        P(
            "num_workers",
            "int",
            2,
            "background processes decoding images",
            min=0,
            max=64,
            tune=False,
        ),
    ),
    group="files",
)
dataset(
    "NpzDataset",
    "NumPy .npz archive: a features array and a targets array with one row per sample.",
    (
        P("path", "path", "", ".npz file (relative paths: from the project file's folder)"),
        P("features_key", "str", "x", "name of the features array in the archive"),
        P("targets_key", "str", "y", "name of the targets array in the archive"),
        P(
            "task",
            "choice",
            "auto",
            "auto: integer targets with few distinct values mean classification",
            choices=("auto", "classification", "regression"),
            tune=False,
        ),
    ),
    group="files",
    file_patterns=("*.npz",),
)

# -- preprocessing ---------------------------------------------------------------------------
preprocessing(
    "Clean",
    "Missing values, duplicates and outliers. Imputed values and clip limits come from the "
    "training split only.",
    (
        P(
            "missing",
            "choice",
            "mean",
            "rows with missing values: drop them, or fill numbers with the column's mean / "
            "median / most frequent value (text columns always use the most frequent)",
            choices=("drop", "mean", "median", "most_frequent"),
        ),
        P("drop_duplicates", "bool", False, "drop rows repeated exactly", tune=False),
        P(
            "clip_std",
            "float",
            0.0,
            "clip numeric values to median ± this many robust standard deviations "
            "(1.4826 × the median absolute deviation, else the interquartile range / 1.349; "
            "outliers cannot widen them), fitted on the training split (0: off)",
            min=0.0,
        ),
    ),
    group="tables",
)
preprocessing(
    "Split",
    "Splits into training, validation and test sets (seeded, stratified by class).",
    (
        P("val", "float", 0.15, "fraction for validation (0: none)", min=0.0, max=0.9),
        P("test", "float", 0.15, "fraction for the final test (0: none)", min=0.0, max=0.9),
        P("stratify", "bool", True, "keep class proportions equal in every split"),
        P("seed", "int", 0, f"seed of the shuffle (0 … {SEED_MAX})", min=0, max=SEED_MAX),
    ),
)
preprocessing(
    "Standardize",
    "Zero mean, unit variance per feature (or per image channel), fitted on the training split.",
    (
        P(
            "per",
            "choice",
            "feature",
            "feature: one mean/std per value; channel: one per image channel",
            choices=("feature", "channel"),
        ),
        P(
            "targets",
            "bool",
            False,
            "also standardize regression targets (predictions mapped back)",
        ),
    ),
    group="scaling",
)
preprocessing(
    "MinMaxScale",
    "Scales each feature to [min, max] using the training split's range.",
    (
        P("min", "float", 0.0, "lower end of the range"),
        P("max", "float", 1.0, "upper end of the range"),
    ),
    group="scaling",
)
preprocessing(
    "OneHot",
    "One column per category for categorical (text) columns; categories from the training split.",
    (P("columns", "strs", [], "columns to encode (empty: every text column)"),),
    group="tables",
)
preprocessing(
    "Augment",
    "Random image augmentation of training batches only (on the training device).",
    (
        P("hflip", "bool", True, "flip left-right with probability 1/2"),
        P("vflip", "bool", False, "flip upside-down with probability 1/2"),
        P("crop_padding", "int", 0, "pad by this many pixels, then crop at a random place", min=0),
        P("rotation", "float", 0.0, "rotate by a random angle up to ± this many degrees", min=0),
    ),
    group="images",
)
preprocessing(
    "Batch",
    "How the training split is cut into mini-batches.",
    (
        P("batch_size", "int", 64, "samples per batch", min=1, max=1_000_000),
        P("shuffle", "bool", True, "new random order every epoch"),
        P("drop_last", "bool", False, "skip a last, smaller batch"),
    ),
)

DATASET_TYPES = tuple(
    t
    for t in (
        "Iris",
        "Digits",
        "Wine",
        "BreastCancer",
        "Diabetes",
        "Moons",
        "Circles",
        "Blobs",
        "Regression",
        "CSVDataset",
        "ImageFolder",
        "NpzDataset",
    )
)
PREPROCESSING_TYPES = (
    "Clean",
    "Split",
    "Standardize",
    "MinMaxScale",
    "OneHot",
    "Augment",
    "Batch",
)
