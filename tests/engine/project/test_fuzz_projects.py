"""Fuzz the project loader, the check and code generation with broken bundled examples.

The contract under test: for *any* text, ``loads_project`` then ``engine.analysis.check.check`` (then
``engine.build.compile.generate_source`` when the check is ok; generated, never executed) raise
nothing but ``TorchwireError`` subclasses, and the loader's last-resort boundary (a
ProjectError marked ``internal``) is never what caught a problem. Every graph that loads
also saves (or is refused with ProjectError) and reads back equal.

A seeded mutator of our own damages each bundled example thousands of times, over the
parsed JSON (delete keys, change types, huge, negative and non-finite numbers, deep
nesting, other node types, random unicode, duplicate ids, dangling edges, cycles, bad ports,
settings of the wrong type) and over the raw text (truncation, stray characters, numbers
past every limit, escapes). A hypothesis test adds projects built from scratch.

Every escape is collected (one example per distinct place it was raised) and the test
fails listing them with a reproducer: ``FUZZ_ONLY=<example>#<case>`` reruns one case,
``FUZZ_SAVE=<folder>`` writes each escaping input there, ``FUZZ_CASES`` and ``FUZZ_SEED``
change how many cases run and which. ``FUZZ_SECONDS`` bounds each example's time.
"""

from __future__ import annotations

import copy
import json
import os
import random
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import catalog
from engine.analysis.check import check
from engine.build.compile import generate_source
from engine.errors import TorchwireError
from engine.graph import Graph
from engine.project import ProjectError, loads_project, to_json
from tests.support.paths import ROOT

EXAMPLES_DIR = ROOT / "resources" / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.json"))
CASES = int(os.environ.get("FUZZ_CASES", "400"))  # per example: 8 examples, 3,200 cases
SEED = os.environ.get("FUZZ_SEED", "torchwire")
SECONDS = float(os.environ.get("FUZZ_SECONDS", "25"))  # per example, a guard for slow CI
ONLY = os.environ.get("FUZZ_ONLY", "")
SAVE = os.environ.get("FUZZ_SAVE", "")

TYPES = sorted(s.type for s in catalog.all_specs())

# -- values that broke, or could break, something ---------------------------------------------
NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\ud83d\ude00",
    "😀" * 3,
    "\u202eevil",
    "名前",
    "Ωmega",
    "\n\t",
    "'\"\\",
    "${HOME}",
    "__import__('os')",
    "../..",
    ".",
    "/",
    "input",
    "output",
    "data",
    "targets",
    "Linear",
    "x" * 10_000,
]
NASTY_NUMBERS: list[Any] = [
    0,
    -1,
    1,
    2,
    -(2**31),
    2**31,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    10**30,
    0.5,
    -0.0,
    1e-320,
    1e308,
    -1e308,
    3.7,
    float("nan"),
    float("inf"),
    float("-inf"),
]


def nasty_value(rng: random.Random, depth: int = 0) -> Any:
    """Anything JSON (and json.dumps) can hold, biased towards trouble."""
    r = rng.random()
    if r < 0.3:
        return rng.choice(NASTY_NUMBERS)
    if r < 0.55:
        return rng.choice(NASTY_STRINGS)
    if r < 0.62:
        return rng.choice([None, True, False])
    if r < 0.7:
        return rng.choice(TYPES)
    if r < 0.8 or depth > 2:
        return [rng.choice(NASTY_NUMBERS) for _ in range(rng.choice([0, 1, 2, 3, 4, 50]))]
    if r < 0.86:
        return deep(rng.choice([30, 40, 300]))
    if r < 0.93:
        return {rng.choice(NASTY_STRINGS[:12]): nasty_value(rng, depth + 1) for _ in range(2)}
    return [nasty_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]


def deep(n: int) -> Any:
    v: Any = []
    for _ in range(n):
        v = [v]
    return v


def param_value(rng: random.Random, p: Any) -> Any:
    """A value for parameter ``p``: near its limits, of another type, or plain wrong."""
    r = rng.random()
    if r < 0.35:
        return nasty_value(rng)
    if p.choices and r < 0.6:
        return rng.choice(p.choices)
    if p.type in ("int", "float", "ints", "shape", "floats"):
        lo = p.min if p.min is not None else -5
        hi = p.max if p.max is not None else lo + 300
        hi = min(hi, lo + 300)  # a valid but huge dataset would only make CI slow
        pick = rng.choice([lo - 1, lo, hi, hi + 1, rng.uniform(lo, hi), rng.randint(-3, 300)])
        if p.type == "int":
            pick = int(pick) if rng.random() < 0.8 else pick
        if p.type in ("ints", "shape", "floats"):
            n = rng.choice([0, 1, 2, 3, 4, 6])
            return [int(pick) if p.type != "floats" else pick for _ in range(n)]
        return pick
    if p.type in ("str", "path", "strs"):
        s = rng.choice(NASTY_STRINGS)
        return [s] if p.type == "strs" else s
    return nasty_value(rng)


# -- mutations of the parsed document -----------------------------------------------------------
def _containers(v: Any, out: list[Any]) -> list[Any]:
    if isinstance(v, dict | list):
        out.append(v)
        for c in v.values() if isinstance(v, dict) else v:
            _containers(c, out)
    return out


def m_delete_key(rng: random.Random, doc: dict[str, Any]) -> str:
    dicts = [c for c in _containers(doc, []) if isinstance(c, dict) and c]
    d = rng.choice(dicts)
    k = rng.choice(list(d))
    del d[k]
    return f"delete {k!r}"


def m_replace_value(rng: random.Random, doc: dict[str, Any]) -> str:
    cs = [c for c in _containers(doc, []) if c]
    c = rng.choice(cs)
    k = rng.choice(list(c)) if isinstance(c, dict) else rng.randrange(len(c))
    c[k] = nasty_value(rng)
    return f"replace [{k!r}] with {str(c[k])[:40]!r}"


def m_retype(rng: random.Random, doc: dict[str, Any]) -> str:
    cs = [c for c in _containers(doc, []) if c]
    c = rng.choice(cs)
    k = rng.choice(list(c)) if isinstance(c, dict) else rng.randrange(len(c))
    v = c[k]
    options: list[Callable[[Any], Any]] = [
        lambda v: [v],
        lambda v: {"v": v},
        str,
        lambda v: len(str(v)),
        lambda v: None,
        lambda v: -v if isinstance(v, int | float) and not isinstance(v, bool) else v,
        lambda v: v * 10**20 if isinstance(v, int | float) and not isinstance(v, bool) else v,
    ]
    c[k] = rng.choice(options)(v)
    return f"retype [{k!r}]"


def m_section(rng: random.Random, doc: dict[str, Any]) -> str:
    key = rng.choice(["name", "nodes", "edges", "settings", "ui", "format", "version"])
    doc[key] = nasty_value(rng)
    return f"section {key} = {str(doc[key])[:40]!r}"


def m_training(rng: random.Random, doc: dict[str, Any]) -> str:
    s = doc.setdefault("settings", {})
    if not isinstance(s, dict):
        return "training: settings not a dict"
    if rng.random() < 0.3:
        s["training"] = nasty_value(rng)
        return "training = nasty"
    t = s.setdefault("training", {})
    if not isinstance(t, dict):
        return "training not a dict"
    from engine.catalog.settings import TRAINING_SETTINGS

    names = [p.name for p in TRAINING_SETTINGS] + ["bogus"]
    k = rng.choice(names)
    spec = next((p for p in TRAINING_SETTINGS if p.name == k), None)
    t[k] = param_value(rng, spec) if spec is not None else nasty_value(rng)
    return f"training[{k!r}] = {str(t[k])[:40]!r}"


def _nodes(doc: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = doc.get("nodes")
    return [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else []


def m_node_type(rng: random.Random, doc: dict[str, Any]) -> str:
    nodes = _nodes(doc)
    if not nodes:
        return "no nodes"
    n = rng.choice(nodes)
    n["type"] = rng.choice(TYPES)
    if rng.random() < 0.5:
        n["params"] = {}
    return f"node {n.get('id')!r} type = {n['type']}"


def m_param(rng: random.Random, doc: dict[str, Any]) -> str:
    nodes = [n for n in _nodes(doc) if catalog.has(str(n.get("type")))]
    if not nodes:
        return "no nodes"
    n = rng.choice(nodes)
    spec = catalog.get(str(n["type"]))
    if not spec.params:
        return "no params"
    p = rng.choice(spec.params)
    params = n.setdefault("params", {})
    if not isinstance(params, dict):
        return "params not a dict"
    params[p.name] = param_value(rng, p)
    return f"node {n.get('id')!r} {p.name} = {str(params[p.name])[:40]!r}"


def m_node_field(rng: random.Random, doc: dict[str, Any]) -> str:
    nodes = _nodes(doc)
    if not nodes:
        return "no nodes"
    n = rng.choice(nodes)
    k = rng.choice(["id", "name", "pos", "version", "params", "type"])
    n[k] = rng.choice(
        [
            nasty_value(rng),
            rng.choice(NASTY_STRINGS),
            [rng.choice(NASTY_NUMBERS), rng.choice(NASTY_NUMBERS)],
        ]
    )
    return f"node {k} = {str(n[k])[:40]!r}"


def m_duplicate_node(rng: random.Random, doc: dict[str, Any]) -> str:
    nodes = _nodes(doc)
    if not nodes:
        return "no nodes"
    n = copy.deepcopy(rng.choice(nodes))
    if rng.random() < 0.5:
        n["id"] = f"{n.get('id')}_copy"  # same name, new id
    doc["nodes"].insert(rng.randrange(len(doc["nodes"]) + 1), n)
    return f"duplicate node {n.get('id')!r}"


def m_remove_node(rng: random.Random, doc: dict[str, Any]) -> str:
    nodes = doc.get("nodes")
    if not isinstance(nodes, list) or not nodes:
        return "no nodes"
    gone = nodes.pop(rng.randrange(len(nodes)))
    return f"remove node {str(gone)[:40]!r} (its edges dangle)"


def m_edge(rng: random.Random, doc: dict[str, Any]) -> str:
    edges = doc.get("edges")
    if not isinstance(edges, list):
        return "edges not a list"
    ids = [str(n.get("id")) for n in _nodes(doc)] or ["ghost"]
    ports = ["input", "output", "data", "targets", "target", "loss", "model", "x", "", "ghost"]
    r = rng.random()
    if r < 0.25 and edges:  # reversed: a cycle, or wrong port directions
        e = rng.choice(edges)
        if isinstance(e, dict):
            e["from"], e["to"] = e.get("to"), e.get("from")
        return "reverse an edge"
    if r < 0.45:  # last → first: a cycle through the whole graph
        edges.append({"from": ids[-1], "from_port": "output", "to": ids[0], "to_port": "input"})
        return "cycle edge"
    if r < 0.55 and edges:
        edges.append(copy.deepcopy(rng.choice(edges)))
        return "duplicate edge"
    if r < 0.65:
        a = rng.choice(ids)
        edges.append({"from": a, "from_port": "output", "to": a, "to_port": "input"})
        return "self loop"
    edge = {
        "from": rng.choice([*ids, "ghost"]),
        "from_port": rng.choice(ports),
        "to": rng.choice([*ids, "ghost"]),
        "to_port": rng.choice(ports),
    }
    if rng.random() < 0.2:
        del edge[rng.choice(list(edge))]
    edges.append(edge)
    return f"edge {edge}"


def m_shuffle(rng: random.Random, doc: dict[str, Any]) -> str:
    for k in ("nodes", "edges"):
        if isinstance(doc.get(k), list):
            rng.shuffle(doc[k])
    return "shuffle nodes and edges"


TREE_MUTATIONS = [
    (m_delete_key, 2),
    (m_replace_value, 3),
    (m_retype, 2),
    (m_section, 1),
    (m_training, 2),
    (m_node_type, 3),
    (m_param, 6),
    (m_node_field, 2),
    (m_duplicate_node, 1),
    (m_remove_node, 1),
    (m_edge, 3),
    (m_shuffle, 1),
]


# -- mutations of the raw text ----------------------------------------------------------------
def t_truncate(rng: random.Random, text: str) -> tuple[str, str]:
    n = rng.randrange(len(text))
    return text[:n], f"truncate at {n}"


def t_splice(rng: random.Random, text: str) -> tuple[str, str]:
    i = rng.randrange(len(text))
    junk = rng.choice(["[", "]", "{", "}", '"', ",", ":", "\\", "\\ud800", "\\u0000", "\x00"])
    if rng.random() < 0.5:
        return text[:i] + junk + text[i:], f"insert {junk!r} at {i}"
    return text[:i] + text[i + 1 :], f"delete char {i}"


def t_number(rng: random.Random, text: str) -> tuple[str, str]:
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    if not digits:
        return text, "no digits"
    i = rng.choice(digits)
    big = rng.choice(["1e400", "-1e400", "9" * 5000, "NaN", "Infinity", "-Infinity", "1e-400"])
    return text[:i] + big + text[i + 1 :], f"number {big[:10]} at {i}"


def t_nest(rng: random.Random, text: str) -> tuple[str, str]:
    n = rng.choice([50, 1000, 200_000])
    i = text.find('"ui": ') + len('"ui": ')
    if i < len('"ui": '):
        return "[" * n, f"nest {n}"
    return text[:i] + "[" * n + "]" * n + text[i + 2 :], f"nest {n} in ui"


def t_string(rng: random.Random, text: str) -> tuple[str, str]:
    quotes = [i for i, c in enumerate(text) if c == '"']
    if not quotes:
        return text, "no strings"
    i = rng.choice(quotes) + 1
    s = json.dumps(rng.choice(NASTY_STRINGS), ensure_ascii=rng.random() < 0.5)[1:-1]
    return text[:i] + s + text[i:], f"string {s[:20]!r} at {i}"


# -- edits through the Graph API: valid graphs, unusual enough to stress the check ------------
def g_set(rng: random.Random, g: Graph) -> str:
    n = rng.choice(list(g))
    if not n.spec.params:
        return "no params"
    for _ in range(6):  # most wild values are refused; keep one that is accepted
        p = rng.choice(n.spec.params)
        v = param_value(rng, p)
        try:
            g.set(n.id, **{p.name: v})
            return f"set {n.id}.{p.name} = {str(v)[:40]!r}"
        except TorchwireError:
            continue
    return "set: nothing accepted"


def g_insert(rng: random.Random, g: Graph) -> str:
    type_ = rng.choice(TYPES)
    nid = g.add(type_)
    if g.edges and rng.random() < 0.7:
        e = rng.choice(g.edges)
        g.disconnect(e)
        for a, b in ((e.src, nid), (nid, e.dst)):
            try:
                g.connect(a, b, allow_cycle=True)
            except TorchwireError:
                pass
        return f"insert {type_} on {e}"
    try:
        g.connect(rng.choice([n.id for n in g if n.id != nid]), nid)
    except (TorchwireError, IndexError):
        pass
    return f"add {type_}"


def g_rewire(rng: random.Random, g: Graph) -> str:
    ids = list(g.nodes)
    if rng.random() < 0.4 and g.edges:
        e = rng.choice(g.edges)
        g.disconnect(e)
        return f"disconnect {e}"
    a, b = rng.choice(ids), rng.choice(ids)
    try:
        return f"connect {g.connect(a, b, allow_cycle=True)}"
    except TorchwireError:
        return "connect: refused"


def g_remove(rng: random.Random, g: Graph) -> str:
    nid = rng.choice(list(g.nodes))
    g.remove(nid)
    return f"remove {nid}"


def g_training(rng: random.Random, g: Graph) -> str:
    from engine.catalog.settings import TRAINING_SETTINGS

    t = g.settings.setdefault("training", {})
    p = rng.choice(TRAINING_SETTINGS)
    t[p.name] = param_value(rng, p) if rng.random() < 0.7 else p.default
    return f"training {p.name} = {str(t[p.name])[:40]!r}"


GRAPH_MUTATIONS = [(g_set, 6), (g_insert, 3), (g_rewire, 2), (g_remove, 1), (g_training, 2)]


def graph_mutate(rng: random.Random, text: str) -> tuple[str, list[str]]:
    """A graph edited through its own API (so it loads), as project text."""
    g = loads_project(text)
    steps = []
    for _ in range(rng.choice([1, 2, 3, 4])):
        if not g.nodes:
            break
        steps.append(pick(rng, GRAPH_MUTATIONS)(rng, g))
    try:
        return to_json(g), steps
    except ProjectError as e:  # e.g. a NaN put into the settings: refused, as it should be
        if e.internal:
            raise
        return text, [*steps, "(not savable: original text)"]


TEXT_MUTATIONS = [(t_truncate, 1), (t_splice, 2), (t_number, 2), (t_nest, 1), (t_string, 2)]


def pick(rng: random.Random, weighted: list[tuple[Any, int]]) -> Any:
    return rng.choices([f for f, _ in weighted], weights=[w for _, w in weighted])[0]


def mutate(rng: random.Random, doc: dict[str, Any], text: str) -> tuple[str, list[str]]:
    """One damaged project text and the steps that made it."""
    steps: list[str] = []
    if rng.random() < 0.4:
        return graph_mutate(rng, text)
    if rng.random() < 0.8:
        d = copy.deepcopy(doc)
        for _ in range(rng.choice([1, 1, 2, 3])):
            try:
                steps.append(pick(rng, TREE_MUTATIONS)(rng, d))
            except (IndexError, ValueError, TypeError, KeyError, AttributeError) as e:
                steps.append(f"(mutation skipped: {type(e).__name__})")
        text = json.dumps(d, indent=rng.choice([None, 2]), ensure_ascii=rng.random() < 0.5)
    if rng.random() < 0.25:
        text, step = pick(rng, TEXT_MUTATIONS)(rng, text)
        steps.append(step)
    return text, steps


# -- the contract -----------------------------------------------------------------------------
@dataclass
class Escapes:
    """Distinct escapes, one reproducer each (keyed by stage, type and raising line)."""

    found: dict[tuple[str, str, str], tuple[str, list[str], str, str]] = field(default_factory=dict)
    count: int = 0

    def add(self, stage: str, e: BaseException, case: str, steps: list[str], text: str) -> None:
        self.count += 1
        tb = traceback.extract_tb(e.__traceback__)
        ours = [f for f in tb if "/engine/" in f.filename or "/designer/" in f.filename]
        frame = (ours or tb)[-1] if (ours or tb) else None
        where = f"{Path(frame.filename).name}:{frame.lineno} {frame.name}" if frame else "?"
        kind = type(e).__name__
        if isinstance(e, ProjectError) and e.internal and e.__cause__ is not None:
            cause_tb = traceback.extract_tb(e.__cause__.__traceback__)
            if cause_tb:
                f = cause_tb[-1]
                where = f"{Path(f.filename).name}:{f.lineno} {f.name}"
            kind = f"ProjectError(internal) from {type(e.__cause__).__name__}"
        key = (stage, kind, where)
        if key not in self.found:
            self.found[key] = (case, steps, str(e)[:300], text)
            if SAVE:
                Path(SAVE).mkdir(parents=True, exist_ok=True)
                name = case.replace("#", "_").replace("/", "_")
                (Path(SAVE) / f"{name}.json").write_text(text, errors="surrogatepass")

    def report(self) -> str:
        lines = [f"{self.count} escapes, {len(self.found)} distinct:"]
        for (stage, kind, where), (case, steps, msg, text) in sorted(self.found.items()):
            lines.append(f"- [{stage}] {kind} at {where}: {msg}")
            lines.append(f"    case {case} (rerun: FUZZ_ONLY={case}); steps: {steps}")
            lines.append(f"    input starts: {text[:160]!r}")
        return "\n".join(lines)


def exercise(text: str, base: Path, case: str, steps: list[str], escapes: Escapes) -> None:
    """Load, check, generate, save and reload ``text``; record anything not allowed."""
    try:
        g = loads_project(text, "fuzz.json")
    except ProjectError as e:
        if e.internal:
            escapes.add("load", e, case, steps, text)
        return
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        escapes.add("load", e, case, steps, text)
        return
    g.source_path = str(base)  # type: ignore[attr-defined]  # data paths resolve from the example
    try:
        saved = to_json(g)
        if loads_project(saved, "fuzz-resaved.json") != g:
            escapes.add("round-trip", AssertionError("reloaded graph differs"), case, steps, text)
    except ProjectError as e:
        if e.internal:
            escapes.add("save", e, case, steps, text)
    except Exception as e:
        escapes.add("save", e, case, steps, text)
    try:
        rep = check(g)
    except TorchwireError:
        return
    except Exception as e:
        escapes.add("check", e, case, steps, text)
        return
    if not rep.ok:
        return
    try:
        generate_source(g, rep)
    except TorchwireError:
        pass
    except Exception as e:
        escapes.add("generate_source", e, case, steps, text)


# FUZZ_ONLY=NAME#CASE reruns one case: only that example is collected
FUZZED = [p for p in EXAMPLES if not ONLY or ONLY.partition("#")[0] == p.stem]


@pytest.mark.parametrize("example", FUZZED, ids=lambda p: p.stem)
def test_mutated_examples_raise_only_torchwire_errors(example: Path) -> None:
    text = example.read_text(encoding="utf-8")
    doc = json.loads(text)
    escapes = Escapes()
    deadline = time.monotonic() + SECONDS
    cases = range(CASES)
    if ONLY:
        index = ONLY.partition("#")[2]
        cases = range(int(index), int(index) + 1)
    ran = 0
    for i in cases:
        if time.monotonic() > deadline:
            break
        rng = random.Random(f"{SEED}:{example.stem}:{i}")
        mutated, steps = mutate(rng, doc, text)
        exercise(mutated, example, f"{example.stem}#{i}", steps, escapes)
        ran += 1
    assert ran >= min(len(cases), 50), f"only {ran} cases in {SECONDS}s: the fuzzer is too slow"
    assert not escapes.found, escapes.report()


# -- what the fuzzer found, smallest form: each fails until the code it names is fixed ---------
def _set(node: str, **params: Any) -> Callable[[Graph], None]:
    return lambda g: g.set(node, **params)


def _training(**values: Any) -> Callable[[Graph], None]:
    return lambda g: g.settings.setdefault("training", {}).update(values)


FOUND = [
    # engine/data/transforms.py apply_y: ValueError (reshape of an empty split's targets)
    pytest.param("diabetes", _set("split", val=0.0), id="diabetes-empty-val-split"),
    # engine/data/sources.py resolve_path: OSError ENAMETOOLONG
    pytest.param("csv_tabular", _set("csv_dataset", path="x" * 10_000), id="csv-path-too-long"),
    # engine/data/sources.py file_stamp: UnicodeEncodeError
    pytest.param("csv_tabular", _set("csv_dataset", path="\ud800"), id="csv-path-surrogate"),
    # engine/data/sources.py file_stamp: ValueError (embedded null byte)
    pytest.param("csv_tabular", _set("csv_dataset", path="a\x00b"), id="csv-path-nul"),
    # engine/analysis/check.py memory_limit: OverflowError (1e308 GB is infinite bytes)
    pytest.param("lenet", _training(max_model_memory_gb=1e308), id="memory-limit-1e308"),
]


@pytest.mark.parametrize(("example", "edit"), FOUND)
def test_found_by_the_fuzzer(example: str, edit: Callable[[Graph], None]) -> None:
    path = EXAMPLES_DIR / f"{example}.json"
    g = loads_project(path.read_text(encoding="utf-8"))
    edit(g)
    escapes = Escapes()
    exercise(to_json(g), path, f"found:{example}", [], escapes)
    assert not escapes.found, escapes.report()


# -- projects built from scratch (hypothesis) ---------------------------------------------------
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=8)
    | st.sampled_from(NASTY_STRINGS[:20])
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
node_ids = st.sampled_from(["a", "b", "c", "input", "x"]) | st.text(max_size=4)


@st.composite
def projects(draw: st.DrawFn) -> dict[str, Any]:
    nodes = []
    for _ in range(draw(st.integers(0, 5))):
        type_ = draw(st.sampled_from(TYPES) | st.text(max_size=6))
        spec = catalog.get(type_) if catalog.has(type_) else None
        params: Any = {}
        if spec is not None and spec.params:
            for p in draw(st.lists(st.sampled_from(spec.params), max_size=3)):
                params[p.name] = draw(json_value | st.sampled_from(list(p.choices or [p.default])))
        node: dict[str, Any] = {"id": draw(node_ids), "type": type_, "params": params}
        for key, strategy in (
            ("name", st.text(max_size=6) | json_value),
            ("pos", st.lists(json_leaf, min_size=2, max_size=2) | json_value),
            ("version", st.integers(-2, 3) | json_value),
        ):
            if draw(st.booleans()):
                node[key] = draw(strategy)
        nodes.append(node if draw(st.integers(0, 9)) else draw(json_value))
    ports = st.sampled_from(["input", "output", "data", "targets", "target", "loss", "model"])
    edges = draw(
        st.lists(
            st.fixed_dictionaries(
                {"from": node_ids, "from_port": ports, "to": node_ids, "to_port": ports}
            )
            | json_value,
            max_size=5,
        )
    )
    doc: dict[str, Any] = {"format": "torchwire-project", "version": 1, "nodes": nodes}
    doc["edges"] = edges
    for key in ("name", "settings", "ui"):
        if draw(st.booleans()):
            doc[key] = draw(json_value)
    if draw(st.booleans()):
        doc["settings"] = {"training": draw(json_value)}
    return doc


@settings(
    max_examples=int(os.environ.get("FUZZ_HYPOTHESIS", "150")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(doc=projects())
def test_generated_projects_raise_only_torchwire_errors(doc: dict[str, Any]) -> None:
    text = json.dumps(doc, ensure_ascii=False)
    escapes = Escapes()
    exercise(text, EXAMPLES_DIR / "generated.json", "hypothesis", [], escapes)
    assert not escapes.found, escapes.report()
