"""The node reference page ``docs/nodes.md``, generated from the catalog's declarations.

``torchwire nodes --markdown > docs/nodes.md``; a test keeps the committed page equal to
this output, so the reference never drifts from what the engine accepts.
"""

from __future__ import annotations

from typing import Any

from engine.catalog import registry as catalog
from engine.catalog.base import NodeSpec, Param, Port

TORCH_DOCS = "https://pytorch.org/docs/stable/generated/{}.html"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _value(v: Any) -> str:
    if v is None:
        return "(empty)"
    return f"`{v!r}`" if not isinstance(v, list) else f"`{v}`"


def _range(p: Param) -> str:
    if p.choices:
        return ", ".join(f"`{c}`" for c in p.choices)
    if p.min is None and p.max is None:
        return ""
    lo = "" if p.min is None else f"{p.min:g}"
    hi = "" if p.max is None else f"{p.max:g}"
    return f"{lo} … {hi}".strip()


def _port(p: Port) -> str:
    flags = [k for k, on in (("optional", p.optional), ("any number", p.multi)) if on]
    if p.kind != "tensor":
        flags.insert(0, p.kind)
    text = f"`{p.name}`" + (f" ({', '.join(flags)})" if flags else "")
    return text + (f": {p.doc}" if p.doc else "")


def torch_equivalent(spec: NodeSpec) -> str:
    """What the node is in torch, linked to torch's documentation where torch has a page."""
    names: tuple[str, ...] = ()
    if spec.module is not None and spec.module.__module__.startswith("torch"):
        names = (f"torch.nn.{spec.module.__name__}",)
    elif "torch" in spec.extra:
        names = tuple(spec.extra["torch"])
    if names:
        return ", ".join(f"[`{n}`]({TORCH_DOCS.format(n)})" for n in names)
    if spec.module is not None:
        return f"`{spec.module.__name__}` (Torchwire's own; its source is in the exported code)"
    return ""


def markdown() -> str:
    """The whole page: one section per category, one entry per node type."""
    specs = [s for s in catalog.all_specs()]
    out = [
        "# Node reference",
        "",
        "Every node type Torchwire offers, generated from the catalog "
        "(`torchwire nodes --markdown > docs/nodes.md`). Shapes are per sample (the batch "
        "dimension excluded); `dim` parameters count on the batched tensor (0 is the batch). "
        "Input-size arguments (`in_features`, `in_channels`, …) are never parameters: they "
        "come from the arriving shape.",
        "",
    ]
    cats: list[str] = []
    for s in specs:
        if s.category not in cats:
            cats.append(s.category)
    out += [" · ".join(f"[{c}](#{c.lower().replace('/', '').replace(' ', '-')})" for c in cats), ""]
    for cat in cats:
        out += [f"## {cat}", ""]
        for s in (x for x in specs if x.category == cat):
            out += _entry(s)
    return "\n".join(out).rstrip() + "\n"


def _entry(s: NodeSpec) -> list[str]:
    lines = [f"### {s.type}", "", s.doc, ""]
    facts = []
    if s.group:
        facts.append(f"group {s.group}")
    if s.kind != "model":
        facts.append(f"kind {s.kind}")
    eq = torch_equivalent(s)
    if eq:
        facts.append(f"torch: {eq}")
    if s.infer:
        facts.append("from the input: " + ", ".join(f"`{n}`" for n in s.infer))
    if not s.exportable:
        facts.append("not exportable to ONNX" + (f" ({s.export_note})" if s.export_note else ""))
    if facts:
        lines += ["- " + f for f in facts]
    lines.append("- inputs: " + ("; ".join(_port(p) for p in s.inputs) or "none"))
    outs = "; ".join(_port(p) for p in s.outputs)
    if s.n_outputs is not None:
        outs = (
            f"`{s.outputs[0].name}` … `{s.outputs[-1].name}`; how many are live follows "
            "the parameters (the first n)"
        )
    lines.append(f"- outputs: {outs}")
    lines.append("")
    if s.params:
        lines += ["| parameter | type | default | range / choices | |", "|---|---|---|---|---|"]
        for p in s.params:
            lines.append(
                f"| `{p.name}` | {p.type}{' (optional)' if p.optional else ''} | "
                f"{_cell(_value(p.default))} | {_cell(_range(p))} | {_cell(p.doc)} |"
            )
        lines.append("")
    return lines
