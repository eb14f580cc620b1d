"""Loading each dataset node's raw data, cached for the engine.

The loaders themselves (scikit-learn's datasets and generators, CSV, images, .npz) are the
runtime's (``engine.runtime.sources``), which exported training scripts ship; this module
adds the engine's cache, keyed by the node's parameters and the file's stamp, so a live
check in the GUI never reads a file twice while it is unchanged.
"""

from __future__ import annotations

from typing import Any

from engine.memo import Memo, freeze
from engine.runtime.errors import DataError
from engine.runtime.sources import (
    IMAGE_EXTENSIONS,
    MAX_AUTO_CLASSES,
    Raw,
    file_stamp,
    load_csv,
    load_image,
    load_image_folder,
    load_npz,
    resolve_path,
    scan_image_folder,
)
from engine.runtime.sources import load_raw as _load

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_AUTO_CLASSES",
    "Raw",
    "file_stamp",
    "load",
    "load_csv",
    "load_image",
    "load_image_folder",
    "load_npz",
    "resolve_path",
    "scan_image_folder",
]

_cache: Memo[Raw] = Memo(16, remember=(DataError,))


def load(type_: str, params: dict[str, Any], path: str | None = None) -> Raw:
    """The raw dataset of a dataset node, cached by its parameters and the file's stamp."""
    key = (type_, freeze(params), path, file_stamp(path) if path else None)
    return _cache.get(key, lambda: _load(type_, params, path))
