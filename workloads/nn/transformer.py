"""A tiny pre-norm Transformer (d ≤ 128) shared by workloads: causal LM or bidirectional encoder.

Written out rather than built from ``nn.TransformerEncoder`` so attention weights can be read
(analysis papers need them) and so the code reads top to bottom like nanoGPT's model.py.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F


def rotary(x: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Rotary position embedding (Su et al. 2021) of (B, nh, T, hs) queries or keys: each pair of
    channels (2i, 2i+1) at position t is rotated by the angle t * base^(-2i/hs)."""
    T, hs = x.shape[-2], x.shape[-1]
    freqs = base ** (-torch.arange(0, hs, 2, device=x.device, dtype=x.dtype) / hs)  # (hs/2,)
    ang = torch.arange(T, device=x.device, dtype=x.dtype)[:, None] * freqs  # (T, hs/2)
    cos, sin = ang.cos(), ang.sin()
    x1, x2 = x[..., 0::2], x[..., 1::2]  # (B, nh, T, hs/2) each
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2)  # (B, nh, T, hs/2, 2) -> (B, nh, T, hs)


class SelfAttention(nn.Module):
    def __init__(self, d_model: int, n_heads: int, causal: bool, rope: bool = False) -> None:
        super().__init__()
        assert d_model % n_heads == 0, f"d_model {d_model} is not divisible by n_heads {n_heads}"
        assert not rope or (d_model // n_heads) % 2 == 0, "rotary positions need an even head size"
        self.n_heads, self.causal, self.rope = n_heads, causal, rope
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.last_weights: torch.Tensor | None = None  # (B, nh, T, T), kept when record=True

    def forward(self, x: torch.Tensor, record: bool = False) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=-1)
        # (B, T, C) -> (B, nh, T, hs)
        q, k, v = (t.view(B, T, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        if self.rope:
            q, k = rotary(q), rotary(k)
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, nh, T, T)
        if self.causal:
            mask = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(mask, float("-inf"))
        weights = scores.softmax(dim=-1)
        if record:
            self.last_weights = weights.detach()
        y = weights @ v  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, nh, T, hs) -> (B, T, C)
        return self.out(y)


class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int, causal: bool, mlp_ratio: int = 4, rope: bool = False) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = SelfAttention(d_model, n_heads, causal, rope)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, mlp_ratio * d_model), nn.GELU(), nn.Linear(mlp_ratio * d_model, d_model)
        )

    def forward(self, x: torch.Tensor, record: bool = False) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), record=record)
        return x + self.mlp(self.ln2(x))


class TinyTransformer(nn.Module):
    """Token embedding + positions + ``n_layers`` blocks + a linear head.

    Args:
        vocab: input vocabulary size.
        d_model: width.
        n_layers: number of blocks.
        n_heads: attention heads per block.
        max_len: longest sequence the position table covers.
        causal: True for a left-to-right language model, False for an encoder.
        n_out: output classes per position (defaults to ``vocab``).
        pos: ``"learned"`` absolute position table (the default) or ``"rope"``: rotary
            positions inside attention (relative; no position table, any length).
    """

    def __init__(
        self,
        vocab: int,
        d_model: int = 64,
        n_layers: int = 2,
        n_heads: int = 4,
        max_len: int = 256,
        *,
        causal: bool = True,
        n_out: int | None = None,
        pos: Literal["learned", "rope"] = "learned",
    ) -> None:
        super().__init__()
        self.max_len = max_len
        self.embed = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(max_len, d_model) if pos == "learned" else None
        self.blocks = nn.ModuleList(Block(d_model, n_heads, causal, rope=pos == "rope") for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, n_out or vocab)

    def hidden(self, tokens: torch.Tensor, record: bool = False) -> torch.Tensor:
        """(B, T) token ids -> (B, T, d_model) final hidden states."""
        T = tokens.shape[1]
        x = self.embed(tokens)  # (B, T, C)
        if self.pos is not None:
            if T > self.max_len:
                raise ValueError(f"sequence length {T} exceeds max_len {self.max_len}")
            x = x + self.pos(torch.arange(T, device=tokens.device))
        for block in self.blocks:
            x = block(x, record=record)
        return self.ln_f(x)

    def forward(self, tokens: torch.Tensor, record: bool = False) -> torch.Tensor:
        """(B, T) token ids -> (B, T, n_out) logits."""
        return self.head(self.hidden(tokens, record=record))


def sequence_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """Mean token cross-entropy of (B, T, V) logits against (B, T) targets."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=ignore_index)
