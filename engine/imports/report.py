"""What an import did: typed report, and the one error an import raises.

An import never drops or guesses what it cannot map (there is no opaque-submodule node
type yet): it collects every unsupported op with where it came from and fails once, with
the whole list, so a user sees all the work at once instead of one op per attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.errors import TorchwireError


@dataclass(frozen=True)
class UnsupportedOp:
    """One op of the source model that has no node type (or no exact mapping)."""

    name: str  # the ONNX node name / fx node name
    op: str  # ONNX op type, or the fx target (``torch.nn.functional.hardsigmoid``)
    location: str = ""  # ONNX node name / source line from the fx stack trace
    reason: str = ""

    def __str__(self) -> str:
        where = f" at {self.location}" if self.location else ""
        why = f": {self.reason}" if self.reason else ""
        return f"{self.name} ({self.op}){where}{why}"


@dataclass
class ImportReport:
    """Summary of one import: what was made, what was approximated, what failed."""

    source: str
    format: str  # "onnx" or "torch"
    nodes: int = 0
    params: int = 0
    notes: list[str] = field(default_factory=list)
    unsupported: list[UnsupportedOp] = field(default_factory=list)
    max_abs_diff: float | None = None  # checked against the original at import time
    checked_batch: int | None = None

    def summary(self) -> str:
        lines = [
            f"imported {self.source} ({self.format}): {self.nodes} nodes, {self.params:,} parameters"
        ]
        if self.max_abs_diff is not None:
            lines.append(
                f"outputs match the original (batch {self.checked_batch}): "
                f"max abs difference {self.max_abs_diff:.2e}"
            )
        for n in self.notes:
            lines.append(f"note: {n}")
        for u in self.unsupported:
            lines.append(f"unsupported: {u}")
        return "\n".join(lines)


HINT = (
    "Torchwire has no node type for these ops; replace them in the source model with "
    "supported layers (see the ONNX op table in docs/guide/import-and-transfer-learning.md, "
    "or `torchwire import --list-ops`), or re-export the model so they become supported ops."
)


class ModelImportError(TorchwireError):
    """The model cannot be imported; ``report.unsupported`` lists every op that failed."""

    def __init__(self, message: str, report: ImportReport | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.report = report

    @classmethod
    def unsupported(cls, report: ImportReport, file: str | None = None) -> ModelImportError:
        ops = report.unsupported
        lines = [
            f"{report.source}: {len(ops)} op{'s' if len(ops) != 1 else ''} cannot be imported:"
        ]
        lines += [f"  - {u}" for u in ops]
        lines.append(HINT)
        return cls("\n".join(lines), report, file=file)
