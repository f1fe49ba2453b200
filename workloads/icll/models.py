"""The three language models compared on in-context DFA languages (Akyürek et al. 2024).

* ``transformer``: the shared tiny causal Transformer (``workloads/nn/transformer.py``).
* ``lstm``: token embedding -> ``nn.LSTM`` -> linear head, sized to match the Transformer.
* ``lstm_ngram``: the same LSTM with a hard-wired n-gram head: the normalised in-context
  continuation counts for contexts of 1 … k tokens (``ngram.ngram_features``) are projected and
  added to the LSTM's output before the head, as the paper adds static n-gram layers to
  recurrent models.
"""

from __future__ import annotations

import torch
from torch import nn

from workloads.icll.ngram import ngram_features
from workloads.nn.transformer import TinyTransformer


class LSTMLM(nn.Module):
    """Embedding -> LSTM -> head; with ``ngram_k > 0``, plus the projected n-gram features."""

    def __init__(self, n_tokens: int, emb: int, hidden: int, layers: int, ngram_k: int = 0) -> None:
        super().__init__()
        self.n_tokens, self.ngram_k = n_tokens, ngram_k
        self.embed = nn.Embedding(n_tokens, emb)
        self.lstm = nn.LSTM(emb, hidden, layers, batch_first=True)
        self.ngram_proj = nn.Linear(ngram_k * (n_tokens + 1), hidden) if ngram_k else None
        self.head = nn.Linear(hidden, n_tokens)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) token ids -> (B, T, n_tokens) logits."""
        h, _ = self.lstm(self.embed(tokens))  # (B, T, hidden)
        if self.ngram_proj is not None:
            h = h + self.ngram_proj(ngram_features(tokens, self.ngram_k, self.n_tokens))
        return self.head(h)


def build_model(cfg, n_tokens: int) -> nn.Module:
    """The model named by ``cfg.arch`` (seeded by the caller's ``torch.manual_seed``)."""
    if cfg.arch == "transformer":
        return TinyTransformer(n_tokens, cfg.d_model, cfg.layers, cfg.n_heads, max_len=cfg.seq_len)
    k = cfg.ngram_k if cfg.arch == "lstm_ngram" else 0
    return LSTMLM(n_tokens, cfg.lstm_emb, cfg.lstm_hidden, cfg.layers, ngram_k=k)


def n_params(model: nn.Module) -> int:
    """Trainable parameter count."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
