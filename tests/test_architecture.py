"""The house rules of docs/architecture.md, held by tests so a break can't creep back in.

import-linter (run by CI) holds the order of the engine's layers; these tests add what a
contract cannot say: no import cycle anywhere (imports inside functions count), no private
name taken across the engine's parts, and no function over 100 lines.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

from engine.analysis.check import strongly_connected
from tests.support.paths import ROOT

PACKAGES = ("engine", "designer")
MAX_FUNCTION_LINES = 100


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES)  # imports under TYPE_CHECKING count too


def _cycles(nodes: list[str], succ: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (the check's own Tarjan)."""
    comps = strongly_connected(nodes, {n: sorted(succ.get(n, ())) for n in nodes})
    return sorted(sorted(c) for c in comps if len(c) > 1)


def _part(module: str) -> str:
    """``engine.graph.ops`` → ``engine.graph``; the designer counts as one part per package."""
    return ".".join(module.split(".")[:2])


def test_no_import_cycle_between_modules(graph: grimp.ImportGraph) -> None:
    mods = sorted(graph.modules)
    succ = {m: set(graph.find_modules_directly_imported_by(m)) for m in mods}
    assert _cycles(mods, succ) == []


def test_no_import_cycle_between_the_engines_parts(graph: grimp.ImportGraph) -> None:
    succ: dict[str, set[str]] = {}
    for m in graph.modules:
        if not m.startswith("engine.") or m == "engine.__main__":
            continue
        for dep in graph.find_modules_directly_imported_by(m):
            if dep.startswith("engine.") and _part(dep) != _part(m):
                succ.setdefault(_part(m), set()).add(_part(dep))
    assert _cycles(sorted(succ), succ) == []


def _sources() -> Iterator[tuple[str, Path, ast.Module]]:
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            yield ".".join(parts), path, ast.parse(path.read_text(encoding="utf-8"))


def test_no_private_name_is_imported_across_the_engines_parts() -> None:
    crossing = []
    for module, path, tree in _sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("engine"):
                continue
            if node.level or _part(node.module or "") == _part(module):
                continue
            crossing += [
                f"{path.relative_to(ROOT)}:{node.lineno} {node.module}.{a.name}"
                for a in node.names
                if a.name.startswith("_") and not a.name.startswith("__")
            ]
    assert crossing == []


def test_no_function_is_over_100_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1})"
        for _, path, tree in _sources()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (node.end_lineno or 0) - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_import_engine_is_light() -> None:
    """``import engine`` loads nothing of the engine's parts until a name is used."""
    import subprocess
    import sys

    code = "import sys, engine; print(sorted(m for m in sys.modules if m.startswith(('engine.', 'torch'))))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


def test_the_engine_imports_its_own_modules_at_module_top() -> None:
    """An import of an engine module inside a function hides an edge from the linter (and was
    how cycles were dodged); laziness inside functions is for heavy third-party packages."""
    inside = []
    for _, path, tree in _sources():
        if path.relative_to(ROOT).parts[0] != "engine":
            continue
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom) and not node.level
                    else [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else []
                )
                inside += [
                    f"{path.relative_to(ROOT)}:{node.lineno} {name}"
                    for name in names
                    if name == "engine" or name.startswith("engine.")
                ]
    assert inside == []
