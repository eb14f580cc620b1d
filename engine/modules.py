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


class LearnedTensor(nn.Module):
    """A learned tensor of a fixed shape, the same for every sample (a CLS token, learned
    positions): ``forward(x)`` returns it expanded over ``x``'s batch (a view, no copy)."""

    def __init__(self, shape: tuple[int, ...], init: str = "zeros", std: float = 0.02) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(shape))
        if init == "normal":
            nn.init.normal_(self.weight, std=std)
        elif init == "trunc_normal":
            nn.init.trunc_normal_(self.weight, std=std, a=-2 * std, b=2 * std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # a view made under no_grad would still require grad: detach it there
        w = self.weight if torch.is_grad_enabled() else self.weight.detach()
        return w.expand(x.shape[0], *w.shape)


class SinusoidalEncoding(nn.Module):
    """Adds the fixed sine/cosine positions of Vaswani et al. (2017) to a (T, E) sequence:
    PE[t, 2i] = sin(t / base^(2i/E)), PE[t, 2i+1] = cos(t / base^(2i/E))."""

    def __init__(self, length: int, dim: int, base: float = 10000.0) -> None:
        super().__init__()
        t = torch.arange(length, dtype=torch.float32).unsqueeze(1)
        freq = 1.0 / base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)
        pe = torch.zeros(length, dim)
        pe[:, 0::2] = torch.sin(t * freq)
        pe[:, 1::2] = torch.cos(t * freq)[:, : dim // 2]
        self.register_buffer("pe", pe, persistent=False)  # rebuilt, never saved

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe


CUSTOM_MODULES: dict[str, type[nn.Module]] = {
    "Maxout": Maxout,
    "LearnedTensor": LearnedTensor,
    "SinusoidalEncoding": SinusoidalEncoding,
}
