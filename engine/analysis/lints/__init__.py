"""Lints: checks that teach the classic mistakes, declared once each, run by ``check``.

A lint is a ``Lint``: an id (kebab-case, stable: projects save it when the user silences
it), a severity, a one-line title, a message template, a documentation paragraph (what is
wrong and why it matters), the fix it offers if any, and the function that finds it. The
function yields ``Finding`` s: the node where the user can act, the values the template
needs, and optionally a ``fix`` (``engine.analysis.fixes.Fix``, built for ``ctx.graph``).

Every sentence a lint shows lives in its declaration: the message template is one whole
sentence with named placeholders (``{node}`` is the node's name), filled in one place
(``run_lints``), so it can be translated as a whole later. A value that is itself words
("above" / "below") is a ``Part``: a key into the lint's own ``parts``, declared with it.

A lint silenced on a node (``Node.silenced[lint_id] = reason``, saved in the project) is
not a diagnostic: it goes to ``Report.silenced`` with its reason, so the designer and
``torchwire check`` still list it, but it counts as neither warning nor error.

``docs/lints.md`` is generated from these declarations: ``torchwire lints --markdown``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from engine.analysis.fixes import Fix
    from engine.analysis.report import CheckContext

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One place a lint applies: the node, the template's values, an optional fix."""

    node: str
    values: dict[str, Any] = field(default_factory=dict)
    fix: Fix | None = None
    port: str | None = None


@dataclass(frozen=True)
class Part:
    """A value of a message that is itself words: the lint's ``parts[key]``, filled in."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Lint:
    id: str
    severity: Severity
    title: str
    message: str  # str.format template; {node} is the name of the finding's node
    doc: str  # what is wrong, and why it matters
    fix: str  # what the one-click fix does ("" when there is none)
    find: Callable[[CheckContext], Iterable[Finding]]
    # the words a message may take as values (see Part), declared with the lint
    parts: Mapping[str, str] = field(default_factory=dict)

    def format(self, values: dict[str, Any]) -> str:
        return self.message.format(**{k: self._words(v) for k, v in values.items()})

    def _words(self, v: Any) -> Any:
        if isinstance(v, Part):
            return self.parts[v.key].format(**{k: self._words(x) for k, x in v.values.items()})
        if isinstance(v, list):  # several parts: "a and b"
            words = [str(self._words(x)) for x in v]
            return self.parts.get("and", " and ").join(words)
        return v


LINTS: dict[str, Lint] = {}

# The modules declaring lints, in the order their lints are listed and run.
RULE_MODULES = (
    "engine.analysis.lints.model",
    "engine.analysis.lints.training",
    "engine.analysis.lints.data",
)


def lint(
    id: str,
    severity: Severity,
    title: str,
    message: str,
    doc: str,
    fix: str = "",
    parts: Mapping[str, str] | None = None,
) -> Callable[[Callable[[CheckContext], Iterable[Finding]]], Callable[..., Any]]:
    """Declare a lint; decorates the function that finds it."""

    def register(fn: Callable[[CheckContext], Iterable[Finding]]) -> Callable[..., Any]:
        if id in LINTS and LINTS[id].find is not fn:
            raise ValueError(f"lint {id!r} is declared twice")
        doc_text = " ".join(doc.split())
        LINTS[id] = Lint(id, severity, title, message, doc_text, fix, fn, dict(parts or {}))
        return fn

    return register


def all_lints() -> list[Lint]:
    for mod in RULE_MODULES:
        importlib.import_module(mod)
    return list(LINTS.values())


# The lints also run inside blocks: those about one graph's wiring. The training and data
# lints are about the whole model and its training, which a block's graph does not have.
BLOCK_RULE_MODULES = ("engine.analysis.lints.model",)


def run_lints(ctx: CheckContext) -> None:
    """Run every lint on a checked graph; findings become diagnostics (or silenced ones).

    Inside blocks, the wiring lints run once per block definition (on its first instance's
    inner graph, in check order), not once per instance: a finding there is the
    definition's. It is reported on the top-level instance that holds that first
    occurrence, named by its path: "layer1_0 › conv2: …" (no one-click fix: the fix
    would edit the definition, not the instance). Silence it on the inner node (in the
    block's graph: every use of the block) or on that instance.
    """
    from engine.analysis.report import Diagnostic, Reason

    g, rep = ctx.graph, ctx.report
    errors: list[tuple[str, str]] = []

    def report(ln: Lint, nid: str, message: str, port: Any, fix: Any, reason: str | None) -> None:
        d = Diagnostic(nid, ln.severity, message, port, fix, ln.id, reason)
        if reason is None:
            rep.diagnostics.append(d)
            if ln.severity == "error":
                ctx.failed.add(nid)
                errors.append((nid, message))
        else:
            rep.silenced.append(d)

    lints = all_lints()
    for ln in lints:
        for f in _findings(ln, ctx):
            node = g.nodes.get(f.node)
            if node is None:
                continue
            message = ln.format({"node": node.name, **f.values})
            report(ln, f.node, message, f.port, f.fix, node.silenced.get(ln.id))
    if ctx.feed is None:  # the top graph: its blocks' definitions, each once
        from engine.graph.blocks import SEP

        inside = [ln for ln in lints if ln.find.__module__ in BLOCK_RULE_MODULES]
        for where, path, inner in _block_contexts(ctx):
            for ln in inside:
                for f in _findings(ln, inner):
                    node = inner.graph.nodes.get(f.node)
                    if node is None:
                        continue
                    message = SEP.join([*path, ln.format({"node": node.name, **f.values})])
                    reason = node.silenced.get(ln.id)
                    if reason is None:
                        reason = g.nodes[where].silenced.get(ln.id)
                    report(ln, where, message, None, None, reason)
    if errors and rep.training is not None:  # the training verdict came first
        more = tuple(Reason(m, n) for n, m in errors)
        rep.set_training(replace(rep.training, ready=False, reasons=rep.training.reasons + more))


def _block_contexts(ctx: CheckContext) -> Iterator[tuple[str, list[str], CheckContext]]:
    """(top-level instance, path of instance names, inner context) for the first
    occurrence of each block type used, at any depth, in check order."""
    from engine.analysis.report import inner_context

    seen: set[str] = set()

    def walk(rep: Any, top: str | None, path: list[str]) -> Iterator[Any]:
        g = rep.graph
        for nid in rep.order:
            inner = rep.inner.get(nid)
            node = g.nodes[nid]
            if inner is None or inner.graph is None or node.type in seen:
                continue
            seen.add(node.type)  # every other instance holds the same inner types
            where, here = top or nid, [*path, node.name]
            yield where, here, inner_context(inner)
            yield from walk(inner, where, here)

    yield from walk(ctx.report, None, [])


def _findings(ln: Lint, ctx: CheckContext) -> Iterator[Finding]:
    yield from ln.find(ctx)


def markdown() -> str:
    """The page ``docs/lints.md``: every lint, its severity, message, why, and fix."""
    lines = [
        "# Lints",
        "",
        "<!-- generated by `torchwire lints --markdown`; do not edit by hand -->",
        "",
        "The live check (and `torchwire check`) runs these on every edit. Each one is attached "
        "to the node where you can act. Silence one on a node with a reason (designer: "
        "right-click it in the Problems list ▸ *Silence…*); the reason is saved in the "
        "project, and `torchwire check` still lists it as silenced.",
        "",
        "| id | severity | what |",
        "|---|---|---|",
    ]
    lints = all_lints()
    for ln in lints:
        lines.append(f"| [`{ln.id}`](#{ln.id}) | {ln.severity} | {ln.title} |")
    for ln in lints:
        lines += [
            "",
            f"## {ln.id}",
            "",
            f"**{ln.severity}** — {ln.title}",
            "",
            ln.doc,
            "",
            f"Message: *{ln.message}*",
        ]
        if ln.fix:
            lines += ["", f"Fix: {ln.fix}"]
    return "\n".join(lines) + "\n"


__all__ = ["LINTS", "Finding", "Lint", "Part", "all_lints", "lint", "markdown", "run_lints"]
