"""StructFormer (Shen et al. 2021): a parser of syntactic distances and heights whose induced
dependency distribution gates every attention head, trained only by masked language modelling.

Reading order: parser (distance, height) -> constituents (``block``) -> heads -> parent
distribution p_D(j | i) -> dependency-gated attention -> MLM logits. Distances and heights
are compared through sigmoids, so the whole structure is differentiable.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class Parser(nn.Module):
    """Convolutions over embeddings -> a distance per gap and a height per word."""

    def __init__(self, d: int, n_layers: int, conv: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv1d(d, d, conv, padding=conv // 2) for _ in range(n_layers))
        self.norm = nn.LayerNorm(d, elementwise_affine=False)
        self.gap = nn.Conv1d(d, d, 2)  # sees words i and i+1
        self.distance_out = nn.Linear(d, 1)
        self.height_ff = nn.Sequential(nn.Linear(d, d), nn.LayerNorm(d, elementwise_affine=False), nn.Tanh(), nn.Linear(d, 1))

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, L, d) -> distance (B, L) with a +inf-like sentence boundary last, height (B, L)."""
        for conv in self.convs:
            h = torch.tanh(self.norm(conv(h.transpose(1, 2)).transpose(1, 2)))  # (B, L, d) via (B, d, L)
        g = torch.tanh(self.norm(self.gap(h.transpose(1, 2)).transpose(1, 2)))  # (B, L-1, d)
        distance = self.distance_out(g).squeeze(-1)  # (B, L-1)
        distance = F.pad(distance, (0, 1), value=1e4)  # (B, L): the gap after the last word closes everything
        height = self.height_ff(h).squeeze(-1)  # (B, L)
        return distance, height


def _cummin_reverse(x: torch.Tensor) -> torch.Tensor:
    return x.flip(-1).cummin(-1)[0].flip(-1)


def parent_distribution(distance: torch.Tensor, height: torch.Tensor, scale_block: torch.Tensor, scale_head: torch.Tensor) -> torch.Tensor:
    """p_D[b, i, j]: probability that word j is the parent of word i (diagonal zero).

    Word i's constituent extends over every gap whose distance is below i's height; its
    left/right boundary distributions come from cumulative minima of those probabilities,
    and its head is a softmax of heights inside the span.
    """
    B, L = height.shape
    inside = torch.sigmoid(-(distance[:, None, :] - height[:, :, None]) * scale_block)  # (B, i, gap j)
    ones = torch.ones_like(inside)
    # P(left boundary <= j) for j <= i: all gaps j..i-1 inside
    left_cdf = _cummin_reverse(inside.tril(-1) + ones.triu(0))  # (B, i, j)
    left = (left_cdf - F.pad(left_cdf[:, :, :-1], (1, 0))).tril(0)  # P(left boundary = j)
    # P(right boundary >= j) for j >= i: all gaps i..j-1 inside
    right_cdf = F.pad((inside.triu(0) + ones.tril(-1))[:, :, :-1], (1, 0), value=1.0).cummin(-1)[0]
    right = (right_cdf - F.pad(right_cdf[:, :, 1:], (0, 1))).triu(0)  # P(right boundary = j)
    span = left[:, :, :, None] * right[:, :, None, :]  # (B, i, l, r)
    idx = torch.arange(L, device=height.device)
    in_span = (idx[:, None, None] <= idx[None, None, :]) & (idx[None, None, :] <= idx[None, :, None])  # (l, r, k)
    head_logits = (height * scale_head)[:, None, None, :].expand(B, L, L, L)  # (B, l, r, k)
    head = head_logits.masked_fill(~in_span, -1e9).softmax(-1)
    parent = torch.einsum("bilr,blrk->bik", span, head)  # (B, i, k)
    return parent.masked_fill(torch.eye(L, dtype=torch.bool, device=height.device), 0.0)


class GatedBlock(nn.Module):
    """Pre-norm block whose attention is sigmoid(q·k) times a per-head dependency gate."""

    def __init__(self, d: int, n_heads: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        """x (B, L, d), gate (B, nh, L, L) -> (B, L, d)."""
        B, L, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=-1)
        # (B, L, C) -> (B, nh, L, hs)
        q, k, v = (t.view(B, L, self.n_heads, C // self.n_heads).transpose(1, 2) for t in (q, k, v))
        weights = torch.sigmoid(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])) * gate  # (B, nh, L, L)
        y = (self.drop(weights) @ v).transpose(1, 2).reshape(B, L, C)  # (B, nh, L, hs) -> (B, L, C)
        x = x + self.drop(self.out(y))
        return x + self.drop(self.mlp(self.ln2(x)))


class StructFormer(nn.Module):
    """Embedding -> parser -> dependency-gated blocks -> tied MLM head (no position embedding)."""

    def __init__(self, vocab: int, d: int, n_layers: int, n_heads: int, parser_layers: int, conv: int, dropout: float) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        self.parser = Parser(d, parser_layers, conv)
        self.blocks = nn.ModuleList(GatedBlock(d, n_heads, dropout) for _ in range(n_layers))
        self.rel_logits = nn.Parameter(0.1 * torch.randn(n_layers, n_heads, 2))  # mix of parent / child
        self.log_scale = nn.Parameter(torch.zeros(2))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)
        self.head.weight = self.embed.weight

    def structure(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, L) -> distance (B, L), height (B, L), parent distribution (B, L, L)."""
        distance, height = self.parser(self.embed(tokens))
        scale = self.log_scale.exp()
        return distance, height, parent_distribution(distance, height, scale[0], scale[1])

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, L) token ids -> (B, L, vocab) MLM logits."""
        _, _, parent = self.structure(tokens)
        relations = torch.stack([parent, parent.transpose(1, 2)], dim=1)  # (B, 2, L, L): parent, child
        mix = self.rel_logits.softmax(-1)  # (layers, nh, 2)
        x = self.embed(tokens)
        for layer, block in enumerate(self.blocks):
            gate = torch.einsum("hr,brij->bhij", mix[layer], relations)  # (B, nh, L, L)
            x = block(x, gate)
        return self.head(self.ln_f(x))
