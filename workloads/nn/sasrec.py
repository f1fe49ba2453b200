"""SASRec (Kang and McAuley 2018, arXiv 1808.09781): causal self-attention over a user's items.

The model reads a right-padded sequence of item vectors ``(B, T, C)`` (ID embeddings, or any
other item features such as summed attribute embeddings), adds learned positions and runs
pre-norm causal Transformer blocks (``workloads.nn.transformer.Block``); the hidden state at
position t summarises items 0..t and scores the next item by a dot product with the item table.
Right padding is harmless under a causal mask: no real position attends to a later pad.

Per-token queries make this full causal self-attention; the ``prefix_attention`` kernel covers
one query per head (attention pooling), which IDNP uses instead.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from workloads.nn.transformer import Block


class SASRec(nn.Module):
    """Positions + ``n_layers`` causal blocks + a final LayerNorm over item vectors.

    Args:
        d_model: width of the item vectors it reads and of its output.
        n_layers: causal Transformer blocks.
        n_heads: attention heads per block.
        max_len: longest sequence the position table covers.
        dropout: dropout on the input vectors (SASRec's embedding dropout).
    """

    def __init__(self, d_model: int, n_layers: int, n_heads: int, max_len: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.max_len = max_len
        self.pos = nn.Embedding(max_len, d_model)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(d_model, n_heads, causal=True) for _ in range(n_layers))
        self.ln_f = nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) item vectors -> (B, T, C) hidden states, position t seeing items ≤ t."""
        T = x.shape[1]
        if T > self.max_len:
            raise ValueError(f"SASRec: sequence length {T} exceeds max_len {self.max_len}")
        h = self.drop(x + self.pos(torch.arange(T, device=x.device)))
        for block in self.blocks:
            h = block(h)
        return self.ln_f(h)


def gather_last(h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The hidden state at each row's last real position: (B, T, C), (B,) lengths ≥ 1 -> (B, C)."""
    idx = (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, h.shape[-1])  # (B, 1, C)
    return h.gather(1, idx).squeeze(1)


def next_item_loss(h: torch.Tensor, item_table: torch.Tensor, targets: torch.Tensor, ignore_index: int = -1) -> torch.Tensor:
    """Full-softmax next-item cross-entropy: hidden ``(B, T, C)`` against ``item_table`` ``(I, C)``;
    ``targets`` ``(B, T)`` item ids, ``ignore_index`` where there is no next item."""
    logits = h @ item_table.T  # (B, T, I)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=ignore_index)
