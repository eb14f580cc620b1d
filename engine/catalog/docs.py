"""A node type's help, derived from its catalog declaration: what, when, torch equivalent.

The designer's node help panel (F1) and anything else that explains a node render a
``NodeDoc``; nothing here is written per node outside the catalog, so the help cannot
drift from what the node builds. "When to use it" is said once per group of nodes (a
``when`` entry in a spec's ``extra`` overrides it for one type).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.catalog.base import NodeSpec

TORCH_DOCS = "https://pytorch.org/docs/stable/generated/{ref}.html"

# Nodes that build no module but are one torch function.
_FUNCTION_REFS = {
    "Reshape": "torch.reshape",
    "Permute": "torch.permute",
    "Add": "torch.add",
    "Mul": "torch.mul",
    "Concat": "torch.cat",
}

# When to reach for a node, by (category, group) then by category.
_WHEN = {
    ("Layers", "Convolution"): "images, audio or any grid-shaped data: learns local patterns "
    "with few weights, shared across positions",
    ("Layers", "Linear"): "a fully connected step: tabular features, or the head after "
    "Flatten that turns features into class scores",
    ("Layers", "Pooling"): "after convolutions, to shrink the grid and make features tolerant "
    "to small shifts",
    ("Layers", "Normalization"): "to keep activations in range so deeper models train faster "
    "and more stably",
    ("Layers", "Dropout"): "against overfitting: randomly zeroes activations while training "
    "(off at evaluation)",
    ("Layers", "Recurrent"): "sequences (text, time series) read step by step",
    ("Layers", "Attention"): "sequences where every position should see every other (transformers)",
    ("Layers", "Embedding"): "integer tokens or category ids that need a learned vector each",
    ("Layers", "Resampling"): "to enlarge a grid (decoders, segmentation)",
    ("Activations", ""): "between layers, to make the model non-linear (ReLU is the usual "
    "first choice)",
    ("Shape", ""): "to change how a tensor is laid out between layers (e.g. Flatten before a "
    "Linear head)",
    ("Merges", ""): "to join branches: skip connections (Add), gating (Mul), side-by-side "
    "features (Concat)",
    ("Losses", "classification"): "as the training objective of a classifier",
    ("Losses", "regression"): "as the training objective when the targets are numbers",
    ("Optimizers", ""): "once per project: updates the model's weights from the loss (Adam is a "
    "safe default)",
    ("Datasets", ""): "as the source of training data: one per project",
    ("Preprocessing", ""): "between the dataset and the model, to split, batch, scale or "
    "encode the data",
    ("Input/Output", ""): "to mark where data enters the model (Input) and what it returns "
    "(Output)",
}


@dataclass(frozen=True)
class NodeDoc:
    """Help for one node type, ready to render (plain text; ``url`` may be empty)."""

    type: str
    category: str
    summary: str  # what the node does (the spec's doc)
    when: str  # when to use it
    torch_ref: str  # e.g. "torch.nn.Conv2d"; "" when it has no torch equivalent
    url: str  # torch's documentation page for torch_ref
    params: tuple[tuple[str, str, str], ...]  # (name, default as text, doc)
    inputs: tuple[tuple[str, str], ...]  # (name, doc)
    outputs: tuple[tuple[str, str], ...]


def torch_ref(spec: NodeSpec) -> str:
    """The public torch name of what a node builds (``torch.nn.Conv2d``), or ""."""
    if spec.type in _FUNCTION_REFS:
        return _FUNCTION_REFS[spec.type]
    cls = spec.module
    if cls is None or not cls.__module__.startswith("torch."):
        return ""
    import torch

    for public in ("torch.nn", "torch.optim"):
        ns = torch.nn if public == "torch.nn" else torch.optim
        if getattr(ns, cls.__name__, None) is cls:
            return f"{public}.{cls.__name__}"
    return f"{cls.__module__}.{cls.__qualname__}"


def node_doc(spec: NodeSpec) -> NodeDoc:
    """Everything the help panel shows about ``spec``, from its declaration."""
    ref = torch_ref(spec)
    when = str(spec.extra.get("when") or "")
    if not when:
        when = _WHEN.get((spec.category, spec.group)) or _WHEN.get((spec.category, ""), "")
    return NodeDoc(
        type=spec.type,
        category=spec.category,
        summary=spec.doc,
        when=when,
        torch_ref=ref,
        url=TORCH_DOCS.format(ref=ref) if ref else "",
        params=tuple((p.name, repr(p.default), p.doc) for p in spec.params),
        inputs=tuple((p.name, p.doc) for p in spec.inputs),
        outputs=tuple((p.name, p.doc) for p in spec.outputs),
    )


__all__ = ["NodeDoc", "node_doc", "torch_ref"]
