"""Ptr-Net and its seq2seq + attention baseline on sorting, with their decoding step functions.

Both models share the encoder (a linear projection of each value, then an LSTM) and are
trained with teacher forcing on the argsort. They differ in the output: the pointer network
scores input positions with additive attention, the baseline projects an attention-combined
decoder state onto a fixed index vocabulary.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from workloads.nn.rnn import AdditiveAttention, LSTMDecoder, LSTMEncoder


def inverse_order(target: torch.Tensor) -> torch.Tensor:
    """For a permutation ``target`` ``(B, n)`` of positions, the output step of each position."""
    inv = torch.empty_like(target)
    steps = torch.arange(target.shape[1], device=target.device).expand_as(target)
    return inv.scatter_(1, target, steps)  # inv[b, target[b, i]] = i


def teacher_forced_mask(target: torch.Tensor, n_classes: int) -> torch.Tensor:
    """``(B, n, n_classes)``: True where class k is still unvisited at step i (k ≥ n never is)."""
    B, n = target.shape
    inv = inverse_order(target)  # (B, n)
    steps = torch.arange(n, device=target.device).view(1, n, 1)  # (n,) -> (1, n, 1)
    allowed = inv.unsqueeze(1) >= steps  # (B, 1, n) >= (1, n, 1) -> (B, n, n)
    if n_classes > n:
        pad = torch.zeros(B, n, n_classes - n, dtype=torch.bool, device=target.device)
        allowed = torch.cat([allowed, pad], dim=-1)
    return allowed[:, :, :n_classes]


class PointerNet(nn.Module):
    """Ptr-Net: encoder LSTM, decoder LSTM fed the chosen value, additive-attention pointer."""

    def __init__(self, hidden: int, layers: int, emb: int) -> None:
        super().__init__()
        self.encoder = LSTMEncoder(hidden, layers, in_features=1, emb=emb)
        self.dec_in = nn.Linear(1, emb)
        self.start = nn.Parameter(torch.zeros(emb))  # the decoder's first input (no value chosen yet)
        self.decoder = nn.LSTM(emb, hidden, layers, batch_first=True)
        self.pointer = AdditiveAttention(hidden, hidden, hidden)

    def encode(self, x: torch.Tensor):
        """Encoder outputs ``(B, n, H)``, pointer keys ``(B, n, H)`` and final ``(h, c)``."""
        e, hc = self.encoder(x.unsqueeze(-1))  # (B, n) -> (B, n, 1) -> (B, n, H)
        return e, self.pointer.keys(e), hc

    def forward(self, x: torch.Tensor, target: torch.Tensor, mask_visited: bool) -> torch.Tensor:
        """Teacher-forced pointer logits ``(B, n, n)`` (step i, input position j)."""
        B, n = x.shape
        _, keys, hc = self.encode(x)
        chosen = x.gather(1, target[:, :-1]).unsqueeze(-1)  # values fed back: (B, n-1, 1)
        inputs = torch.cat([self.start.expand(B, 1, -1), self.dec_in(chosen)], dim=1)  # (B, n, emb)
        d, _ = self.decoder(inputs, hc)  # (B, n, H)
        mask = teacher_forced_mask(target, n) if mask_visited else None
        return self.pointer(d, keys, mask)

    def step_fn(self, mask_visited: bool):
        """Decoding step over state ``(h, c, keys, x, visited)``; token −1 means 'start'."""

        def step(tokens: torch.Tensor, state: tuple) -> tuple[torch.Tensor, tuple]:
            h, c, keys, x, visited = state
            N = tokens.shape[0]
            picked = x.gather(1, tokens.clamp_min(0).unsqueeze(1))  # (N, 1)
            inp = torch.where((tokens >= 0).unsqueeze(1), self.dec_in(picked), self.start.expand(N, -1))  # (N, emb)
            visited = visited | (F.one_hot(tokens.clamp_min(0), x.shape[1]).bool() & (tokens >= 0).unsqueeze(1))
            # (N, L, H) -> (L, N, H) for nn.LSTM
            d, (h2, c2) = self.decoder(inp.unsqueeze(1), (h.transpose(0, 1).contiguous(), c.transpose(0, 1).contiguous()))
            scores = self.pointer(d, keys, ~visited if mask_visited else None).squeeze(1)  # (N, 1, n) -> (N, n)
            return F.log_softmax(scores, dim=-1), (h2.transpose(0, 1), c2.transpose(0, 1), keys, x, visited)

        return step

    def start_state(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        """Start tokens ``(B,)`` and the batch-first decoding state for inputs ``(B, n)``."""
        _, keys, (h, c) = self.encode(x)
        visited = torch.zeros_like(x, dtype=torch.bool)
        start = torch.full((x.shape[0],), -1, dtype=torch.long, device=x.device)
        return start, (h.transpose(0, 1), c.transpose(0, 1), keys, x, visited)  # (L, B, H) -> (B, L, H)


class IndexSeq2Seq(nn.Module):
    """The baseline: LSTM encoder-decoder with additive attention over a fixed index vocabulary."""

    def __init__(self, hidden: int, layers: int, emb: int, n_vocab: int) -> None:
        super().__init__()
        self.n_vocab = n_vocab
        self.encoder = LSTMEncoder(hidden, layers, in_features=1, emb=emb)
        # input tokens: the n_vocab indices plus a start token (id n_vocab)
        self.decoder = LSTMDecoder(hidden, layers, n_vocab, vocab=n_vocab + 1, emb=emb, attention=True)

    def forward(self, x: torch.Tensor, target: torch.Tensor, mask_visited: bool) -> torch.Tensor:
        """Teacher-forced index logits ``(B, n, n_vocab)``; ``target`` must lie below n_vocab."""
        B, n = x.shape
        memory, hc = self.encoder(x.unsqueeze(-1))  # (B, n, H)
        y_in = torch.cat([torch.full((B, 1), self.n_vocab, device=x.device), target[:, :-1]], dim=1)  # (B, n)
        logits, _ = self.decoder(y_in, hc, memory)
        if mask_visited:
            logits = logits.masked_fill(~teacher_forced_mask(target, self.n_vocab), float("-inf"))
        return logits

    def step_fn(self, mask_visited: bool):
        """Decoding step over state ``(h, c, memory, keys, emitted, valid)``."""

        def step(tokens: torch.Tensor, state: tuple) -> tuple[torch.Tensor, tuple]:
            h, c, memory, keys, emitted, valid = state
            is_index = (tokens < self.n_vocab).unsqueeze(1)
            emitted = emitted | (F.one_hot(tokens, self.n_vocab + 1)[:, : self.n_vocab].bool() & is_index)
            hc = (h.transpose(0, 1).contiguous(), c.transpose(0, 1).contiguous())  # (N, L, H) -> (L, N, H)
            logits, (h2, c2) = self.decoder(tokens.unsqueeze(1), hc, memory, keys)
            logits = logits.squeeze(1)  # (N, 1, V) -> (N, V)
            if mask_visited:
                allowed = valid & ~emitted
                allowed = torch.where(allowed.any(-1, keepdim=True), allowed, valid)  # all used up: allow any
                logits = logits.masked_fill(~allowed, float("-inf"))
            return F.log_softmax(logits, dim=-1), (h2.transpose(0, 1), c2.transpose(0, 1), memory, keys, emitted, valid)

        return step

    def start_state(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple]:
        """Start tokens ``(B,)`` and the batch-first decoding state for inputs ``(B, n)``."""
        B, n = x.shape
        memory, (h, c) = self.encoder(x.unsqueeze(-1))
        keys = self.decoder.attn.keys(memory)
        emitted = torch.zeros(B, self.n_vocab, dtype=torch.bool, device=x.device)
        valid = (torch.arange(self.n_vocab, device=x.device) < n).expand(B, -1)  # indices that exist
        start = torch.full((B,), self.n_vocab, dtype=torch.long, device=x.device)
        return start, (h.transpose(0, 1), c.transpose(0, 1), memory, keys, emitted, valid)  # (L, B, H) -> (B, L, H)
