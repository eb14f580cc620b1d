"""Layers Torchwire offers that torch does not ship; exported code inlines their source."""

from __future__ import annotations

import torch
from torch import nn


class Maxout(nn.Module):
    """Maxout (Goodfellow et al., 2013): a Linear layer with ``pieces`` outputs per unit, max-pooled."""

    def __init__(self, in_features: int, out_features: int, pieces: int = 2) -> None:
        super().__init__()
        self.out_features = out_features
        self.pieces = pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.linear(x)
        y = y.view(*y.shape[:-1], self.out_features, self.pieces)
        return y.amax(dim=-1)


CUSTOM_MODULES: dict[str, type[nn.Module]] = {"Maxout": Maxout}
