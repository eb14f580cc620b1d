"""Project files: versioned JSON, migrated on load, saved atomically.

Nothing in a project file is executed or unpickled: it is parsed as JSON and every
value is checked against the catalog's declarations.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine import catalog
from engine.errors import TorchwireError
from engine.graph import Graph, GraphError

FORMAT = "torchwire-project"
SCHEMA_VERSION = 1


class ProjectError(TorchwireError):
    """A project file that cannot be read; the message names the file and the problem."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        super().__init__(f"{path}: {problem}", file=path)
        self.path = str(path)
        self.problem = problem


# MIGRATIONS[n] turns a schema-n document into a schema-(n+1) one.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def _migrate_nodes(doc: dict[str, Any]) -> None:
    """Per node type: bring parameters saved by an older declaration up to date."""
    for nd in doc.get("nodes") or []:
        if not isinstance(nd, dict) or not catalog.has(str(nd.get("type"))):
            continue
        spec = catalog.get(str(nd["type"]))
        saved = int(nd.get("version", spec.version))
        if saved > spec.version:
            raise GraphError(
                f"node {nd.get('id')!r}: {spec.type} version {saved} is newer than this "
                f"Torchwire knows ({spec.version})"
            )
        if saved < spec.version and spec.migrate is not None:
            nd["params"] = spec.migrate(saved, dict(nd.get("params") or {}))


def project_to_dict(graph: Graph) -> dict[str, Any]:
    body = graph.to_dict()
    for nd in body["nodes"]:
        nd["version"] = catalog.get(nd["type"]).version
    return {"format": FORMAT, "version": SCHEMA_VERSION, **body}


def project_from_dict(doc: Any, path: str | os.PathLike[str] = "<project>") -> Graph:
    if not isinstance(doc, dict):
        raise ProjectError(path, "not a Torchwire project (the top level is not an object)")
    if doc.get("format") != FORMAT:
        raise ProjectError(path, f"not a Torchwire project (format is {doc.get('format')!r})")
    version = doc.get("version")
    if not isinstance(version, int) or version < 0:
        raise ProjectError(path, f"bad schema version {version!r}")
    if version > SCHEMA_VERSION:
        raise ProjectError(
            path,
            f"made by a newer Torchwire (schema version {version}; this one reads up to "
            f"{SCHEMA_VERSION}); please update Torchwire",
        )
    try:
        while version < SCHEMA_VERSION:
            doc = MIGRATIONS[version](doc)
            version += 1
            doc["version"] = version
        _migrate_nodes(doc)
        if not isinstance(doc.get("nodes", []), list) or not isinstance(doc.get("edges", []), list):
            raise GraphError("'nodes' and 'edges' must be lists")
        return Graph.from_dict(doc)
    except GraphError as e:
        raise ProjectError(path, str(e)) from None
    except (TypeError, ValueError, KeyError, IndexError) as e:
        raise ProjectError(path, f"malformed project ({type(e).__name__}: {e})") from None


def to_json(graph: Graph) -> str:
    return json.dumps(project_to_dict(graph), indent=2, ensure_ascii=False) + "\n"


def save_project(graph: Graph, path: str | os.PathLike[str]) -> None:
    """Write atomically: a temporary file in the same folder, fsynced, then renamed over."""
    path = Path(path)
    text = to_json(graph)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load_project(path: str | os.PathLike[str]) -> Graph:
    """Read a project file; any problem raises one ProjectError naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectError(path, "no such file") from None
    except IsADirectoryError:
        raise ProjectError(path, "is a folder, not a project file") from None
    except UnicodeDecodeError:
        raise ProjectError(path, "not a text file (not UTF-8)") from None
    except OSError as e:
        raise ProjectError(path, f"cannot be read ({e.strerror})") from None
    g = loads_project(text, path)
    g.path = str(Path(path).resolve())  # data nodes resolve relative paths from here
    return g


def loads_project(text: str, path: str | os.PathLike[str] = "<project>") -> Graph:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ProjectError(
            path, f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"
        ) from None
    g = project_from_dict(doc, path)
    return g
