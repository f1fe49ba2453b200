"""Bidirectional multi-query associative recall (MQAR): a non-causal recall task.

A sequence of ``length`` tokens holds ``n_pairs`` key-value pairs (a key token immediately
followed by its value token) and one query per pair (a query token naming the key), at random
non-overlapping places among filler tokens. The target at a query is the pair's value. A query
comes before its pair about half the time, so a causal model can answer only the queries whose
pair lies to the left; on the others it is at chance (1 / n_values).

Vocabulary: 0 filler, 1..n_keys keys, then n_values values, then n_keys query tokens.
"""

from __future__ import annotations

import numpy as np

IGNORE = -100  # target at positions that are not queries (torch's cross-entropy ignore_index)


def vocab_size(n_keys: int, n_values: int) -> int:
    """Tokens used by :func:`bidirectional_mqar`."""
    return 1 + 2 * n_keys + n_values


def bidirectional_mqar(
    rng: np.random.Generator, batch: int, length: int = 64, n_pairs: int = 8, n_keys: int = 16, n_values: int = 16
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(tokens (B, T) int64, targets (B, T) int64, side (B, T) int8)``.

    ``targets`` is the value class (0..n_values−1) at query positions and IGNORE elsewhere;
    ``side`` is +1 at a query whose pair lies to its right, −1 to its left, 0 elsewhere.
    """
    if 3 * n_pairs > length or n_pairs > n_keys:
        raise ValueError(f"bidirectional_mqar: {n_pairs} pairs need 3·n_pairs ≤ length ({length}) and ≤ n_keys ({n_keys})")
    tokens = np.zeros((batch, length), dtype=np.int64)
    targets = np.full((batch, length), IGNORE, dtype=np.int64)
    side = np.zeros((batch, length), dtype=np.int8)
    n_items = 2 * n_pairs  # pairs (2 tokens) and queries (1 token)
    for b in range(batch):
        keys = rng.choice(n_keys, n_pairs, replace=False)
        values = rng.integers(0, n_values, n_pairs)
        items = rng.permutation(n_items)  # item i < n_pairs: pair i; else the query of pair i − n_pairs
        gaps = rng.multinomial(length - 3 * n_pairs, np.ones(n_items + 1) / (n_items + 1))
        pos, where = 0, np.zeros(n_items, dtype=np.int64)
        for slot, item in enumerate(items):
            pos += gaps[slot]
            where[item] = pos
            pos += 2 if item < n_pairs else 1
        pair_at, query_at = where[:n_pairs], where[n_pairs:]
        tokens[b, pair_at] = 1 + keys
        tokens[b, pair_at + 1] = 1 + n_keys + values
        tokens[b, query_at] = 1 + n_keys + n_values + keys
        targets[b, query_at] = values
        side[b, query_at] = np.where(pair_at > query_at, 1, -1)
    return tokens, targets, side
