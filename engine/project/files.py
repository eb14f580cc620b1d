"""Project files: versioned JSON, validated and migrated on load, saved atomically.

Nothing in a project file is executed or unpickled: it is parsed as strict JSON (no NaN or
Infinity, numbers that fit in 64 bits, bounded nesting, no duplicate keys), the type of every
section is checked, and then every value is checked against the catalog's declarations.

The loader has one boundary: whatever goes wrong while reading a project leaves it as one
``ProjectError`` naming the file, so the CLI and the designer catch nothing else. A failure
that the checks here did not foresee is still converted, but marked ``internal`` so tests
(the fuzz test) can tell a validation gap from a refused file.

Saving writes only what loading accepts: the same checks run on the document before it is
written (atomically, by ``engine.fileio.atomic_write``), so a saved file always loads back.
"""

from __future__ import annotations

import json
import math
import os
import re
import reprlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine import catalog
from engine.bulk import bulk
from engine.catalog import plugins
from engine.catalog.tuning import TuneError, check_tuning_settings
from engine.errors import TorchwireError
from engine.fileio import WriteError, atomic_write
from engine.graph import Graph, GraphError, check_lr_scale
from engine.graph.frames import FrameError, collapsed_from_list, frames_from_list

FORMAT = "torchwire-project"
# 2: nodes may carry "silenced" (lint id -> reason); see engine.analysis.lints
# 3: model nodes may carry "frozen" (true) and "lr_scale" (a number > 0); transfer learning
# 4: a top-level "blocks" section: block definitions (engine.graph.blocks), stored once
SCHEMA_VERSION = 4

MAX_DEPTH = 32  # a project needs about 6 levels; deeper is a broken or hostile file
INT_MIN, INT_MAX = -(2**63), 2**63 - 1  # what torch and every consumer can hold
MAX_COORD = 1e9  # canvas positions beyond this are nonsense (and overflow later maths)

# Keyword arguments of Graph.add: a parameter of that name could not be passed through it.
_RESERVED_PARAMS = ("type_name", "id", "name", "pos")


class ProjectError(TorchwireError):
    """A project file that cannot be read or written; the message names the file and why.

    ``internal`` is True when the problem was not caught by the loader's own checks but by
    its last-resort boundary: the file is still refused cleanly, but it means a check is
    missing somewhere (the fuzz test fails on it).
    """

    def __init__(
        self, path: str | os.PathLike[str], problem: str, *, internal: bool = False
    ) -> None:
        super().__init__(f"{path}: {problem}", file=path)
        self.path = str(path)
        self.problem = problem
        self.internal = internal


class _Bad(Exception):
    """A problem found by the checks below; becomes ProjectError once the file is known."""


# MIGRATIONS[n] turns a schema-n document into a schema-(n+1) one.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def _v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 2 only added the optional per-node "silenced"; a version-1 file has none."""
    for nd in doc.get("nodes") or []:
        if isinstance(nd, dict) and "silenced" in nd:
            raise _Bad(f"node {nd.get('id')!r}: 'silenced' needs schema version 2")
    return doc


def _v2_to_v3(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 3 only added the optional per-node "frozen" and "lr_scale"; a version-2 file
    has neither (every node trains, at the optimizer's rate), so it loads unchanged."""
    for nd in doc.get("nodes") or []:
        for key in ("frozen", "lr_scale"):
            if isinstance(nd, dict) and key in nd:
                raise _Bad(f"node {nd.get('id')!r}: {key!r} needs schema version 3")
    return doc


MIGRATIONS[1] = _v1_to_v2
MIGRATIONS[2] = _v2_to_v3


def _v3_to_v4(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 4 added the "blocks" section; an older file has none (an empty one)."""
    if doc.get("blocks"):
        raise _Bad("'blocks' needs schema version 4")
    doc["blocks"] = []
    return doc


MIGRATIONS[3] = _v3_to_v4
MAX_BLOCK_NAME = 200  # characters of a block's name
MAX_REASON = 2000  # characters of a silencing reason


# -- strict JSON ------------------------------------------------------------------------------
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlong = 40
_REPR.maxlist = _REPR.maxdict = 6
_REPR.maxlevel = 3


class _BadNumber:
    """A number the JSON parser met that no project may hold; reported with its place."""

    def __init__(self, text: str, why: str) -> None:
        self.text, self.why = text, why


class _DuplicateKeys(dict):  # type: ignore[type-arg]
    """An object with a key given twice (JSON keeps the last; a project must be unambiguous)."""

    duplicate: str = ""


def _parse_int(text: str) -> Any:
    # int() refuses over 4300 digits with ValueError; far earlier it is out of range anyway.
    if len(text.lstrip("-")) > 20:
        return _BadNumber(text, "is out of range")
    return int(text)


def _parse_float(text: str) -> Any:
    v = float(text)
    return v if math.isfinite(v) else _BadNumber(text, "is out of range")


def _parse_constant(text: str) -> Any:
    return _BadNumber(text, "is not allowed (JSON has no NaN or Infinity)")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) == len(pairs):
        return d
    out = _DuplicateKeys(d)
    seen: set[str] = set()
    for k, _ in pairs:
        if k in seen:
            out.duplicate = k
            break
        seen.add(k)
    return out


def _short(value: Any) -> str:
    """``repr`` of a value from a file, cut short (a file may hold megabytes in one value)."""
    return _REPR.repr(value)


def _kind(value: Any) -> str:
    """What a JSON value is, in the words of a message: 'a list', 'text', 'a number'..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {_short(value)}"
    if isinstance(value, str):
        return f"the text {_short(value)}"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _where(at: tuple[Any, ...] | None) -> str:
    parts: list[str] = []
    while at is not None:
        at, key = at
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    return "".join(reversed(parts)).lstrip(".") or "the top level"


_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(s: str) -> str:
    """``s`` with each high+low surrogate pair made the character it encodes (as JSON reads
    ``"\\ud83d\\ude00"``); lone surrogates stay, and are saved escaped (see ``to_json``)."""
    if _SURROGATE.search(s) is None:
        return str(s)
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _clean(value: Any, at: tuple[Any, ...] | None = None, depth: int = 0) -> Any:
    """A fresh plain copy of ``value`` (dicts, lists, text, numbers, bools, null) or _Bad.

    Numbers must be finite and fit in 64 bits, keys must be text, nesting is bounded: after
    this, nothing downstream meets a value that overflows, recurses away or is not JSON.
    """
    if depth > MAX_DEPTH:
        raise _Bad(f"at {_where(at)}: nested too deeply (more than {MAX_DEPTH} levels)")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise _Bad(f"at {_where(at)}: the whole number {_short(value)} is out of range")
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Bad(f"at {_where(at)}: {value} is not a finite number")
        return float(value)
    if isinstance(value, _BadNumber):
        text = (
            value.text
            if len(value.text) <= 40
            else f"{value.text[:20]}...({len(value.text)} characters)"
        )
        raise _Bad(f"at {_where(at)}: the number {text} {value.why}")
    if isinstance(value, dict):
        if isinstance(value, _DuplicateKeys):
            raise _Bad(f"at {_where(at)}: the key {value.duplicate!r} is given twice")
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise _Bad(f"at {_where(at)}: keys must be text, got {_short(k)}")
            out[_text(k)] = _clean(v, (at, k), depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [_clean(v, (at, i), depth + 1) for i, v in enumerate(value)]
    raise _Bad(f"at {_where(at)}: {type(value).__name__} is not a JSON value")


# -- the structure of a project -----------------------------------------------------------------
def _section(doc: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    value = doc.get(key)
    if value is None:
        return default
    if not isinstance(value, kind):
        want = {dict: "an object", list: "a list", str: "text"}[kind]
        raise _Bad(f"{key!r} must be {want}, got {_kind(value)}")
    return value


def _check_structure(doc: dict[str, Any]) -> dict[str, Any]:
    """Check the type of every section, node and edge; return the document, normalized.

    Missing optional parts get their defaults (so Graph.from_dict sees one shape); a part of
    the wrong type is refused rather than reset, so no data is silently dropped.
    """
    out = dict(doc)
    out["name"] = _section(doc, "name", str, "model")
    settings = out["settings"] = _section(doc, "settings", dict, {})
    training = settings.get("training")
    if training is not None and not isinstance(training, dict):
        raise _Bad(f"'settings.training' must be an object, got {_kind(training)}")
    if settings.get("tuning") is not None:
        try:
            check_tuning_settings(settings["tuning"])
        except TuneError as e:
            raise _Bad(str(e)) from None
    out["ui"] = _section(doc, "ui", dict, {})
    _check_body(doc, out)
    out["blocks"] = check_blocks_section(_section(doc, "blocks", list, []))
    ids = {nd["id"]: i for i, nd in enumerate(out["nodes"], 1)}
    try:  # view-only annotations, optional (engine.graph.frames)
        frames_from_list(doc.get("frames"))
        collapsed_from_list(doc.get("collapsed"), ids)
    except FrameError as e:
        raise _Bad(str(e)) from None
    return out


def _check_body(doc: dict[str, Any], out: dict[str, Any]) -> None:
    """The nodes and edges of a graph (the project's, or a block's), into ``out``."""
    nodes = out["nodes"] = _section(doc, "nodes", list, [])
    ids: dict[str, int] = {}
    for i, nd in enumerate(nodes, 1):
        _check_node(nd, i, ids)
    _check_plugins(doc)
    edges = out["edges"] = _section(doc, "edges", list, [])
    for i, ed in enumerate(edges, 1):
        if not isinstance(ed, dict):
            raise _Bad(f"edge #{i} must be an object, got {_kind(ed)}")
        keys = ("from", "from_port", "to", "to_port")
        if any(k not in ed for k in keys):
            raise _Bad(f"edge #{i} needs 'from', 'from_port', 'to' and 'to_port'")
        for k in keys:
            if not isinstance(ed[k], str):
                raise _Bad(f"edge #{i}: {k!r} must be text, got {_kind(ed[k])}")


def check_blocks_section(blocks: list[Any]) -> list[dict[str, Any]]:
    """The type of every part of a ``blocks`` list (project section or library file).

    Each block is ``{"name", "version", "expose", "graph"}``; its graph is checked like
    the project's own nodes and edges. What the blocks mean (ports, exposed parameters,
    blocks containing themselves) is checked when they are built (engine.graph.blocks).
    """
    out = []
    names: set[str] = set()
    for i, b in enumerate(blocks, 1):
        if not isinstance(b, dict):
            raise _Bad(f"block #{i} must be an object, got {_kind(b)}")
        name = b.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_BLOCK_NAME:
            raise _Bad(f"block #{i}: 'name' must be non-empty text, got {_kind(name)}")
        label = f"block {name!r}"
        if name in names:
            raise _Bad(f"{label} is defined twice")
        names.add(name)
        if catalog.has(name):
            raise _Bad(
                f"{label}: {name!r} is a node type of the catalog; a block needs its own name"
            )
        version = b.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise _Bad(f"{label}: bad 'version' {_short(version)}")
        expose = b.get("expose", {})
        if not isinstance(expose, dict):
            raise _Bad(f"{label}: 'expose' must be an object, got {_kind(expose)}")
        for k, refs in expose.items():
            if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
                raise _Bad(f"{label}: 'expose.{k}' must be a list of 'node.param' texts")
        body = b.get("graph")
        if not isinstance(body, dict):
            raise _Bad(f"{label}: 'graph' must be an object, got {_kind(body)}")
        graph: dict[str, Any] = {}
        try:
            _check_body(body, graph)
        except _Bad as e:
            raise _Bad(f"{label}: {e}") from None
        for k in ("settings", "ui"):
            if body.get(k) is not None and not isinstance(body[k], dict):
                raise _Bad(f"{label}: {k!r} must be an object, got {_kind(body[k])}")
        unknown = set(body) - {"name", "nodes", "edges", "settings", "ui"}
        if unknown:
            raise _Bad(f"{label}: the graph has unknown part(s) {', '.join(sorted(unknown))}")
        graph.update({k: body[k] for k in ("settings", "ui") if body.get(k)})
        out.append({"name": name, "version": version, "expose": expose, "graph": graph})
    return out


def _check_plugins(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The optional top-level "plugins": the plugin node types the project uses and where
    they come from (written by save; older Torchwires ignore it). Only read for messages:
    nothing in it is ever imported."""
    recorded = _section(doc, "plugins", list, [])
    for i, rec in enumerate(recorded, 1):
        if not isinstance(rec, dict) or not isinstance(rec.get("type"), str):
            raise _Bad(f"plugins #{i} must be an object with a 'type'")
        for k in ("module", "package", "version"):
            if rec.get(k) is not None and not isinstance(rec[k], str):
                raise _Bad(f"plugins #{i}: {k!r} must be text, got {_kind(rec[k])}")
    return recorded


def _require_plugins(doc: dict[str, Any]) -> None:
    """A project using plugin types that are not loaded: one error naming them all."""
    recorded = _check_plugins(doc)
    missing = list(dict.fromkeys(str(nd["type"]) for nd in doc["nodes"]))
    missing = [t for t in missing if not catalog.has(t)]
    if missing and {r["type"] for r in recorded} & set(missing):
        raise _Bad(plugins.missing_message(missing, recorded))


def _check_node(nd: Any, i: int, ids: dict[str, int]) -> None:
    if not isinstance(nd, dict):
        raise _Bad(f"node #{i} must be an object, got {_kind(nd)}")
    if "type" not in nd or "id" not in nd:
        raise _Bad(f"node #{i} needs an 'id' and a 'type'")
    nid = nd["id"]
    if not isinstance(nid, str) or not nid:
        raise _Bad(f"node #{i}: 'id' must be non-empty text, got {_kind(nid)}")
    label = f"node {nid!r}"
    if nid in ids:
        raise _Bad(f"{label}: node #{ids[nid]} has the same id")
    ids[nid] = i
    if not isinstance(nd["type"], str):
        raise _Bad(f"{label}: 'type' must be text, got {_kind(nd['type'])}")
    name = nd.get("name")
    if name is not None and not isinstance(name, str):
        raise _Bad(f"{label}: 'name' must be text, got {_kind(name)}")
    pos = nd.get("pos")
    if pos is not None:
        if (
            not isinstance(pos, list)
            or len(pos) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos)
        ):
            raise _Bad(f"{label}: 'pos' must be a list of two numbers, got {_short(pos)}")
        if not all(abs(v) <= MAX_COORD for v in pos):
            raise _Bad(f"{label}: 'pos' {_short(pos)} is out of range (±{MAX_COORD:g})")
    params = nd.get("params")
    if params is not None:
        if not isinstance(params, dict):
            raise _Bad(f"{label}: 'params' must be an object, got {_kind(params)}")
        declared = (
            {p.name for p in catalog.get(nd["type"]).params} if catalog.has(nd["type"]) else set()
        )
        for k in params:
            if k in _RESERVED_PARAMS and k not in declared:
                raise _Bad(f"{label}: {nd['type']} has no parameter {k!r}")
    silenced = nd.get("silenced")
    if silenced is not None:
        if not isinstance(silenced, dict):
            raise _Bad(f"{label}: 'silenced' must be an object, got {_kind(silenced)}")
        for lint_id, reason in silenced.items():
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", lint_id):
                raise _Bad(f"{label}: 'silenced' has a bad lint id {_short(lint_id)}")
            if not isinstance(reason, str) or len(reason) > MAX_REASON:
                raise _Bad(
                    f"{label}: the reason for silencing {lint_id} must be text of at most "
                    f"{MAX_REASON} characters, got {_kind(reason)}"
                )
    frozen = nd.get("frozen")
    if frozen is not None and not isinstance(frozen, bool):
        raise _Bad(f"{label}: 'frozen' must be true or false, got {_kind(frozen)}")
    scale = nd.get("lr_scale")
    if scale is not None:
        try:
            check_lr_scale(scale, label)
        except GraphError as e:
            raise _Bad(str(e)) from None
    version = nd.get("version")
    if version is not None and (
        not isinstance(version, int) or isinstance(version, bool) or version < 0
    ):
        raise _Bad(f"{label}: bad 'version' {_short(version)}")


def _migrate_nodes(doc: dict[str, Any]) -> None:
    """Per node type: bring parameters saved by an older declaration up to date.

    The nodes inside blocks too. An instance of a block records the block's version; one
    newer than the block's definition in the file is refused (a block is data: an older
    instance's parameters are checked against the block's exposed ones, as they are).
    """
    blocks = doc.get("blocks") or []
    versions = {b["name"]: b["version"] for b in blocks}
    for nodes in [doc.get("nodes") or [], *(b["graph"]["nodes"] for b in blocks)]:
        _migrate_list(nodes, versions)


def _migrate_list(nodes: list[Any], block_versions: dict[str, int]) -> None:
    for nd in nodes:
        t = str(nd.get("type")) if isinstance(nd, dict) else ""
        if t in block_versions:
            saved = nd.get("version")
            if saved is not None and int(saved) > block_versions[t]:
                raise GraphError(
                    f"node {nd.get('id')!r}: block {t} version {saved} is newer than the "
                    f"block's definition in this file ({block_versions[t]})"
                )
            continue
        if not isinstance(nd, dict) or not catalog.has(t):
            continue
        spec = catalog.get(str(nd["type"]))
        saved = nd.get("version")
        saved = spec.version if saved is None else int(saved)
        if saved > spec.version:
            raise GraphError(
                f"node {nd.get('id')!r}: {spec.type} version {saved} is newer than this "
                f"Torchwire knows ({spec.version})"
            )
        if saved < spec.version and spec.migrate is not None:
            nd["params"] = spec.migrate(saved, dict(nd.get("params") or {}))


def _check_header(doc: Any) -> int:
    if not isinstance(doc, dict):
        raise _Bad("not a Torchwire project (the top level is not an object)")
    if doc.get("format") != FORMAT:
        if "format" not in doc:
            # plain words: a JSON file of something else, not "format is None" (#16 item 20)
            raise _Bad(f'not a Torchwire project (no "format": "{FORMAT}" in it)')
        raise _Bad(f"not a Torchwire project (format is {_short(doc.get('format'))})")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise _Bad(f"bad schema version {_short(version)}")
    if version > SCHEMA_VERSION:
        raise _Bad(
            f"made by a newer Torchwire (schema version {version}; this one reads up to "
            f"{SCHEMA_VERSION}); please update Torchwire"
        )
    return version


# -- reading --------------------------------------------------------------------------------------
def project_to_dict(graph: Graph) -> dict[str, Any]:
    """The project document of ``graph`` (not validated; ``to_json`` validates)."""
    body = graph.to_dict()
    blocks = body.pop("blocks", [])
    versions = {b["name"]: b["version"] for b in blocks}
    for nodes in [body["nodes"], *(b["graph"]["nodes"] for b in blocks)]:
        for nd in nodes:
            t = nd["type"]
            nd["version"] = versions[t] if t in versions else catalog.get(t).version
    types = [nd["type"] for nd in body["nodes"]]
    types += [nd["type"] for b in blocks for nd in b["graph"]["nodes"]]
    used = plugins.records(types)
    return {
        "format": FORMAT,
        "version": SCHEMA_VERSION,
        **body,
        "blocks": blocks,
        **({"plugins": used} if used else {}),
    }


def project_from_dict(doc: Any, path: str | os.PathLike[str] = "<project>") -> Graph:
    """Build the Graph of a parsed project document; any problem raises one ProjectError.

    ``doc`` is not modified (it is validated into a fresh copy first).
    """
    try:
        return _build(doc)
    except ProjectError:
        raise
    except _Bad as e:
        raise ProjectError(path, str(e)) from None
    except TorchwireError as e:  # GraphError, ParamError...: the file's problem, said as such
        raise ProjectError(path, str(e)) from None
    except RecursionError:
        raise ProjectError(path, f"nested too deeply (more than {MAX_DEPTH} levels)") from None
    except Exception as e:  # the one boundary: never anything but ProjectError
        raise ProjectError(
            path, f"malformed project ({type(e).__name__}: {e})", internal=True
        ) from e


def _build(doc: Any) -> Graph:
    doc = _clean(doc)
    version = _check_header(doc)
    while version < SCHEMA_VERSION:
        doc = MIGRATIONS[version](doc)
        version += 1
        doc["version"] = version
    doc = _check_structure(_clean(doc))
    _require_plugins(doc)
    _migrate_nodes(doc)
    return Graph.from_dict(doc)


def load_project(path: str | os.PathLike[str]) -> Graph:
    """Read a project file; any problem raises one ProjectError naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a BOM from some editors is fine
    except FileNotFoundError:
        raise ProjectError(path, "no such file") from None
    except IsADirectoryError:
        raise ProjectError(path, "is a folder, not a project file") from None
    except UnicodeDecodeError:
        raise ProjectError(path, "not a text file (not UTF-8)") from None
    except OSError as e:
        raise ProjectError(path, f"cannot be read ({e.strerror or e})") from None
    except (ValueError, MemoryError) as e:  # e.g. a NUL in the path
        raise ProjectError(path, f"cannot be read ({type(e).__name__}: {e})") from None
    g = loads_project(text, path)
    g.source_path = str(Path(path).resolve())  # data paths resolve from here
    return g


def loads_project(text: str | bytes, path: str | os.PathLike[str] = "<project>") -> Graph:
    """Parse project text (strict JSON); any problem raises one ProjectError naming ``path``."""
    with bulk():
        return _loads_project(text, path)


def _loads_project(text: str | bytes, path: str | os.PathLike[str]) -> Graph:
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ProjectError(path, "not a text file (not UTF-8)") from None
    if not isinstance(text, str):
        raise ProjectError(path, f"not project text ({type(text).__name__})")
    return project_from_dict(_parse(text, path), path)


def _parse(text: str, path: str | os.PathLike[str]) -> Any:
    """Strict JSON (see the module docstring); any problem raises ProjectError."""
    try:
        doc = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
            object_pairs_hook=_object,
        )
    except json.JSONDecodeError as e:
        raise ProjectError(
            path, f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"
        ) from None
    except RecursionError:
        raise ProjectError(
            path, f"not valid JSON (nested too deeply; a project needs at most {MAX_DEPTH})"
        ) from None
    except Exception as e:  # the parser's hooks are ours; anything else is a bug, said cleanly
        raise ProjectError(path, f"not valid JSON ({type(e).__name__}: {e})", internal=True) from e
    return doc


def read_blocks_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A block library file (engine.graph.blocks), parsed and checked as strictly as a project:
    the document with its ``blocks`` list checked; any problem raises ProjectError."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ProjectError(path, "no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ProjectError(path, f"cannot be read ({type(e).__name__}: {e})") from None
    try:
        doc = _clean(_parse(text, path))
        if not isinstance(doc, dict):
            raise _Bad("not a Torchwire block library (the top level is not an object)")
        doc["blocks"] = check_blocks_section(_section(doc, "blocks", list, []))
    except _Bad as e:
        raise ProjectError(path, str(e)) from None
    return doc


# -- writing --------------------------------------------------------------------------------------


def to_json(graph: Graph, path: str | os.PathLike[str] = "<project>") -> str:
    """The project text of ``graph``: only what ``loads_project`` accepts, or ProjectError.

    Text holding lone surrogates (which UTF-8 cannot encode) is written with JSON's
    ``\\udXXX`` escapes for those characters only, so the file is valid UTF-8 and reads back
    the same string. (JSON reads an escaped high surrogate followed by a low one as the
    character they pair to, so such a pair is saved as that character, as loading does.)
    """
    try:
        doc = _clean(project_to_dict(graph))
        _check_header(doc)
        _check_structure(doc)
        text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except _Bad as e:
        raise ProjectError(path, f"cannot be saved: {e}") from None
    except TorchwireError as e:
        raise ProjectError(path, f"cannot be saved: {e}") from None
    except Exception as e:  # a graph edited into something no file can hold
        raise ProjectError(path, f"cannot be saved ({type(e).__name__}: {e})", internal=True) from e
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def save_project(graph: Graph, path: str | os.PathLike[str]) -> None:
    """Write atomically (``engine.fileio.atomic_write``): the old file or the whole new one.

    Raises ProjectError when the graph holds something a project file cannot (then nothing
    is written) and WriteError (an OSError) when the file cannot be written; both name it.
    """
    text = to_json(graph, path)
    try:
        atomic_write(path, text)
    except TorchwireError:
        raise
    except (OSError, ValueError) as e:  # e.g. a NUL in the name: no file system takes it
        raise WriteError(f"cannot write {path} ({e})", file=path) from e


def rebased_paths(
    graph: Graph, old_dir: str | os.PathLike[str], new_dir: str | os.PathLike[str]
) -> dict[str, dict[str, str]]:
    """Saving a project from ``old_dir`` into ``new_dir``: the new values of its relative
    file paths, per node id, so they keep pointing at the same files.

    Relative paths resolve from the project file's folder. Absolute paths, empty ones and
    paths to files that do not exist are left as they are (nothing to keep pointing at);
    a file on another drive gets its absolute path.
    """
    old, new_base = Path(old_dir), Path(new_dir)
    out: dict[str, dict[str, str]] = {}
    for node in graph:
        for p in node.spec.params:
            v = node.params.get(p.name)
            if p.type != "path" or not v:
                continue
            try:
                if Path(v).expanduser().is_absolute():
                    continue
                src = (old / v).resolve()
                if not src.exists():
                    continue
            except (OSError, ValueError, RuntimeError):  # a name no file system takes
                continue
            try:
                moved = os.path.relpath(src, new_base)
            except ValueError:  # another drive (Windows)
                moved = str(src)
            if moved != v:
                out.setdefault(node.id, {})[p.name] = moved
    return out
