"""A small DeltaProduct sequence tagger: embedding → [RMSNorm → mixer, RMSNorm → MLP] × L → head."""

from __future__ import annotations

import torch
from torch import nn

from workloads.nn.linear_attention import DeltaNetMixer


class Block(nn.Module):
    """Pre-norm residual block: DeltaProduct token mixer, then a SwiGLU-free GELU MLP (4×)."""

    def __init__(self, d_model: int, n_heads: int, head_dim: int, n_householder: int, negative: bool, backend: str | None,
                 short_conv: bool = True) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.RMSNorm(d_model), nn.RMSNorm(d_model)
        self.mixer = DeltaNetMixer(
            d_model, n_heads, head_dim, n_householder=n_householder,
            allow_negative_eigenvalues=negative, use_short_conv=short_conv, backend=backend,
        )
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, d) -> (B, T, d)``."""
        x = x + self.mixer(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class DeltaProductTagger(nn.Module):
    """Per-token classifier over ``n_classes`` from tokens ``(B, T)``: logits ``(B, T, n_classes)``."""

    def __init__(self, n_classes: int, d_model: int, n_heads: int, head_dim: int, layers: int,
                 n_householder: int, negative: bool, backend: str | None = None, short_conv: bool = True) -> None:
        super().__init__()
        self.embed = nn.Embedding(n_classes, d_model)
        self.blocks = nn.ModuleList(
            Block(d_model, n_heads, head_dim, n_householder, negative, backend, short_conv) for _ in range(layers)
        )
        self.norm = nn.RMSNorm(d_model)
        self.head = nn.Linear(d_model, n_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(B, T) -> (B, T, n_classes)``."""
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))
