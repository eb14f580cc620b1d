"""Block library files: blocks saved on their own, to reuse in any project.

A library is versioned JSON read with the project loader's strict rules (``engine.project``);
a project file's ``blocks`` section serves as a library too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable

from engine.errors import TorchwireError
from engine.fileio import atomic_write
from engine.graph import Graph
from engine.graph.blocks import (
    LIBRARY_FORMAT,
    LIBRARY_VERSION,
    BlockDef,
    BlockError,
    define,
    dependency_order,
    port_order,
)
from engine.graph.graph import defs_from_list
from engine.project.files import FORMAT, ProjectError, load_project, read_blocks_file


def save_library(path: str | os.PathLike[str], blocks: Iterable[Graph | BlockDef]) -> None:
    """Write blocks (graphs with ``exposed`` set, or registered definitions) to a library file.

    Versioned JSON, written atomically; the blocks each one uses are stored with it.
    """
    defs: dict[str, BlockDef] = {}
    for b in blocks:
        if isinstance(b, Graph):
            for dep in b.blocks.values():
                defs.setdefault(dep.name, dep)
            d = define(b, b.exposed, b.block_version)
        else:
            d = b
            for dep in d.graph.blocks.values():
                defs.setdefault(dep.name, dep)
        if d.name in defs and not defs[d.name].same_as(d):
            raise BlockError(f"{path}: two different blocks are named {d.name!r}")
        defs[d.name] = d
    doc = {
        "format": LIBRARY_FORMAT,
        "version": LIBRARY_VERSION,
        "blocks": [d.to_dict() for d in dependency_order(defs.values())],
    }
    atomic_write(path, json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def load_library(path: str | os.PathLike[str]) -> list[Graph]:
    """The blocks of a library file, as graphs ready for ``g.add_block(blk)``.

    Each graph carries its ``exposed`` map and ``block_version`` and has the blocks it uses
    registered. The file is read with the project loader's strict JSON rules; any problem
    raises ``ProjectError`` naming the file.
    """
    doc = read_blocks_file(path)
    if doc.get("format") != LIBRARY_FORMAT:
        raise ProjectError(path, f"not a Torchwire block library (format is {doc.get('format')!r})")
    v = doc.get("version")
    if not isinstance(v, int) or isinstance(v, bool) or v < 1 or v > LIBRARY_VERSION:
        raise ProjectError(path, f"block library version {v!r} is not one this Torchwire reads")
    try:
        items = defs_from_list(doc.get("blocks") or [])
    except TorchwireError as e:
        raise ProjectError(path, str(e)) from None
    out = []
    for d in items:
        g = d.graph.copy()
        g.exposed = d.expose
        g.block_version = d.version
        out.append(g)
    return out


def describe(blk: Graph) -> str:
    """One line about a block: name, version, inputs, parameters."""
    ins = [blk.nodes[i].name for i in port_order(blk, "Input")]
    params = ", ".join(blk.exposed) or "no parameters"
    return f"{blk.name} (version {blk.block_version}): inputs {', '.join(ins)}; {params}"


def blocks_of_file(path: str | os.PathLike[str]) -> list[Graph]:
    """The blocks of a library file, or of a project file's ``blocks`` section."""
    if read_blocks_file(path).get("format") != FORMAT:
        return load_library(path)
    g = load_project(path)
    out = []
    for d in dependency_order(g.blocks.values()):
        b = d.graph.copy()
        b.exposed, b.block_version = d.expose, d.version
        out.append(b)
    return out
