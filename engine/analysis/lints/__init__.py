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

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from engine.analysis.lints import data, model, training
from engine.analysis.lints.registry import LINTS, Finding, Lint, Part, lint
from engine.analysis.report import CheckContext, Diagnostic, Reason, inner_context
from engine.graph import SEP

# The modules that declare lints (each registers its lints when imported, above).
RULE_MODULES = (model, training, data)


def all_lints() -> list[Lint]:
    """Every lint, in the order of ``RULE_MODULES`` (the order the docs list them), each
    module's in the order it declares them."""
    rank = {m.__name__: i for i, m in enumerate(RULE_MODULES)}
    return sorted(LINTS.values(), key=lambda ln: rank[ln.find.__module__])


# The lints also run inside blocks: those about one graph's wiring. The training and data
# lints are about the whole model and its training, which a block's graph does not have.
BLOCK_RULE_MODULES = (model.__name__,)


def run_lints(ctx: CheckContext) -> None:
    """Run every lint on a checked graph; findings become diagnostics (or silenced ones).

    Inside blocks, the wiring lints run once per block definition (on its first instance's
    inner graph, in check order), not once per instance: a finding there is the
    definition's. It is reported on the top-level instance that holds that first
    occurrence, named by its path: "layer1_0 › conv2: …" (no one-click fix: the fix
    would edit the definition, not the instance). Silence it on the inner node (in the
    block's graph: every use of the block) or on that instance.
    """
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
