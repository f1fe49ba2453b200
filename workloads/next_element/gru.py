"""A GRU next-element predictor: embedding -> GRU -> linear head over events."""

from __future__ import annotations

import torch
from torch import nn

from workloads.nn.transformer import sequence_cross_entropy


class GRUPredictor(nn.Module):
    """``n_tokens`` includes the padding id; ``hidden`` is the GRU width (and embedding width)."""

    def __init__(self, n_tokens: int, hidden: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(n_tokens, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_tokens)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L) event ids -> (B, L, n_tokens) logits for the next event."""
        h, _ = self.gru(self.embed(x))  # (B, L, hidden)
        return self.head(h)

    def loss(self, traces: torch.Tensor, pad_id: int) -> torch.Tensor:
        """Next-event cross-entropy of padded traces ``(B, L)``, padding ignored."""
        targets = traces[:, 1:].masked_fill(traces[:, 1:] == pad_id, -100)
        return sequence_cross_entropy(self(traces[:, :-1]), targets)
