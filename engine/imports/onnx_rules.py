"""What every ONNX op rule shares: the rule table, the context a rule reads and writes,
and the attribute helpers.

A rule module registers its rules with ``@rule`` when it is imported; ``engine.imports``
imports every rule module, so the table is complete once the package is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.imports.builder import Builder, Unsupported


@dataclass(frozen=True)
class OpRule:
    """How one ONNX op maps: what it becomes and when (for the op table), and the mapping."""

    op: str
    node_types: str  # what it becomes, for the README table
    note: str
    fn: Callable[[Ctx, Any], None]


RULES: dict[str, OpRule] = {}


def rule(op: str, node_types: str, note: str = "") -> Callable[[Any], Any]:
    """Register ``fn(ctx, node)`` as the mapping of ONNX op ``op`` (a decorator)."""

    def deco(fn: Callable[[Ctx, Any], None]) -> Callable[[Ctx, Any], None]:
        RULES[op] = OpRule(op, node_types, note, fn)
        return fn

    return deco


@dataclass(frozen=True)
class Seq:
    """A sequence-first tensor that stands for the batch-first output of graph node ``nid``.

    Torchwire's recurrent nodes are batch-first; ONNX's LSTM/GRU run sequence-first, so an
    exporter wraps them in transposes. These tensors get no node: ``layout`` says how the
    ONNX tensor is arranged relative to the node's ``[B, T, F]`` output — ``TBF`` (the
    transpose ``[1, 0, 2]``), ``TDBH`` (an LSTM/GRU's ``Y``: directions apart), ``TBDH``
    (``Y`` transposed ``[0, 2, 1, 3]``)."""

    nid: str
    layout: str
    directions: int = 1
    hidden: int = 0


class Ctx:
    """Everything a rule needs: constants, shapes, the tensor → node map, the builder."""

    def __init__(
        self,
        b: Builder,
        consts: dict[str, np.ndarray],
        shapes: dict[str, tuple[int, ...]],
        opset: int,
    ) -> None:
        self.b = b
        self.consts = consts
        self.shapes = shapes
        self.opset = opset
        self.val: dict[str, str] = {}
        self.consumers: dict[str, list[Any]] = {}
        self.graph_outputs: set[str] = set()
        self.done: set[int] = set()  # ids of nodes another rule already mapped
        # Sequence-first tensors around ONNX LSTM/GRU (see ``Seq``): no node of their own.
        self.seq: dict[str, Seq] = {}
        self.rnn: set[str] = set()  # the LSTM/GRU nodes made from ONNX recurrences
        self.pad_into: dict[int, list[int]] = {}  # id(Conv) → zero pads of a folded Pad

    def x(self, node: Any, i: int = 0) -> str:
        """The graph node producing tensor input ``i`` (it must not be a constant)."""
        name = node.input[i]
        if name in self.consts:
            raise Unsupported(f"input {i} ({name}) is a constant where a computed tensor is needed")
        if name not in self.val and name in self.seq:
            raise Unsupported(
                f"input {i} ({name}) is sequence-first (the batch moved off dimension 0); only "
                "an LSTM/GRU, or the transpose back to batch-first, may read it"
            )
        return self.val[name]

    def c(self, node: Any, i: int, required: bool = True) -> np.ndarray | None:
        """Constant input ``i`` (None when absent and not required)."""
        if i >= len(node.input) or not node.input[i]:
            if required:
                raise Unsupported(f"input {i} is missing")
            return None
        name = node.input[i]
        if name not in self.consts:
            raise Unsupported(f"input {i} ({name}) must be a constant (a weight)")
        return self.consts[name]

    def shape(self, name: str) -> tuple[int, ...]:
        """The inferred shape of tensor ``name``; a rule that needs one fails without it."""
        s = self.shapes.get(name)
        if s is None:
            raise Unsupported(f"the shape of {name} is unknown after shape inference")
        return s

    def unused(self, node: Any, *outs: int) -> None:
        """Outputs ``outs`` of ``node`` must feed nothing: the node type has no such output."""
        for i in outs:
            if (
                i < len(node.output)
                and node.output[i]
                and (self.consumers.get(node.output[i]) or node.output[i] in self.graph_outputs)
            ):
                raise Unsupported(f"its output {i} ({node.output[i]}) is used")

    def put(self, node: Any, nid: str) -> None:
        """Graph node ``nid`` stands for ``node``'s first output from now on."""
        self.val[node.output[0]] = nid


def attrs(node: Any) -> dict[str, Any]:
    """An ONNX node's attributes as Python values, by name."""
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def as_str(v: Any) -> Any:
    """A string attribute as ``str`` (ONNX stores them as bytes)."""
    return v.decode() if isinstance(v, bytes) else v
