"""Runtime of the dataset and preprocessing nodes (declared in ``engine.catalog.data``).

Submodules load on first use so that the catalog stays light to import.
"""

from engine.data.errors import DataError

__all__ = ["DataError", "DataInfo", "Prepared", "chain_of", "prepare"]


def __getattr__(name: str) -> object:
    if name in ("DataInfo", "Prepared", "chain_of", "prepare"):
        from engine.data import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'engine.data' has no attribute {name!r}")
