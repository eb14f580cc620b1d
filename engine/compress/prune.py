"""Pruning a trained project: unstructured magnitude pruning and structured channel pruning.

Both compute their masks with ``torch.nn.utils.prune`` (``l1_unstructured``,
``global_unstructured``, ``ln_structured``) and make them permanent (``prune.remove``).

- **Unstructured** zeroes the smallest weights of every Conv/Linear, per layer or by one
  global threshold; the graph keeps its shape (the report counts the non-zero weights).
- **Structured** removes whole output channels (Conv) or neurons (Linear) with the
  smallest L1/L2 norms, and *really* shrinks the project: the node's ``out_channels`` /
  ``out_features`` drop, and the tensors of the layers that read them are sliced too
  (BatchNorm's weight, bias and running statistics; the next Conv's input channels; the
  next Linear's input columns, through a ``Flatten`` as ``channel × spatial`` blocks).
  The result is an ordinary project whose input sizes the check infers again.

A layer is pruned only when every path from its output reaches layers that read its
channels (a Conv with ``groups`` 1 or a Linear) through element-wise activations, Dropout,
pooling, BatchNorm or a full ``Flatten``. Outputs that feed an ``Add``, a ``Concat``, a
``Mul``, a model output, a loss or anything else are **left alone** (their channels are
tied to another branch's), so skip connections stay correct; ``prunable_layers`` lists
which layers qualify and why the others do not.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.utils import prune

from engine.analysis.check import check
from engine.compress.errors import CompressError
from engine.runtime.loop import Callback, EpochEnd, Trainer

# Layers whose output channels (dim 0 of the weight) can be removed.
PRODUCERS = ("Conv1d", "Conv2d", "Conv3d", "Linear")
# Layers that pass channels through one for one (no parameters over the channels).
PASS_THROUGH = frozenset(
    {
        "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish",
        "Sigmoid", "Tanh", "Hardtanh", "Hardswish", "Softplus", "Softsign", "Identity",
        "Dropout", "Dropout2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
        "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
    }
)  # fmt: skip
NORMS = frozenset({"BatchNorm1d", "BatchNorm2d"})
WEIGHTED = ("Conv1d", "Conv2d", "Conv3d", "Linear", "ConvTranspose1d", "ConvTranspose2d")


@dataclass
class Plan:
    """What pruning one producer touches: norms to slice, consumers and their index blocks."""

    node: str
    norms: list[tuple[str, int]] = field(default_factory=list)  # (node, block size)
    consumers: list[tuple[str, int]] = field(default_factory=list)  # (node, block size)


def _attrs(model: nn.Module) -> dict[str, str]:
    """node id → the model's attribute for it."""
    info = model.torchwire  # type: ignore[union-attr]
    return {nid: attr for attr, nid in info.node_of_attr.items()}


def _walk(g: Any, rep: Any, start: str) -> tuple[Plan | None, str]:
    """The plan for pruning ``start``'s outputs, or None and the reason it is left alone."""
    plan = Plan(start)
    outputs = set(rep.outputs)
    if start in outputs:
        return None, "it is a model output"
    todo: list[tuple[str, int, bool]] = [(start, 1, len(rep.shapes[start]) == 1)]
    seen: set[tuple[str, int]] = set()
    while todo:
        nid, block, flat = todo.pop()
        outs = [e for e in g.out_edges(nid)]
        if not outs:
            return None, f"{g.nodes[nid].name} ends the model"
        for e in outs:
            dst = g.nodes[e.dst]
            if (e.dst, block) in seen:
                continue
            seen.add((e.dst, block))
            t = dst.type
            if dst.spec.kind != "model":
                return None, f"it feeds {dst.name} ({t}) directly"
            if t in ("Conv1d", "Conv2d", "Conv3d"):
                if flat or dst.params.get("groups", 1) != 1:
                    return None, f"{dst.name} reads its channels grouped or flattened"
                plan.consumers.append((e.dst, block))
            elif t == "Linear":
                if not flat:
                    return None, f"{dst.name} reads its last dimension, not its channels"
                plan.consumers.append((e.dst, block))
            elif t in NORMS:
                plan.norms.append((e.dst, block))
                if e.dst in outputs:
                    return None, f"{dst.name} is a model output"
                todo.append((e.dst, block, flat))
            elif t in PASS_THROUGH:
                if e.dst in outputs:
                    return None, f"{dst.name} is a model output"
                todo.append((e.dst, block, flat))
            elif t == "Flatten":
                shape = rep.shapes[nid]
                end = dst.params.get("end_dim", -1)
                if dst.params.get("start_dim", 1) != 1 or end not in (-1, len(shape)):
                    return None, f"{dst.name} does not flatten all of the channels' dimensions"
                if e.dst in outputs:
                    return None, f"{dst.name} is a model output"
                spatial = 1
                for d in shape[1:]:
                    spatial *= int(d)
                todo.append((e.dst, block * spatial, True))
            else:  # Add, Concat, Mul, attention, recurrent layers, reshapes…
                return None, f"it feeds {dst.name} ({t}), whose channels are tied to others"
    if not plan.consumers:
        return None, "no layer reads its channels"
    return plan, ""


FROZEN_HINT = "prune_frozen / --prune-frozen prunes it too and unfreezes it for the fine-tune"


def prunable_layers(
    g: Any, rep: Any, *, prune_frozen: bool = False
) -> tuple[dict[str, Plan], dict[str, str]]:
    """Structured pruning's plans per prunable layer, and why each other layer is left alone.

    A frozen layer was meant to keep its weights (an imported backbone): it is left alone,
    and so is a layer whose channels a frozen layer reads (slicing its columns would change
    it too), unless ``prune_frozen``; ``touched`` lists what a plan changes."""
    plans: dict[str, Plan] = {}
    alone: dict[str, str] = {}
    for nid in rep.order:
        node = g.nodes[nid]
        if node.type not in PRODUCERS or nid not in rep.shapes:
            continue
        if node.frozen and not prune_frozen:
            alone[nid] = f"frozen ({FROZEN_HINT})"
            continue
        if node.type != "Linear" and node.params.get("groups", 1) != 1:
            alone[nid] = "grouped convolution"
            continue
        if node.type == "Linear" and len(rep.shapes[nid]) != 1:
            alone[nid] = "its output is not a plain feature vector"
            continue
        plan, why = _walk(g, rep, nid)
        frozen = [g.nodes[t].name for t in touched(plan) if g.nodes[t].frozen] if plan else []
        if plan is not None and frozen and not prune_frozen:
            plan, why = None, f"its channels are read by {frozen[0]}, which is frozen"
        if plan is None:
            alone[nid] = why
        else:
            plans[nid] = plan
    return plans, alone


def touched(plan: Plan) -> list[str]:
    """The nodes whose weights pruning a plan's layer changes: itself, norms, consumers."""
    return [plan.node, *(n for n, _ in plan.norms), *(n for n, _ in plan.consumers)]


def _width(node: Any) -> int:
    return int(node.params["out_features" if node.type == "Linear" else "out_channels"])


def _expand(idx: torch.Tensor, block: int) -> torch.Tensor:
    if block == 1:
        return idx
    return (idx[:, None] * block + torch.arange(block)[None, :]).reshape(-1)


@dataclass
class StructuredResult:
    graph: Any
    state_dict: dict[str, torch.Tensor]
    kept: dict[str, tuple[int, int]]  # node → (kept, original) channels
    left_alone: dict[str, str]


def prune_structured(
    g: Any,
    model: nn.Module,
    amount: float | dict[str, float],
    norm: int = 1,
    keep: dict[str, int] | None = None,
    *,
    prune_frozen: bool = False,
) -> StructuredResult:
    """Remove ``amount`` (a fraction, or per node id) of each prunable layer's channels.

    ``keep`` (node → channels) fixes the counts instead (the iterative schedule's steps).
    The channels with the smallest L``norm`` norms go (``prune.ln_structured``); at least
    one channel stays. Frozen layers are left alone unless ``prune_frozen`` (see
    ``prunable_layers``). Returns the smaller project and its sliced weights.
    """
    if norm not in (1, 2):
        raise CompressError(f"structured pruning ranks channels by the L1 or L2 norm, not L{norm}")
    rep = check(g)
    if not rep.ok:
        raise CompressError("the project has problems; fix them before pruning")
    plans, alone = prunable_layers(g, rep, prune_frozen=prune_frozen)
    if not plans:
        why = "; ".join(f"{g.nodes[n].name}: {w}" for n, w in alone.items()) or "no Conv/Linear"
        raise CompressError(f"no layer can be pruned structurally ({why})")
    attrs = _attrs(model)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    kept_idx: dict[str, torch.Tensor] = {}
    kept: dict[str, tuple[int, int]] = {}
    for nid in plans:
        node = g.nodes[nid]
        n = _width(node)
        if keep is not None:
            k = max(1, min(n, int(keep.get(nid, n))))
        else:
            frac = amount.get(nid, 0.0) if isinstance(amount, dict) else float(amount)
            if not 0.0 <= frac < 1.0:
                raise CompressError(f"the pruning amount must be in [0, 1), got {frac:g}")
            k = max(1, n - round(n * frac))
        mod = copy.deepcopy(getattr(model, attrs[nid]))
        if k < n:
            prune.ln_structured(mod, "weight", amount=n - k, n=norm, dim=0)
            mask = mod.weight_mask.reshape(n, -1).sum(1) > 0
            idx = torch.nonzero(mask).reshape(-1)
        else:
            idx = torch.arange(n)
        kept_idx[nid] = idx
        kept[nid] = (len(idx), n)
    out = g.copy()
    if g.source_path:
        out.source_path = g.source_path
    for nid, idx in kept_idx.items():
        attr = attrs[nid]
        for p in ("weight", "bias"):
            key = f"{attr}.{p}"
            if key in sd:
                sd[key] = sd[key].index_select(0, idx).clone()
        plan = plans[nid]
        for bn, block in plan.norms:
            bidx = _expand(idx, block)
            for p in ("weight", "bias", "running_mean", "running_var"):
                key = f"{attrs[bn]}.{p}"
                if key in sd:
                    sd[key] = sd[key].index_select(0, bidx).clone()
        for cons, block in plan.consumers:
            key = f"{attrs[cons]}.weight"
            sd[key] = sd[key].index_select(1, _expand(idx, block)).clone()
        field_name = "out_features" if g.nodes[nid].type == "Linear" else "out_channels"
        out.set(nid, **{field_name: len(idx)})
    return StructuredResult(out, sd, kept, alone)


def weighted_modules(model: nn.Module, skip: Iterable[str] = ()) -> list[tuple[str, nn.Module]]:
    """(attribute, module) of every Conv/Linear whose weights unstructured pruning ranks,
    but those at or under the attributes in ``skip``."""
    skipped = tuple(skip)
    return [
        (name, m)
        for name, m in model.named_modules()
        if type(m).__name__ in WEIGHTED
        and isinstance(getattr(m, "weight", None), torch.Tensor)
        and not any(name == s or name.startswith(s + ".") for s in skipped)
    ]


def prune_unstructured(
    model: nn.Module, amount: float, scope: str = "layer", skip: Iterable[str] = ()
) -> dict[str, torch.Tensor]:
    """Zero ``amount`` of the Conv/Linear weights by magnitude, in place; returns the masks.

    ``scope`` ``"layer"``: that fraction of every layer (``prune.l1_unstructured``);
    ``"global"``: the smallest weights over all layers together (``prune.global_unstructured``).
    Already zero weights count among the pruned, so a schedule can raise the amount step by
    step. The masks (state-dict key → bool tensor) keep them zero during fine-tuning.
    ``skip``: the model's attributes (frozen layers) left as they are.
    """
    if not 0.0 <= amount < 1.0:
        raise CompressError(f"the pruning amount must be in [0, 1), got {amount:g}")
    if scope not in ("layer", "global"):
        raise CompressError(f"pruning scope is 'layer' or 'global', not {scope!r}")
    skip = tuple(skip)
    mods = weighted_modules(model, skip)
    if not mods:
        raise CompressError(
            "the model has no Conv or Linear weights to prune"
            + (f" but frozen ones ({FROZEN_HINT})" if skip and weighted_modules(model) else "")
        )
    if scope == "global":
        prune.global_unstructured(
            [(m, "weight") for _, m in mods], pruning_method=prune.L1Unstructured, amount=amount
        )
    else:
        for _, m in mods:
            prune.l1_unstructured(m, "weight", amount=amount)
    masks = {}
    for name, m in mods:
        masks[f"{name}.weight"] = m.weight_mask.detach().bool().clone()
        prune.remove(m, "weight")
    return masks


class KeepPruned(Callback):
    """Fine-tuning keeps the sparsity: masked weights get no gradient (a hook on each
    parameter) and are re-zeroed after every epoch."""

    def __init__(self, masks: dict[str, torch.Tensor]) -> None:
        self.masks = masks
        self._handles: list[Any] = []

    def on_start(self, trainer: Trainer) -> None:
        self.attach(trainer.model)

    def on_epoch_end(self, trainer: Trainer, info: EpochEnd) -> None:
        self.apply(trainer.model)

    def on_end(self, trainer: Trainer) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def attach(self, model: nn.Module) -> None:
        params = dict(model.named_parameters())
        for k, m in self.masks.items():
            p = params[k]
            mask = m.to(p.device, p.dtype)
            self._handles.append(p.register_hook(lambda grad, mask=mask: grad * mask))

    def apply(self, model: nn.Module) -> None:
        with torch.no_grad():
            params = dict(model.named_parameters())
            for k, m in self.masks.items():
                params[k].mul_(m.to(params[k].device, params[k].dtype))


def sparsity(state_dict: dict[str, torch.Tensor], keys: Iterable[str] | None = None) -> float:
    """The fraction of zero weights among ``keys`` (default: every ``*.weight``)."""
    ks = list(keys) if keys is not None else [k for k in state_dict if k.endswith(".weight")]
    total = sum(state_dict[k].numel() for k in ks)
    zeros = sum(int((state_dict[k] == 0).sum()) for k in ks)
    return zeros / total if total else 0.0
