"""The declaration of a lint (``Lint``, ``Finding``, ``Part``) and the ``lint`` decorator
that registers one; the rule modules import this, and ``engine.analysis.lints`` imports them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.analysis.fixes import Fix
    from engine.analysis.report import CheckContext, Severity


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
