"""Blocks: a graph used as one node type, any number of times, with parameters it exposes.

A block is a ``EditableGraph`` whose ``Input`` nodes are its inputs and whose ``Output`` nodes are
its outputs. ``g.add_block(blk, expose={"channels": ["conv1.out_channels", "conv2.out_channels"]})``
registers the type ``blk.name`` in ``g`` (per graph, never in the global catalog), and
``g.add("BasicBlock", channels=64)`` adds an instance. Choices made here:

- **Ports.** One input port per inner ``Input`` node, named after it, ordered by canvas
  position (top to bottom, then left to right, then the order the nodes were added: nodes
  added from Python without a position are in the order they were added). One output
  port per inner ``Output`` node, named after it and ordered the same way. A block with
  several outputs is a multi-output node: the generated class's ``forward`` returns a
  tuple in port order and the caller unpacks it (``feats, skip = self.enc(x)``).
- **Shapes.** An inner ``Input`` takes the shape and dtype of what arrives at the instance;
  its own ``shape`` and ``dtype`` parameters are ignored (they matter only when the block's
  graph is checked on its own), so one block serves any width.
- **Exposed parameters.** ``expose`` maps a parameter name of the block to inner
  ``"node.param"`` references (the inner node's *name*). The block's parameter takes its
  type, range and choices from the first reference's declaration and its default from that
  inner node's current value; setting it sets every referenced inner parameter.
- **Definitions are values.** ``add_block`` keeps its own copy of the block's graph, so
  editing ``blk`` afterwards changes nothing registered. Blocks may contain blocks; the
  ones a block uses are registered with it. A block that contains itself, directly or
  through others, is an error, and so is a block type named like a catalog type.

The check (``engine.analysis.check``) checks every instance's inner graph with the shapes that
arrive (``report.inner[instance_id]`` is its Report); the compiler (``engine.build.compile``)
emits one ``nn.Module`` class per block type and nests instances as attributes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine import catalog
from engine.catalog.base import NodeSpec, Param, ParamError, Port
from engine.errors import TorchwireError
from engine.graph.elements import EditableGraph

LIBRARY_FORMAT = "torchwire-blocks"
LIBRARY_VERSION = 1
CATEGORY = "Blocks"
# Blocks inside blocks, levels deep: real architectures use a handful; each level costs the
# checker and the compiler a few stack frames, so a file nesting thousands of levels would
# exhaust the stack instead of being refused.
MAX_BLOCK_DEPTH = 64
SEP = " › "  # between an instance's name and an inner node's, in messages
# keyword arguments of EditableGraph.add: an exposed parameter of that name could not be passed
_RESERVED = ("type_name", "id", "name", "pos")
_PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class BlockError(TorchwireError, ValueError):
    """A block that cannot be defined or used as asked."""


@dataclass(frozen=True)
class Exposed:
    """One parameter of a block: its name and the inner ``(node id, param)`` pairs it sets."""

    name: str
    refs: tuple[str, ...]  # "node.param", as the user wrote them (inner node names)
    targets: tuple[tuple[str, str], ...]  # (inner node id, param name)


@dataclass(eq=False)
class BlockDef:
    """A registered block type: its own copy of the graph, what it exposes, its node spec."""

    name: str
    graph: EditableGraph
    exposed: tuple[Exposed, ...]
    version: int
    spec: NodeSpec
    inputs: tuple[str, ...]  # inner Input node ids, in port order
    outputs: tuple[str, ...]  # inner Output node ids, in port order
    depth: int = 1  # levels of blocks, this one included (a block of plain layers: 1)
    # (params, input shapes, dtypes) -> inner Report; a definition never changes, so the
    # results stay valid (engine.analysis.check fills it)
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def expose(self) -> dict[str, list[str]]:
        return {e.name: list(e.refs) for e in self.exposed}

    def uses(self) -> list[str]:
        """The block types this block's graph uses directly, in node order."""
        return _used(self.graph)

    def instantiate(self, params: dict[str, Any]) -> EditableGraph:
        """The inner graph with an instance's parameter values set (a fresh copy)."""
        g = self.graph.copy()
        for e in self.exposed:
            if e.name in params:
                for nid, pname in e.targets:
                    g.nodes[nid].params[pname] = params[e.name]
        return g

    def to_dict(self) -> dict[str, Any]:
        """The definition as stored in a project's ``blocks`` section or a library file.

        The blocks it uses are stored once, at the top level, so they are left out here:
        serializing them with every block that uses them costs 2^depth.
        """
        body = self.graph.to_dict(blocks=False)
        for k in ("settings", "ui"):
            if not body.get(k):
                body.pop(k, None)
        return {"name": self.name, "version": self.version, "expose": self.expose, "graph": body}

    def same_as(self, other: BlockDef) -> bool:
        """The same definition (a shared one, or an equal one made apart)."""
        return self is other or self.to_dict() == other.to_dict()


def port_order(g: EditableGraph, type_name: str) -> list[str]:
    ids = [nid for nid, n in g.nodes.items() if n.type == type_name]
    rank = {nid: i for i, nid in enumerate(ids)}
    return sorted(ids, key=lambda nid: (g.nodes[nid].pos[1], g.nodes[nid].pos[0], rank[nid]))


def _resolve_ref(g: EditableGraph, block: str, ref: str) -> tuple[str, str]:
    if not isinstance(ref, str) or "." not in ref:
        raise BlockError(f"block {block}: {ref!r} should name an inner parameter as 'node.param'")
    node_name, pname = ref.rsplit(".", 1)
    try:
        node = g.by_name(node_name)
    except Exception:
        if node_name in g.nodes:
            node = g.nodes[node_name]
        else:
            raise BlockError(
                f"block {block}: no inner node named {node_name!r} (in {ref!r})"
            ) from None
    if node.type in ("Input", "Output"):
        raise BlockError(f"block {block}: {ref!r}: an {node.type}'s parameters cannot be exposed")
    try:
        node.spec.param(pname)
    except KeyError:
        known = ", ".join(p.name for p in node.spec.params) or "none"
        raise BlockError(
            f"block {block}: {node.name} ({node.type}) has no parameter {pname!r} (it has {known})"
        ) from None
    return node.id, pname


def define(
    blk: EditableGraph, expose: dict[str, Sequence[str]] | None = None, version: int = 1
) -> BlockDef:
    """Validate ``blk`` as a block and make its definition (a private copy of the graph)."""
    name = blk.name
    if not isinstance(name, str) or not name.strip():
        raise BlockError("a block needs a name (Graph(name=...))")
    if catalog.has(name):
        raise BlockError(
            f"block {name}: {name!r} is already a node type of the catalog; rename the block"
        )
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BlockError(
            f"block {name}: version must be a whole number of at least 1, got {version!r}"
        )
    g = blk.copy()
    depth = _check_contents(name, g)
    inputs = port_order(g, "Input")
    outputs = port_order(g, "Output")
    if not inputs:
        raise BlockError(f"block {name}: it has no Input node (its inputs are its Input nodes)")
    if not outputs:
        raise BlockError(f"block {name}: it has no Output node (its outputs are its Output nodes)")
    exposed: list[Exposed] = []
    params: list[Param] = []
    for pname, refs in (expose or {}).items():
        if not isinstance(pname, str) or not _PARAM_NAME.match(pname) or pname in _RESERVED:
            raise BlockError(f"block {name}: {pname!r} cannot be a parameter name")
        if isinstance(refs, str):
            refs = [refs]
        refs = list(refs)
        if not refs:
            raise BlockError(f"block {name}: parameter {pname!r} sets no inner parameter")
        targets = [_resolve_ref(g, name, r) for r in refs]
        if len(set(targets)) != len(targets):
            raise BlockError(f"block {name}: parameter {pname!r} names an inner parameter twice")
        for other in exposed:
            both = set(other.targets) & set(targets)
            if both:
                nid, p = sorted(both)[0]
                raise BlockError(
                    f"block {name}: {g.nodes[nid].name}.{p} is set by both {other.name!r} and "
                    f"{pname!r}"
                )
        first_nid, first_p = targets[0]
        decl = g.nodes[first_nid].spec.param(first_p)
        default = g.nodes[first_nid].params[first_p]
        for nid, p in targets[1:]:
            d2 = g.nodes[nid].spec.param(p)
            if d2.type != decl.type:
                raise BlockError(
                    f"block {name}: parameter {pname!r} sets {refs[0]} ({decl.type}) and "
                    f"{g.nodes[nid].name}.{p} ({d2.type}), of different kinds"
                )
            try:
                d2.coerce(default)
            except ParamError as e:
                raise BlockError(
                    f"block {name}: parameter {pname!r}: {g.nodes[nid].name}.{e}"
                ) from None
        sets = ", ".join(refs)
        params.append(
            Param(
                pname,
                decl.type,
                default,
                f"sets {sets}" + (f" ({decl.doc})" if decl.doc else ""),
                min=decl.min,
                max=decl.max,
                choices=decl.choices,
                optional=decl.optional,
                length=decl.length,
                ctor=False,
                allow_minus_one=decl.allow_minus_one,
            )
        )
        exposed.append(Exposed(pname, tuple(refs), tuple(targets)))
    doc = f"Block {name}: {len(g.nodes)} nodes" + (
        f"; parameters {', '.join(e.name for e in exposed)}" if exposed else ""
    )
    spec = NodeSpec(
        type=name,
        category=CATEGORY,
        doc=doc,
        inputs=tuple(Port(g.nodes[i].name) for i in inputs),
        outputs=tuple(Port(g.nodes[o].name) for o in outputs),
        params=tuple(params),
        kind="model",
        call=_block_call,
        input_dtype="any",
        version=version,
        extra={"block": name},
    )
    return BlockDef(name, g, tuple(exposed), version, spec, tuple(inputs), tuple(outputs), depth)


def _check_contents(name: str, g: EditableGraph) -> int:
    """Refuse what block ``name`` may not hold (itself, nesting past the cap, nodes that are
    not model nodes); its nesting depth."""
    check_no_self(name, g)
    depth = 1 + max((g.blocks[u].depth for u in _used(g)), default=0)
    if depth > MAX_BLOCK_DEPTH:
        raise BlockError(
            f"block {name}: blocks nested too deeply ({depth} levels; at most {MAX_BLOCK_DEPTH})"
        )
    for n in g.nodes.values():
        if n.spec.kind not in ("model", "io"):
            raise BlockError(
                f"block {name}: {n.name} is a {n.type} ({n.spec.kind} node); a block holds model "
                "nodes only"
            )
    return depth


def _used(g: EditableGraph) -> list[str]:
    """The block types ``g`` uses directly, in node order."""
    return list(dict.fromkeys(n.type for n in g.nodes.values() if n.type in g.blocks))


def _block_call(
    m: str | None, ins: Sequence[str], out: str | tuple[str, ...], p: dict[str, Any]
) -> list[str]:
    # several outputs: ``out`` is a tuple of names (``_`` for one nothing reads)
    target = out if isinstance(out, str) else ", ".join(out)
    return [f"{target} = {m}({', '.join(ins)})"]


def is_block(spec: NodeSpec) -> bool:
    return "block" in spec.extra


def check_no_self(name: str, g: EditableGraph) -> None:
    """Refuse a block ``name`` whose graph ``g`` contains it, directly or through others.

    Each block is looked into once (blocks shared along many paths, as in nested diamonds,
    would otherwise be walked once per path: 2^depth times).
    """
    if name in g.blocks:
        raise BlockError(f"block {name} contains itself ({name}{SEP}{name})")
    registry = g.blocks
    seen: set[str] = set()

    def walk(types: list[str], path: list[str]) -> None:
        for used in types:
            if used == name:
                raise BlockError(f"block {name} contains itself ({SEP.join([*path, used])})")
            d = registry.get(used)
            if d is not None and used not in seen:
                seen.add(used)
                walk(d.uses(), [*path, used])

    walk(_used(g), [name])


def dependency_order(defs: Iterable[BlockDef]) -> list[BlockDef]:
    """Definitions with every block after the blocks it uses (for saving)."""
    by_name = {d.name: d for d in defs}
    out: list[BlockDef] = []
    done: set[str] = set()

    def visit(d: BlockDef) -> None:
        if d.name in done:
            return
        done.add(d.name)
        for u in d.uses():
            if u in by_name:
                visit(by_name[u])
        out.append(d)

    for d in by_name.values():
        visit(d)
    return out


__all__ = [
    "BlockDef",
    "BlockError",
    "Exposed",
    "define",
]
