"""Runtime of the dataset and preprocessing nodes (declared in ``engine.catalog.data``):
loading sources and preparing a graph's data chain (``pipeline``)."""

from engine.data.errors import DataError
from engine.data.pipeline import DataInfo, Prepared, chain_of, prepare

__all__ = ["DataError", "DataInfo", "Prepared", "chain_of", "prepare"]
