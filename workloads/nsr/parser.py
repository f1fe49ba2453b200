"""Syntax: a learned arc-standard transition parser (an MLP over stack and buffer features).

Transitions: SHIFT (buffer front onto the stack), LEFT (s1 becomes a child of s0) and RIGHT
(s0 becomes a child of s1); the last item on the stack is the root. Features, after Chen &
Manning (2014): symbols of s0-s2 and b0-b2, the leftmost and rightmost child symbols of s0
and s1, and the child counts of s0 and s1. Nothing about arithmetic is built in: the parser
learns only from the trees abduction hands it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

SHIFT, LEFT, RIGHT = 0, 1, 2
N_SLOTS = 24  # symbol feature slots


class State:
    """A parser configuration for one sentence of symbol ids."""

    def __init__(self, sent: tuple[int, ...]) -> None:
        self.sent, self.stack, self.i = sent, [], 0
        self.head = [-1] * len(sent)
        self.kids: list[list[int]] = [[] for _ in sent]
        self.lo, self.hi = list(range(len(sent))), list(range(len(sent)))  # each subtree's span
        self.logp = 0.0

    def done(self) -> bool:
        """True once the buffer is empty and one item (the root) is left."""
        return self.i == len(self.sent) and len(self.stack) <= 1

    def legal(self) -> list[bool]:
        """Which of SHIFT, LEFT, RIGHT may be taken."""
        two = len(self.stack) >= 2
        return [self.i < len(self.sent), two, two]

    def apply(self, a: int) -> None:
        """Take transition ``a``."""
        if a == SHIFT:
            self.stack.append(self.i)
            self.i += 1
            return
        s0, s1 = self.stack[-1], self.stack[-2]
        h, d = (s0, s1) if a == LEFT else (s1, s0)
        self.head[d] = h
        self.kids[h].append(d)
        self.kids[h].sort()
        self.lo[h], self.hi[h] = min(self.lo[h], self.lo[d]), max(self.hi[h], self.hi[d])
        self.stack.remove(d)

    def features(self, pad: int) -> list[int]:
        """Chen & Manning's 18 symbol slots (s0-s2, b0-b2; for s0 and s1 the first two left
        and right children and the leftmost-of-leftmost and rightmost-of-rightmost grandchild),
        the first and last symbol of the spans of s0-s2 (6 slots), 2 child counts (capped at
        3), then the positions of s0, s1, s2 and b0 (-1 for none)."""
        st, sent, kids = self.stack, self.sent, self.kids
        sym = lambda j: sent[j] if j >= 0 else pad  # noqa: E731
        s = [st[-k] if len(st) >= k else -1 for k in (1, 2, 3)]
        b = [self.i + k if self.i + k < len(sent) else -1 for k in (0, 1, 2)]
        out = [sym(j) for j in s + b]
        for j in s[:2]:
            left = [c for c in kids[j] if c < j] if j >= 0 else []
            right = [c for c in kids[j] if c > j][::-1] if j >= 0 else []
            ll = [c for c in kids[left[0]] if c < left[0]] if left else []
            rr = [c for c in kids[right[0]] if c > right[0]][::-1] if right else []
            out += [sym(x[k]) if len(x) > k else pad for x, k in ((left, 0), (left, 1), (right, 0), (right, 1), (ll, 0), (rr, 0))]
        out += [sym(self.lo[j]) if j >= 0 else pad for j in s] + [sym(self.hi[j]) if j >= 0 else pad for j in s]
        out += [min(len(kids[j]), 3) if j >= 0 else 0 for j in s[:2]]
        return out + s + b[:1]  # positions of s0-s2 and b0 (-1: none), for the BiLSTM


def oracle(sent: tuple[int, ...], head: list[int]) -> list[tuple[tuple[int, ...], list[int], int]] | None:
    """(sentence, state features, gold action) triples that build ``head``; None if it is not projective."""
    st = State(sent)
    need = [sum(h == j for h in head) for j in range(len(sent))]
    pairs = []
    while not st.done():
        a = SHIFT
        if len(st.stack) >= 2:
            s0, s1 = st.stack[-1], st.stack[-2]
            if head[s1] == s0 and len(st.kids[s1]) == need[s1]:
                a = LEFT
            elif head[s0] == s1 and len(st.kids[s0]) == need[s0]:
                a = RIGHT
        if a == SHIFT and st.i >= len(sent):
            return None
        pairs.append((sent, st.features(ParserNet.PAD), a))
        st.apply(a)
    return pairs if st.head == list(head) else None


class ParserNet(nn.Module):
    """Embeddings of the feature slots (plus, optionally, BiLSTM vectors of s0-s2 and b0, as in
    Kiperwasser & Goldberg 2016) -> MLP -> logits over the 3 transitions."""

    PAD = 15  # symbol ids 0..14 are arith.VOCAB

    def __init__(self, n_sym: int = 16, emb: int = 16, hidden: int = 64, lstm: int = 0) -> None:
        super().__init__()
        self.sym = nn.Embedding(n_sym, emb)
        self.cnt = nn.Embedding(4, 8)
        self.lstm = nn.LSTM(emb, lstm, batch_first=True, bidirectional=True) if lstm else None
        width = N_SLOTS * emb + 2 * 8 + (4 * 2 * lstm if lstm else 0)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, 3))

    def encode(self, sents: list[tuple[int, ...]]) -> torch.Tensor | None:
        """(B, L+1, 2*lstm) BiLSTM states of the padded sentences, a zero row at L (for 'none')."""
        if self.lstm is None:
            return None
        L = max(len(x) for x in sents)
        tok = torch.tensor([list(x) + [self.PAD] * (L - len(x)) for x in sents])  # (B, L)
        h, _ = self.lstm(self.sym(tok))  # (B, L, 2*lstm)
        return torch.cat([h, h.new_zeros(h.shape[0], 1, h.shape[2])], dim=1)

    def forward(self, feats: torch.Tensor, enc: torch.Tensor | None = None, rows: torch.Tensor | None = None) -> torch.Tensor:
        """(N, 30) feature ids (+ sentence encodings and each row's sentence) -> (N, 3) logits."""
        parts = [self.sym(feats[:, :N_SLOTS]).flatten(1), self.cnt(feats[:, N_SLOTS : N_SLOTS + 2]).flatten(1)]
        if self.lstm is not None:
            pos = feats[:, N_SLOTS + 2 :]  # (N, 4)
            pos = torch.where(pos < 0, enc.shape[1] - 1, pos)
            parts.append(enc[rows[:, None], pos].flatten(1))  # (N, 4, 2*lstm) -> (N, 8*lstm)
        return self.mlp(torch.cat(parts, dim=1))


@torch.no_grad()
def parse(net: ParserNet, sents: list[tuple[int, ...]], gen: torch.Generator | None = None, temp: float = 1.0) -> list[State]:
    """Parse every sentence in lockstep: greedy when ``gen`` is None, else sampled at ``temp``."""
    states = [State(s) for s in sents]
    enc = net.encode(sents)
    while True:
        live = [k for k, st in enumerate(states) if not st.done()]
        if not live:
            return states
        feats = torch.tensor([states[k].features(ParserNet.PAD) for k in live])  # (N, 30)
        legal = torch.tensor([states[k].legal() for k in live])  # (N, 3)
        logp = net(feats, enc, torch.tensor(live)).masked_fill(~legal, float("-inf")).log_softmax(-1)
        if gen is None:
            acts = logp.argmax(-1)
        else:
            acts = torch.multinomial((logp / temp).softmax(-1), 1, generator=gen).squeeze(1)
        chosen = logp.gather(1, acts[:, None]).squeeze(1)
        for k, a, lp in zip(live, acts.tolist(), chosen.tolist()):
            st = states[k]
            st.logp += lp
            st.apply(a)


def train(net: ParserNet, opt: torch.optim.Optimizer, data: list[tuple[tuple[int, ...], list[int], int]], steps: int, batch: int, rng: np.random.Generator) -> float:
    """``steps`` minibatch updates on (sentence, features, action) triples; returns the first
    batch's loss."""
    feats = torch.tensor([f for _, f, _ in data])  # (N, 30)
    acts = torch.tensor([a for _, _, a in data])
    first = float("nan")
    for k in range(steps):
        idx = rng.integers(len(data), size=min(batch, len(data)))
        enc = net.encode([data[i][0] for i in idx])
        loss = F.cross_entropy(net(feats[idx], enc, torch.arange(len(idx))), acts[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if k == 0:
            first = float(loss.detach())
    return first
