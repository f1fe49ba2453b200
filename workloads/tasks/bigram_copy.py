"""Bigram-chain text with copy (induction) episodes, and the corpus bigram table.

About ``1 - copy_frac`` of the tokens come from a first-order Markov chain with Dirichlet
rows; the rest are copies of earlier spans of the same document, so a language model must
learn both next-token statistics (a bigram map) and in-context copying.
"""

from __future__ import annotations

import numpy as np


def make_chain(rng: np.random.Generator, vocab: int = 128, concentration: float = 0.1) -> np.ndarray:
    """(vocab, vocab) row-stochastic transition matrix with Dirichlet(``concentration``) rows."""
    return rng.dirichlet(np.full(vocab, concentration), size=vocab)


def documents(
    chain: np.ndarray, rng: np.random.Generator, batch: int, length: int, copy_frac: float = 0.3, span: tuple[int, int] = (4, 8)
) -> np.ndarray:
    """(batch, length) documents: a Markov chain with earlier spans copied over later positions."""
    vocab = chain.shape[0]
    cdf = np.cumsum(chain, axis=1)  # (V, V)
    docs = np.empty((batch, length), dtype=np.int64)
    state = rng.integers(vocab, size=batch)  # (B,)
    u = rng.random((batch, length))
    for t in range(length):
        docs[:, t] = state
        nxt = (u[:, t, None] > cdf[state]).sum(axis=1)  # (B,) inverse-CDF draw
        state = np.minimum(nxt, vocab - 1)
    for b in range(batch):
        copied, pos = 0, int(rng.integers(span[1], 2 * span[1]))
        while pos < length and copied < copy_frac * length:
            m = int(rng.integers(span[0], span[1] + 1))
            src = int(rng.integers(0, pos - m + 1))
            end = min(length, pos + m)
            docs[b, pos:end] = docs[b, src : src + (end - pos)]
            copied += end - pos
            pos = end + int(rng.integers(m, 3 * m))
    return docs


def bigram_table(docs: np.ndarray, vocab: int, smoothing: float = 0.1) -> np.ndarray:
    """(vocab, vocab) P(next | current) from counts over ``docs`` with add-``smoothing``."""
    counts = np.full((vocab, vocab), smoothing)
    np.add.at(counts, (docs[:, :-1].ravel(), docs[:, 1:].ravel()), 1.0)
    return counts / counts.sum(axis=1, keepdims=True)
