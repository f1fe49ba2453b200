"""MQAR model: embedding (+ outlier noise) → [x + mixer(x), x + MLP(norm x)] × L → head.

The mixers take the residual stream without a pre-norm, so a large-norm outlier reaches the
memory's keys and values as the paper's noisy setting intends (a pre-norm would erase it).
"""

from __future__ import annotations

import torch
from torch import nn

from workloads.nn.linear_attention import DeltaNetMixer
from workloads.nn.miras import MirasMixer

MEMORY = {"linear": "dot", "moneta": "lp", "yaad": "huber", "memora": "kl"}


def make_mixer(variant: str, cfg) -> nn.Module:
    """The token mixer of ``variant``: DeltaNet from nn.linear_attention, the rest from nn.miras."""
    if variant == "deltanet":
        return DeltaNetMixer(cfg.d_model, cfg.n_heads, cfg.head_dim, backend=cfg.backend)
    return MirasMixer(cfg.d_model, cfg.n_heads, cfg.head_dim, MEMORY[variant], p=cfg.p, q_norm=cfg.q_norm, kl_lr=cfg.kl_lr,
                      backend=cfg.backend)


class MQARModel(nn.Module):
    """Logits ``(B, T, vocab)`` from tokens ``(B, T)`` and embedding noise ``(B, T, d_model)``."""

    def __init__(self, vocab: int, cfg) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, cfg.d_model)
        self.mixers = nn.ModuleList(make_mixer(cfg.variant, cfg) for _ in range(cfg.layers))
        self.mlps = nn.ModuleList(
            nn.Sequential(nn.RMSNorm(cfg.d_model), nn.Linear(cfg.d_model, 2 * cfg.d_model), nn.GELU(),
                          nn.Linear(2 * cfg.d_model, cfg.d_model))
            for _ in range(cfg.layers)
        )
        self.norm = nn.RMSNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, vocab)

    def forward(self, tokens: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, T) -> (B, T, vocab)``."""
        x = self.embed(tokens)
        if noise is not None and noise.shape[-1]:
            x = x + noise
        for mixer, mlp in zip(self.mixers, self.mlps):
            x = x + mixer(x)
            x = x + mlp(x)
        return self.head(self.norm(x))
