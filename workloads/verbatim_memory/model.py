"""The two language models compared: the shared tiny Transformer and a 1-layer LSTM."""

from __future__ import annotations

import torch
from torch import nn


class LSTMLM(nn.Module):
    """Embedding -> 1-layer LSTM -> linear head (the toy AWD-LSTM stand-in)."""

    def __init__(self, vocab: int, d_embed: int, hidden: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d_embed)
        self.lstm = nn.LSTM(d_embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) token ids -> (B, T, vocab) logits."""
        h, _ = self.lstm(self.embed(tokens))  # (B, T, hidden)
        return self.head(h)


def make_model(cfg, vocab: int) -> nn.Module:
    """The LM that ``cfg.arch`` names, sized by ``cfg``."""
    if cfg.arch == "lstm":
        return LSTMLM(vocab, cfg.d_model, cfg.lstm_hidden)
    from workloads.nn.transformer import TinyTransformer

    return TinyTransformer(vocab, cfg.d_model, cfg.n_layers, cfg.n_heads, max_len=max(cfg.doc_len, 128), pos=cfg.pos)
