"""What both importers share: adding catalog nodes with weights, shape plumbing, and the
last step that lays the graph out, compiles it and keys the weights as the compiled model
names them.

The state-dict keys are read back from a compiled model (``ModelInfo.node_of_attr``)
rather than predicted from node names, so they are the keys ``compile_model`` gives, by
construction; a weight whose shape differs from what the node builds is an error here,
not a surprise at ``load_state_dict``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from engine import names
from engine.build.compile import compile_model
from engine.build.layout import lay_out
from engine.graph import Graph, GraphError
from engine.imports.project_file import save_import
from engine.imports.report import ImportReport, ModelImportError, UnsupportedOp


class Unsupported(Exception):
    """Raised by a mapping rule: this op cannot be represented exactly (the reason)."""


@dataclass
class ImportResult:
    """An imported model: the graph, its weights keyed as ``compile_model`` names them,
    and the report."""

    graph: Graph
    state_dict: dict[str, torch.Tensor]
    report: ImportReport

    def save(
        self, project: str, *, freeze_all_but: int | None = None, overwrite: bool = False
    ) -> str:
        """Write the project and its weights beside it, the project's ``init_from`` naming
        them (see ``engine.imports.save_import``: existing files only with ``overwrite``);
        returns the weights' path."""
        return str(save_import(self, project, freeze_all_but=freeze_all_but, overwrite=overwrite))


def _tensor(v: Any) -> torch.Tensor:
    if isinstance(v, torch.Tensor):
        return v.detach().clone().contiguous()
    return torch.from_numpy(np.array(v, copy=True))


def snake(type_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", type_name).lower()


class Builder:
    """Builds one graph; ``add`` returns the new node's id."""

    def __init__(self, graph_name: str, report: ImportReport) -> None:
        self.graph = Graph(name=graph_name)
        self.report = report
        self.taken: set[str] = set()
        self.uses: dict[str, int] = {}  # base name -> times asked for (see ``name``)
        self.weights: dict[str, dict[str, torch.Tensor]] = {}

    def name(self, text: str | None, type_name: str) -> str:
        """A unique, readable identifier (``layer1.0.conv1`` → ``layer1_0_conv1``).

        The n-th use of one base name asks for ``base_n`` straight away: searching from
        ``base_2`` every time costs n² over a model of thousands of unnamed nodes."""
        base = text or snake(type_name)
        uses = self.uses[base] = self.uses.get(base, 0) + 1
        wanted = base if uses == 1 else f"{base}_{uses}"
        return names.identifier(wanted, self.taken, fallback=snake(type_name))

    def add(
        self,
        type_name: str,
        inputs: Sequence[str],
        name: str | None = None,
        weights: dict[str, Any] | None = None,
        **params: Any,
    ) -> str:
        try:
            nid = self.graph.add(type_name, name=self.name(name, type_name), **params)
        except GraphError as e:
            raise Unsupported(str(e)) from None
        for src in inputs:
            self.graph.connect(src, nid)
        if weights:
            self.weights[nid] = {k: _tensor(v) for k, v in weights.items()}
        return nid

    def plumb(
        self, src: str, in_shape: Sequence[int], out_shape: Sequence[int], name: str | None
    ) -> str:
        """Shape plumbing (reshape, flatten, squeeze …) that keeps the batch dimension:
        ``Flatten`` when it flattens every sample, else ``Reshape`` to the per-sample shape."""
        in_shape, out_shape = tuple(in_shape), tuple(out_shape)
        if not in_shape or not out_shape or in_shape[0] != out_shape[0]:
            raise Unsupported(
                f"reshapes {in_shape} to {out_shape}: the batch dimension must stay first "
                "and unchanged"
            )
        if in_shape == out_shape:
            return src
        if len(out_shape) == 2 and len(in_shape) > 2:
            return self.add("Flatten", [src], name)
        return self.add("Reshape", [src], name, shape=list(out_shape[1:]))

    def output(self, src: str, name: str) -> str:
        return self.add("Output", [src], name)

    def finish(self) -> tuple[nn.Module, dict[str, torch.Tensor]]:
        """Fail with every unsupported op, else lay out, compile, and key the weights."""
        rep = self.report
        if rep.unsupported:
            raise ModelImportError.unsupported(rep, file=rep.source)
        lay_out(self.graph)
        try:
            model = compile_model(self.graph)
        except GraphError as e:
            raise ModelImportError(
                f"{rep.source}: the imported graph does not check: {e}", rep, file=rep.source
            ) from None
        attr_of = {nid: attr for attr, nid in model.torchwire.node_of_attr.items()}
        template = model.state_dict()
        sd: dict[str, torch.Tensor] = {}
        for nid, ws in self.weights.items():
            node = self.graph.nodes[nid]
            for k, t in ws.items():
                key = f"{attr_of[nid]}.{k}"
                want = template.get(key)
                if want is None:
                    raise ModelImportError(f"{node.name}: the node has no weight {k!r}", rep)
                if tuple(want.shape) != tuple(t.shape):
                    raise ModelImportError(
                        f"{node.name}: {k} has shape {tuple(t.shape)} in the model, the "
                        f"{node.type} node builds {tuple(want.shape)}",
                        rep,
                        node=nid,
                    )
                sd[key] = t.to(want.dtype)
        for key, t in template.items():
            if key not in sd:
                if key.endswith("num_batches_tracked"):
                    sd[key] = t.clone()
                else:
                    raise ModelImportError(f"{rep.source}: no weight found for {key}", rep)
        model.load_state_dict(sd, strict=True)
        model.eval()
        rep.nodes = len(self.graph.nodes)
        rep.params = sum(p.numel() for p in model.parameters())
        return model, sd

    def unsupported(self, name: str, op: str, location: str, reason: str) -> None:
        self.report.unsupported.append(UnsupportedOp(name, op, location, reason))


def max_abs_diff(ours: Sequence[Any], theirs: Sequence[Any]) -> float:
    """Largest absolute difference over every output pair (shapes must agree)."""
    worst = 0.0
    if len(ours) != len(theirs):
        raise ValueError(f"{len(ours)} outputs against {len(theirs)}")
    for a, b in zip(ours, theirs, strict=True):
        ta = torch.as_tensor(a).detach().double()
        tb = torch.as_tensor(b).detach().double()
        if tuple(ta.shape) != tuple(tb.shape):
            raise ValueError(f"output shape {tuple(ta.shape)} against {tuple(tb.shape)}")
        if ta.numel():
            worst = max(worst, float((ta - tb).abs().max()))
    return worst


def check_parity(
    rep: ImportReport, ours: Sequence[Any], theirs: Sequence[Any], batch: int, tolerance: float
) -> None:
    """Record the difference to the original; a larger one than ``tolerance`` fails."""
    try:
        diff = max_abs_diff(ours, theirs)
    except ValueError as e:
        raise ModelImportError(
            f"{rep.source}: the imported model's outputs differ: {e}", rep
        ) from None
    rep.max_abs_diff, rep.checked_batch = diff, batch
    if not diff <= tolerance:
        raise ModelImportError(
            f"{rep.source}: the imported model's outputs differ from the original's by "
            f"{diff:.3g} (more than {tolerance:g}); this is a bug of the importer, please "
            "report it with the model",
            rep,
            file=rep.source,
        )
