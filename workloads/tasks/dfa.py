"""Random probabilistic DFAs and prompts of strings sampled from them (REGBENCH, Akyürek et al. 2024).

A DFA has ``S`` states and an alphabet of ``k`` symbols drawn from a shared vocabulary. Each
state has a random subset of the alphabet as outgoing edges (out-degree uniform in
``[min_out, max_out]`` ≤ k − 1, so some symbols are always illegal), each edge going to a uniformly random
state; strings start in state 0 and follow an edge chosen uniformly among the legal ones. A
string's length is uniform in ``[min_len, max_len]``. A prompt concatenates strings, each
followed by the separator token, and is cut to a fixed length.

Everything is vectorised over a batch of DFAs (one DFA per prompt), with a numpy Generator.
The generator also returns the exact next-token distribution at every position, so a model's
greedy prediction can be scored for legality and its distribution for total variation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DFABatch:
    """One random DFA per prompt.

    Attributes:
        next_state: ``(B, S, V)`` int; the state an edge leads to, ``-1`` where the symbol is illegal.
        n_states: ``(B,)`` states actually used by each DFA (the rest of ``S`` is unused).
    """

    next_state: np.ndarray
    n_states: np.ndarray

    @property
    def legal(self) -> np.ndarray:
        """``(B, S, V)`` bool: which symbols have an edge from each state."""
        return self.next_state >= 0


def random_dfas(
    rng: np.random.Generator,
    batch: int,
    *,
    vocab: int = 12,
    states: tuple[int, int] = (4, 6),
    symbols: tuple[int, int] = (4, 6),
    min_out: int = 2,
    max_out: int = 0,
) -> DFABatch:
    """``batch`` random DFAs over symbol ids ``0 … vocab−1`` (inclusive ranges for states and symbols).

    Each state's out-degree is uniform in ``[min_out, max_out]`` (``max_out`` 0 or ≥ k: k − 1).
    """
    s_max = states[1]
    next_state = np.full((batch, s_max, vocab), -1, dtype=np.int64)
    n_states = rng.integers(states[0], states[1] + 1, size=batch)
    for b in range(batch):
        k = int(rng.integers(symbols[0], symbols[1] + 1))
        alphabet = rng.choice(vocab, size=k, replace=False)
        for s in range(n_states[b]):
            hi = k - 1 if max_out <= 0 else min(max_out, k - 1)
            out = int(rng.integers(min(min_out, hi), hi + 1))  # out-degree in [min_out, hi]
            edges = rng.choice(alphabet, size=out, replace=False)
            next_state[b, s, edges] = rng.integers(0, n_states[b], size=out)
    return DFABatch(next_state=next_state, n_states=n_states)


def end_probability(length: np.ndarray, min_len: int, max_len: int) -> np.ndarray:
    """P(the string ends now | it has ``length`` symbols so far), for a length uniform in [min_len, max_len]."""
    length = np.asarray(length)
    remaining = max_len - length + 1  # lengths still possible: length … max_len
    hazard = np.where(length >= min_len, 1.0 / np.maximum(remaining, 1), 0.0)
    return np.where(length >= max_len, 1.0, hazard)


def sample_prompts(
    rng: np.random.Generator,
    dfas: DFABatch,
    seq_len: int,
    *,
    min_len: int = 3,
    max_len: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """Prompts of ``seq_len`` tokens and the true next-token distributions.

    Returns ``tokens (B, T)`` int64 with the separator as id ``V`` (= vocab), starting with a
    separator, and ``probs (B, T, V+1)`` float32 where ``probs[b, t]`` is the exact distribution of
    ``tokens[b, t+1]`` given the prompt so far (defined for every t, including the last).
    """
    B, _, V = dfas.next_state.shape
    sep = V
    legal = dfas.legal
    tokens = np.empty((B, seq_len), dtype=np.int64)
    probs = np.zeros((B, seq_len, V + 1), dtype=np.float32)
    rows = np.arange(B)
    state = np.zeros(B, dtype=np.int64)
    length = np.zeros(B, dtype=np.int64)  # symbols emitted in the current string
    tokens[:, 0] = sep
    for t in range(seq_len):
        if t > 0:
            tok = tokens[:, t]
            is_sep = tok == sep
            state = np.where(is_sep, 0, dfas.next_state[rows, state, np.minimum(tok, V - 1)])
            length = np.where(is_sep, 0, length + 1)
        here = legal[rows, state]  # (B, V)
        p_end = end_probability(length, min_len, max_len)
        p_end = np.where(here.any(-1), p_end, 1.0)  # a dead end closes the string
        probs[:, t, :V] = (1.0 - p_end)[:, None] * here / np.maximum(here.sum(-1, keepdims=True), 1)
        probs[:, t, V] = p_end
        if t + 1 < seq_len:
            cum = probs[:, t].cumsum(-1)  # (B, V+1)
            u = rng.random(B)[:, None] * cum[:, -1:]
            tokens[:, t + 1] = np.minimum((u >= cum).sum(-1), V)
    return tokens, probs
