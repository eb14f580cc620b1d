"""Loading each dataset node's raw data: sklearn's datasets and generators, CSV, images, .npz.

Raw tables stay pandas DataFrames (numbers as float64 with NaN for missing, categories as
text) until the end of the pipeline, so cleaning and one-hot encoding see column names.

Part of the runtime: an exported training script loads data exactly as the engine does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError
from .lazy import pd

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")

MAX_AUTO_CLASSES = 20


@dataclass(frozen=True)
class InfiniteCells:
    """The cells of one CSV column that parse as infinite (``1e400``, ``inf``), kept so
    that the data chain can name them: refused where nothing clips them, noted where
    Clean's clip_std does (a model cannot train on infinity, and a silent clip hides a
    typo or an overflow in the file)."""

    column: str
    rows: tuple[int, ...]  # the file's data rows (0-based) holding such a cell
    first: str  # the first such cell, as written
    header: bool

    @property
    def where(self) -> str:
        """``row 4 (line 5): '1e400'``: the first cell, as the user finds it in the file."""
        r = self.rows[0]
        return f"row {r + 1} (line {_line_of(r, self.header)}): {self.first!r}"


@dataclass
class Raw:
    """A dataset as loaded: ``x`` is a DataFrame (tables), an array, or image paths (files)."""

    x: Any
    y: np.ndarray
    task: str
    class_names: list[str]
    kind: str  # "table" | "array" | "files"
    source: str
    target_name: str = "target"
    feature_shape: tuple[int, ...] | None = None  # for arrays and images
    notes: list[str] = field(default_factory=list)
    image: dict[str, Any] | None = None  # size, grayscale, num_workers for "files"
    infinite: list[InfiniteCells] = field(default_factory=list)  # CSV cells read as ±inf


def _table(x: np.ndarray, names: list[str]) -> pd.DataFrame:
    return pd.DataFrame(np.asarray(x, dtype=np.float64), columns=[str(n) for n in names])


# scikit-learn's bundled datasets, kept as plain arrays (.npz, read without pickle) in the
# user's cache folder: importing scikit-learn costs seconds, and the designer's first check
# of a project needs only these arrays. Keyed by scikit-learn's version; any problem with
# the cache falls back to scikit-learn itself.
TOY_CACHE_ENV = "TORCHWIRE_CACHE_DIR"


def _toy_cache_path(name: str) -> Path | None:
    try:
        from importlib.metadata import version

        ver = version("scikit-learn")
    except Exception:
        return None
    base = os.environ.get(TOY_CACHE_ENV)
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        base = str(Path(xdg) / "torchwire")
    return Path(base) / "datasets" / f"{name}-sklearn-{ver}.npz"


def _sklearn(name: str) -> Raw:
    path = _toy_cache_path(name)
    if path is not None:
        try:
            with np.load(path, allow_pickle=False) as z:
                x, y = z["x"], z["y"]
                meta = [str(v) for v in z["meta"]]  # task, kind, target name, shape
                classes = [str(v) for v in z["classes"]]
                columns = [str(v) for v in z["columns"]]
            task, kind, target, shape = meta
            if len(x) != len(y) or kind not in ("table", "array"):
                raise ValueError("inconsistent cache")
            return Raw(
                _table(x, columns) if kind == "table" else x,
                y,
                task,
                classes,
                kind,
                name,
                target,
                feature_shape=tuple(int(v) for v in shape.split()) if shape else None,
            )
        except (OSError, ValueError, KeyError):
            pass
    raw = _sklearn_load(name)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.stem}.{os.getpid()}.npz")
            table = raw.kind == "table"
            np.savez(
                tmp,
                x=np.asarray(raw.x, dtype=np.float64 if table else np.float32),
                y=raw.y,
                meta=np.array(
                    [
                        raw.task,
                        raw.kind,
                        raw.target_name,
                        " ".join(map(str, raw.feature_shape or ())),
                    ]
                ),
                classes=np.array(raw.class_names, dtype=str),
                columns=np.array([str(c) for c in raw.x.columns] if table else [], dtype=str),
            )
            os.replace(tmp, path)
        except OSError:
            pass
    return raw


def _sklearn_load(name: str) -> Raw:
    from sklearn import datasets as ds

    loader = {
        "Iris": ds.load_iris,
        "Digits": ds.load_digits,
        "Wine": ds.load_wine,
        "BreastCancer": ds.load_breast_cancer,
        "Diabetes": ds.load_diabetes,
    }[name]
    b = loader()
    if name == "Diabetes":
        return Raw(
            _table(b.data, list(b.feature_names)),
            np.asarray(b.target, dtype=np.float32),
            "regression",
            [],
            "table",
            name,
            "progression",
        )
    if name == "Digits":
        x = np.asarray(b.images, dtype=np.float32)[:, None, :, :]
        return Raw(
            x,
            np.asarray(b.target, dtype=np.int64),
            "classification",
            [str(c) for c in b.target_names],
            "array",
            name,
            "digit",
            feature_shape=(1, 8, 8),
        )
    return Raw(
        _table(b.data, list(b.feature_names)),
        np.asarray(b.target, dtype=np.int64),
        "classification",
        [str(c) for c in b.target_names],
        "table",
        name,
        "class",
    )


def _generator(type_: str, p: dict[str, Any]) -> Raw:
    # Self-contained: the exported training script copies this function verbatim.
    from sklearn import datasets as ds

    n, seed = p["n_samples"], p["random_state"]
    # scikit-learn takes seeds 0 … 2**32 - 1; say so here rather than in its words.
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise DataError(
            f"{type_}: random_state must be a whole number from 0 to {2**32 - 1}, got {seed!r}"
        )
    seed = int(seed)
    try:
        if type_ == "Moons":
            x, y = ds.make_moons(n, noise=p["noise"], random_state=seed)
            return _generated(x, y, type_, 2)
        if type_ == "Circles":
            x, y = ds.make_circles(n, noise=p["noise"], factor=p["factor"], random_state=seed)
            return _generated(x, y, type_, 2)
        if type_ == "Blobs":
            x, y = ds.make_blobs(
                n,
                n_features=p["n_features"],
                centers=p["centers"],
                cluster_std=p["cluster_std"],
                random_state=seed,
            )
            return _generated(x, y, type_, p["centers"])
        x, y = ds.make_regression(
            n,
            n_features=p["n_features"],
            n_informative=min(p["n_informative"], p["n_features"]),
            n_targets=p["n_targets"],
            noise=p["noise"],
            random_state=seed,
        )
    except ValueError as e:  # a parameter scikit-learn refuses (its InvalidParameterError)
        raise DataError(f"{type_}: {e}") from None
    y = np.asarray(y, dtype=np.float32)
    return Raw(_table(x, [f"x{i}" for i in range(x.shape[1])]), y, "regression", [], "table", type_)


def _generated(x: np.ndarray, y: np.ndarray, name: str, n_classes: int) -> Raw:
    names = [f"x{i}" for i in range(x.shape[1])]
    return Raw(
        _table(x, names),
        np.asarray(y, dtype=np.int64),
        "classification",
        [str(i) for i in range(n_classes)],
        "table",
        name,
    )


# -- CSV -----------------------------------------------------------------------------------
def _line_of(row: int, header: bool) -> int:
    return row + (2 if header else 1)


def numeric_column(col: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The column as numbers, and a mask of present values that are not numbers."""
    present = col.notna() & (col.astype(str).str.strip() != "")
    num = pd.to_numeric(col.where(present), errors="coerce")
    bad = present & num.isna()
    return num, bad


def bad_value_error(
    path: str, name: str, col: pd.Series, bad: pd.Series, header: bool
) -> DataError:
    """The error for the first non-number in ``col``: file, column, row and line, so the
    user can find the cell (the data pipeline reads CSVs for inference with it too)."""
    i = int(np.flatnonzero(bad.to_numpy())[0])
    return DataError(
        f"{path}: column {name!r}, row {i + 1} (line {_line_of(i, header)}): "
        f"{col.iloc[i]!r} is not a number"
    )


# Old names, still imported by engine.data.pipeline.


def load_csv(p: dict[str, Any], path: str) -> Raw:
    """Read a CSV; every problem names the file and, where there is one, the column and row."""
    if not p["target"]:
        raise DataError(f"{path}: choose the target column (the column to predict)")
    df = _read_csv_text(p, path)
    target, features = _csv_columns(p, path, list(df.columns))
    header = p["header"]
    notes: list[str] = []
    ycol = df[target]
    missing_y = ycol.isna() | (ycol.astype(str).str.strip() == "")
    if missing_y.all():
        raise DataError(f"{path}: column {target!r} (the target) has no values")
    if missing_y.any():
        notes.append(f"{int(missing_y.sum())} rows without a target value were left out")
    keep = ~missing_y.to_numpy()
    y, task, class_names = _csv_target(p["task"], path, target, ycol, keep, header)
    out = _csv_features(p, path, df, features, header)
    x = pd.DataFrame(out, columns=features)[keep].reset_index(drop=True)
    infinite = _infinite_cells(df, out, keep, header)
    return Raw(x, y, task, class_names, "table", path, target, notes=notes, infinite=infinite)


def _infinite_cells(
    df: pd.DataFrame, out: dict[str, Any], keep: np.ndarray, header: bool
) -> list[InfiniteCells]:
    """Per numeric column, the kept rows whose cell parsed as ±inf, with the first cell."""
    found = []
    for name, col in out.items():
        if not pd.api.types.is_float_dtype(col):
            continue
        rows = np.flatnonzero(np.isinf(col.to_numpy(dtype=np.float64)) & keep)
        if len(rows):
            first = str(df[name].iloc[int(rows[0])]).strip()
            found.append(InfiniteCells(name, tuple(int(r) for r in rows), first, header))
    return found


def _read_csv_text(p: dict[str, Any], path: str) -> pd.DataFrame:
    """The file as text cells with stripped column names; unreadable files are refused."""
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a folder, not a CSV file")
    try:
        df = pd.read_csv(
            path,
            sep=p["delimiter"] or ",",
            header=0 if p["header"] else None,
            dtype=str,
            keep_default_na=True,
            skipinitialspace=True,
            engine="python" if len(p["delimiter"] or ",") > 1 else "c",
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file (not UTF-8)") from None
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror or e})") from None
    except Exception as e:  # pandas' ParserError, the csv module's errors, ...
        last = (str(e).strip().splitlines() or [type(e).__name__])[-1]
        raise DataError(f"{path}: not a readable CSV ({last})") from None
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) == 0:
        raise DataError(f"{path}: no data rows (only a header)")
    return df


def _csv_columns(p: dict[str, Any], path: str, cols: list[str]) -> tuple[str, list[str]]:
    """The target column and the feature columns, each checked to be in the file."""
    target = p["target"].strip()
    if target not in cols:
        shown = ", ".join(repr(c) for c in cols[:20]) + (" …" if len(cols) > 20 else "")
        raise DataError(f"{path}: no column {target!r} for the target (columns: {shown})")
    features = [f.strip() for f in p["features"]] or [c for c in cols if c != target]
    for f in features:
        if f not in cols:
            raise DataError(f"{path}: no feature column {f!r} (columns: {', '.join(cols)})")
    if target in features:
        raise DataError(f"{path}: column {target!r} is both the target and a feature")
    if not features:
        raise DataError(f"{path}: no feature columns besides the target {target!r}")
    return target, features


def _csv_target(
    task: str, path: str, target: str, ycol: pd.Series, keep: np.ndarray, header: bool
) -> tuple[np.ndarray, str, list[str]]:
    """The target of the kept rows, the task (``auto`` decided from the values) and the
    class names (sorted; numeric labels named as written)."""
    ynum, ybad = numeric_column(ycol)
    if task == "auto":
        if ybad.any():
            task = "classification"
        else:
            vals = ynum[keep].to_numpy()
            whole = np.all(np.mod(vals, 1) == 0)
            task = (
                "classification"
                if whole and len(np.unique(vals)) <= MAX_AUTO_CLASSES
                else "regression"
            )
    if task == "regression":
        if ybad.any():
            raise bad_value_error(path, target, ycol, ybad, header)
        y = ynum.to_numpy(dtype=np.float32)[keep]
        class_names: list[str] = []
    else:
        if ybad.any():
            labels = ycol.astype(str).str.strip().to_numpy()[keep]
            class_names = sorted(set(labels.tolist()))
        else:
            nums = ynum.to_numpy()[keep]
            uniq = sorted(set(nums.tolist()))
            labels = nums
            class_names = [_num_name(v) for v in uniq]
            labels = np.array([_num_name(v) for v in nums], dtype=object)
        index = {c: i for i, c in enumerate(class_names)}
        y = np.array([index[str(v)] for v in labels], dtype=np.int64)
    return y, task, class_names


def _csv_features(
    p: dict[str, Any], path: str, df: pd.DataFrame, features: list[str], header: bool
) -> dict[str, Any]:
    """Each feature column as numbers, or as stripped text when it is categorical (or
    mostly non-numeric); a stray non-number in a numeric column is refused."""
    categorical = {c.strip() for c in p["categorical"]}
    for c in categorical:
        if c not in features:
            raise DataError(f"{path}: categorical column {c!r} is not among the features")
    out: dict[str, Any] = {}
    for name in features:
        col = df[name]
        if name in categorical:
            out[name] = (
                col.astype(object)
                .where(col.notna(), None)
                .map(lambda v: v.strip() if isinstance(v, str) else v)
            )
            continue
        num, bad = numeric_column(col)
        present = int((col.notna() & (col.astype(str).str.strip() != "")).sum())
        if not bad.any():
            out[name] = num.astype(np.float64)
        elif present and bad.sum() > present / 2:
            out[name] = (
                col.astype(object)
                .where(col.notna(), None)
                .map(lambda v: v.strip() if isinstance(v, str) else v)
            )
        else:
            raise bad_value_error(path, name, col, bad, header)
    return out


def _num_name(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


# -- .npz ------------------------------------------------------------------------------------
def load_npz(p: dict[str, Any], path: str) -> Raw:
    """Read an .npz archive; every problem is a DataError naming the file.

    Never with ``allow_pickle``: a pickle runs code when loaded, so object arrays are refused,
    and numpy's advice to load them unsafely is not passed on. Self-contained: the exported
    training script copies this function verbatim.
    """
    pickled = (
        f"{path} is not a valid array file (it holds pickled Python objects, which Torchwire "
        "never loads)"
    )
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a folder, not an .npz file")
    try:
        with open(path, "rb") as f:
            head = f.read(6)
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror or e})") from None
    if not head:
        raise DataError(f"{path}: the file is empty")
    if head.startswith(b"\x93NUMPY"):
        raise DataError(
            f"{path}: a single .npy array, not an .npz archive of features and targets "
            "(save both with numpy.savez)"
        )
    if head[:1] == b"\x80":
        raise DataError(pickled)
    if not head.startswith(b"PK"):
        raise DataError(f"{path}: not an .npz archive (numpy.savez writes them)")
    fk, tk = p["features_key"], p["targets_key"]
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.keys())
            for k in (fk, tk):
                if k not in keys:
                    shown = ", ".join(repr(n) for n in keys) or "none"
                    raise DataError(f"{path}: no array {k!r} (arrays: {shown})")
            x = np.asarray(z[fk])
            y = np.asarray(z[tk])
    except DataError:
        raise
    except Exception as e:
        if "pickle" in str(e):  # numpy: "Object arrays cannot be loaded when allow_pickle=False"
            raise DataError(pickled) from None
        raise DataError(f"{path}: not a readable .npz archive (corrupt or truncated)") from None
    for k, a in ((fk, x), (tk, y)):
        if a.dtype.kind in "OV":
            raise DataError(pickled if a.dtype.kind == "O" else f"{path}: {k!r} is not numeric")
    if x.dtype.kind not in "biuf":
        raise DataError(f"{path}: {fk!r} must hold real numbers, got {x.dtype}")
    if y.ndim == 0:
        raise DataError(f"{path}: {tk!r} must hold one target per sample, got a single value")
    if x.ndim < 2:
        raise DataError(
            f"{path}: {p['features_key']!r} must have one row per sample and at least one "
            f"feature, got shape {x.shape}"
        )
    if len(x) != len(y):
        raise DataError(
            f"{path}: {len(x)} feature rows but {len(y)} targets ({p['features_key']!r}, "
            f"{p['targets_key']!r})"
        )
    if len(x) == 0:
        raise DataError(f"{path}: the arrays are empty")
    task = p["task"]
    integral = np.issubdtype(y.dtype, np.integer) or y.dtype == bool
    if y.dtype.kind in "US":
        integral = False
    if task == "auto":
        task = (
            "classification"
            if y.dtype.kind in "USb"
            or (integral and y.ndim == 1 and len(np.unique(y)) <= MAX_AUTO_CLASSES)
            else "regression"
        )
    if task == "classification":
        if y.ndim != 1:
            raise DataError(f"{path}: class labels must be one per sample, got shape {y.shape}")
        uniq = np.unique(y)
        class_names = [str(v) for v in uniq.tolist()]
        yi = np.searchsorted(uniq, y).astype(np.int64)
    else:
        if y.dtype.kind not in "biuf":
            raise DataError(f"{path}: regression targets must be real numbers, got {y.dtype}")
        class_names, yi = [], y.astype(np.float32)
    xf = x.astype(np.float32)
    if x.ndim == 2:
        return Raw(
            _table(xf, [f"x{i}" for i in range(x.shape[1])]),
            yi,
            task,
            class_names,
            "table",
            path,
        )
    return Raw(xf, yi, task, class_names, "array", path, feature_shape=tuple(x.shape[1:]))


# -- image folders ---------------------------------------------------------------------------
def scan_image_folder(path: str) -> tuple[list[str], list[int], list[str]]:
    """Files and labels of a folder holding one subfolder per class."""
    if not os.path.isdir(path):
        raise DataError(f"{path}: no such folder")
    classes = sorted(d.name for d in os.scandir(path) if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataError(f"{path}: no class subfolders (expected {path}/<class>/<image>)")
    files: list[str] = []
    labels: list[int] = []
    for i, c in enumerate(classes):
        for root, _dirs, names in os.walk(os.path.join(path, c)):
            for n in sorted(names):
                if n.lower().endswith(IMAGE_EXTENSIONS):
                    files.append(os.path.join(root, n))
                    labels.append(i)
    if not files:
        raise DataError(f"{path}: the class subfolders hold no images ({', '.join(classes)})")
    return files, labels, classes


def load_image(path: str, size: tuple[int, int], grayscale: bool) -> np.ndarray:
    """One image as float32 (C, H, W) in [0, 1]."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("L" if grayscale else "RGB")
            im = im.resize((size[1], size[0]), Image.BILINEAR)
            a = np.asarray(im, dtype=np.float32) / 255.0
    except Exception as e:
        raise DataError(f"{path}: not a readable image ({e})") from None
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def load_image_folder(p: dict[str, Any], path: str) -> Raw:
    files, labels, classes = scan_image_folder(path)
    size = p["size"] if isinstance(p["size"], list) else [p["size"], p["size"]]
    c = 1 if p["grayscale"] else 3
    return Raw(
        np.array(files, dtype=object),
        np.array(labels, dtype=np.int64),
        "classification",
        classes,
        "files",
        path,
        "class",
        feature_shape=(c, int(size[0]), int(size[1])),
        image={
            "size": [int(size[0]), int(size[1])],
            "grayscale": p["grayscale"],
            "num_workers": p["num_workers"],
        },
    )


def file_stamp(path: str) -> Any:
    """What changes when a file (or an image folder) changes, cheaply."""
    try:
        st = os.stat(path)
    except (OSError, ValueError, UnicodeError):  # missing, too long, NUL, unencodable
        return None
    return (st.st_mtime_ns, st.st_size)


def resolve_path(value: str, base_dir: str | None) -> str:
    """A dataset path as given, or relative to the project's folder when it is there.

    Text no file system can name (a NUL, a lone surrogate) is a ``DataError``; a path too
    long to exist simply does not exist, and reading it says so.
    """
    if not value:
        return value
    try:
        os.fsencode(value)
    except UnicodeError:
        raise DataError(
            f"{value!r} is not a usable file name (it holds unencodable text)"
        ) from None
    if "\x00" in value:
        raise DataError(f"{value!r} is not a usable file name (it holds a NUL character)")
    p = Path(os.path.expanduser(value))
    if p.is_absolute():
        return str(p)
    if base_dir:
        cand = Path(base_dir) / p
        if _exists(cand) or not _exists(p):
            return str(cand)
    return str(p)


def _exists(p: Path) -> bool:
    try:
        return p.exists()
    except (OSError, ValueError):  # e.g. a name longer than the file system allows
        return False


def load_raw(type_: str, p: dict[str, Any], path: str | None = None) -> Raw:
    """The raw dataset of a dataset node (uncached; the engine caches it)."""
    if type_ in ("Iris", "Digits", "Wine", "BreastCancer", "Diabetes"):
        return _sklearn(type_)
    if type_ in ("Moons", "Circles", "Blobs", "Regression"):
        return _generator(type_, p)
    if not path:
        raise DataError(f"{type_}: choose a {'folder' if type_ == 'ImageFolder' else 'file'}")
    if type_ == "CSVDataset":
        return load_csv(p, path)
    if type_ == "NpzDataset":
        return load_npz(p, path)
    if type_ == "ImageFolder":
        return load_image_folder(p, path)
    raise DataError(f"unknown dataset type {type_!r}")
