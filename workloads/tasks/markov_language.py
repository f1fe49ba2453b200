"""A synthetic language: a sparse Markov chain of order k over a small vocabulary.

Each context of the last ``order`` tokens allows ``branching`` successors with fixed, unequal
probabilities, so a language model has something to learn (which successors, how likely) and a
known floor: the best achievable next-token loss is the chain's entropy rate, reported by
:func:`entropy_floor`. Everything is drawn with numpy from seeds; nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MarkovLanguage:
    """The chain: for context id c, successors ``next_tokens[c]`` with probabilities ``probs[c]``.

    A context id is the last ``order`` tokens read as a base-``vocab`` number (oldest first).
    Shapes: ``next_tokens`` and ``probs`` are ``(vocab ** order, branching)``.
    """

    vocab: int
    order: int
    next_tokens: np.ndarray
    probs: np.ndarray


def markov_language(vocab: int, order: int, branching: int, seed: int) -> MarkovLanguage:
    """A random chain: each context picks ``branching`` distinct successors, Dirichlet(1) weights."""
    if branching > vocab:
        raise ValueError(f"branching {branching} exceeds vocab {vocab}")
    rng = np.random.default_rng([seed, 0])
    contexts = vocab**order
    keys = rng.random((contexts, vocab))  # (C, V): a random permutation of successors per context
    next_tokens = np.argsort(keys, axis=1)[:, :branching]  # (C, b)
    probs = rng.dirichlet(np.ones(branching), size=contexts)  # (C, b)
    return MarkovLanguage(vocab=vocab, order=order, next_tokens=next_tokens, probs=probs)


def sample(lang: MarkovLanguage, batch: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """``batch`` sequences of ``length`` tokens, shape ``(batch, length)``, int64.

    The first ``order`` tokens are uniform; each later token follows the chain.
    """
    if length <= lang.order:
        raise ValueError(f"length {length} must exceed the chain's order {lang.order}")
    tokens = np.empty((batch, length), dtype=np.int64)
    tokens[:, : lang.order] = rng.integers(0, lang.vocab, size=(batch, lang.order))
    cumulative = np.cumsum(lang.probs, axis=1)  # (C, b)
    for t in range(lang.order, length):
        context = np.zeros(batch, dtype=np.int64)
        for i in range(lang.order):  # oldest token first: base-vocab digits
            context = context * lang.vocab + tokens[:, t - lang.order + i]
        u = rng.random(batch)[:, None]  # (B, 1)
        choice = np.minimum((u > cumulative[context]).sum(axis=1), lang.probs.shape[1] - 1)  # (B,)
        tokens[:, t] = lang.next_tokens[context, choice]
    return tokens


def entropy_floor(lang: MarkovLanguage) -> float:
    """Mean next-token entropy (nats) over contexts: the loss floor once ``order`` tokens are seen.

    An unweighted mean over contexts; the chain's stationary weighting differs slightly, so
    treat it as a reference level, not an exact bound.
    """
    p = lang.probs
    return float(np.mean(-np.sum(p * np.log(p), axis=1)))
