"""Lints of the model's structure: layers that collapse into one, dead ends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from engine.analysis.fixes import insert_fix
from engine.analysis.lints.registry import Finding, Part, lint
from engine.analysis.lints.util import is_model, model_out, single_source

if TYPE_CHECKING:
    from engine.analysis.report import CheckContext

# Layers that compute a linear (affine) map of their input.
LINEAR_LAYERS = frozenset(
    {"Linear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d"}
)
# Nodes that are linear too, so two layers with only these between them still collapse:
# reshaping, Dropout (a fixed scaling at inference, a per-sample mask while training —
# neither bends the map), BatchNorm (an affine map at inference) and average pooling.
SEE_THROUGH = frozenset(
    {
        "Flatten",
        "Unflatten",
        "Reshape",
        "Permute",
        "Identity",
        "Dropout",
        "Dropout2d",
        "BatchNorm1d",
        "BatchNorm2d",
        "AvgPool1d",
        "AvgPool2d",
        "AdaptiveAvgPool1d",
        "AdaptiveAvgPool2d",
    }
)


@lint(
    "linear-collapse",
    "warning",
    "two linear layers in a row with nothing non-linear between them",
    "{node}: {first} and {node} are linear layers with nothing non-linear between them{between}, "
    "so together they compute no more than one layer; put an activation such as ReLU between "
    "them",
    """Two Linear (or convolution) layers in a row, with only reshaping, Dropout, BatchNorm
    or average pooling between them, multiply into one linear map: the second layer adds
    parameters and compute but no power to learn curves. The check sees through Flatten,
    Reshape, Permute, Identity, Dropout (a scaling, not a bend), BatchNorm (an affine map at
    inference) and average pooling. A deliberate low-rank factorization is the exception:
    silence the lint on the node with that reason. (A Linear fed images directly is first
    told to add a Flatten; this lint speaks once the Flatten is there.)""",
    fix="inserts a ReLU just before the second layer",
    parts={"between": " (only {names})"},
)
def linear_collapse(ctx: CheckContext) -> Iterator[Finding]:
    g = ctx.graph
    for nid in ctx.report.order:
        node = g.nodes[nid]
        if node.type not in LINEAR_LAYERS or nid not in ctx.report.shapes:
            continue
        into = single_source(ctx, nid)
        if into is None:
            continue
        src_shape = ctx.report.shape_of(into.src, into.src_port)
        if node.type == "Linear" and src_shape is not None and len(src_shape) >= 3:
            continue  # the check first asks for a Flatten here; one problem at a time
        cur, passed, seen = into.src, [], {nid}
        while cur not in seen and g.nodes[cur].type in SEE_THROUGH:
            seen.add(cur)
            passed.append(g.nodes[cur].name)
            e = single_source(ctx, cur)
            if e is None:
                break
            cur = e.src
        if g.nodes[cur].type not in LINEAR_LAYERS or cur in seen:
            continue
        yield Finding(
            nid,
            {
                "first": g.nodes[cur].name,
                "between": Part("between", {"names": ", ".join(reversed(passed))})
                if passed
                else "",
            },
            fix=insert_fix(g, "ReLU", into),
            port=into.dst_port,
        )


def _explicit_outputs(ctx: CheckContext) -> bool:
    g = ctx.graph
    return any(g.nodes[n].type == "Output" and is_model(g.nodes[n]) for n in ctx.report.order)


@lint(
    "unused-output",
    "warning",
    "a layer whose output nothing uses",
    "{node}: output is not used",
    """With Output nodes marking the model's outputs, a layer whose output goes nowhere is
    computed for nothing (the compiled model leaves it out). Usually a wire is missing, or
    the node is left over from an edit; connect it or delete it.""",
)
def unused_output(ctx: CheckContext) -> Iterator[Finding]:
    g, rep = ctx.graph, ctx.report
    if not _explicit_outputs(ctx):
        return
    for nid in rep.order:
        n = g.nodes[nid]
        if not is_model(n) or n.type in ("Output", "Input") or nid not in rep.shapes:
            continue
        if not ctx.out_edges[nid]:
            yield Finding(nid)


@lint(
    "unused-input",
    "warning",
    "an Input that nothing reads",
    "{node}: this input is not used",
    """An Input node that no layer reads: the model will still ask for it (or it was meant
    to feed a branch whose wire is missing). Connect it to the first layer, or delete it.""",
)
def unused_input(ctx: CheckContext) -> Iterator[Finding]:
    g, rep = ctx.graph, ctx.report
    for nid in rep.order:
        n = g.nodes[nid]
        if n.type == "Input" and nid in rep.shapes and not model_out(ctx, nid):
            yield Finding(nid)


@lint(
    "unused-data",
    "warning",
    "a data node whose data nothing uses",
    "{node}: nothing uses this data; connect its data output towards the model's Input, or "
    "delete it",
    """A dataset or preprocessing node with nothing connected to its outputs, in a project
    that has a model: it is loaded and prepared on every check but trains nothing. Often
    the wire to the next preprocessing step or to the Input is missing, so the model trains
    on data without that step.""",
)
def unused_data(ctx: CheckContext) -> Iterator[Finding]:
    g = ctx.graph
    if not any(n.type == "Input" for n in g.nodes.values()):
        return
    for nid, n in g.nodes.items():
        if n.spec.kind == "data" and not ctx.out_edges[nid] and nid in ctx.report.data:
            yield Finding(nid)
