"""Multi-query associative recall (MQAR; Arora et al. 2023, "Zoology"), clean and noisy.

A sequence lists ``n_pairs`` key-value pairs as adjacent tokens ``k₁ v₁ k₂ v₂ …``, then
``n_queries`` keys drawn from those pairs; at each query position the target is the value last
bound to that key. Token ids: keys ``0..n_keys-1``, values ``n_keys..n_keys+n_values-1`` (so the
model's vocabulary is ``n_keys + n_values + 1``; the last id is the filler). ``n_filler``
filler tokens sit at random places between the pairs, as the noise tokens of Zoology's MQAR
do: a memory that writes every token with unit strength (linear attention) stores them too,
one that gates its writes (the delta rule's β, Miras' η) can skip them. Targets are IGNORE (-100) except at query positions.

The noisy variant (Miras §5, robustness) adds two corruptions:

* key collisions: a fraction ``collide`` of the pairs re-bind a key that appeared earlier to a
  new value; queries ask for the latest value, so a memory must overwrite, not accumulate;
* outliers: ``round(outlier_frac * length)`` extra positions, inserted between pairs, carry
  a large-norm Gaussian vector (std ``outlier_scale``) that the model adds to the embedding of
  a key token there. They have no target.

Every function takes a ``numpy.random.Generator`` (seed it from ``(seed, step)``) and returns
numpy arrays, so a batch depends only on the generator's seed.
"""

from __future__ import annotations

import numpy as np

IGNORE = -100


def mqar_length(n_pairs: int, n_queries: int, outlier_frac: float = 0.0, n_filler: int = 0) -> int:
    """Sequence length of :func:`mqar` for these sizes (filler and outliers included)."""
    base = 2 * n_pairs + n_queries + n_filler
    return base + int(round(outlier_frac * base))


def mqar(
    rng: np.random.Generator,
    batch: int,
    n_pairs: int,
    n_queries: int,
    n_keys: int,
    n_values: int,
    *,
    n_filler: int = 0,
    collide: float = 0.0,
    outlier_frac: float = 0.0,
    outlier_scale: float = 0.0,
    noise_dim: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(tokens, targets, noise)``: int64 ``(B, T)``, int64 ``(B, T)``, float32 ``(B, T, noise_dim)``.

    ``noise`` is zero except at the outlier positions (none when ``outlier_frac`` is 0).
    """
    n_coll = int(round(collide * n_pairs))
    n_distinct = n_pairs - n_coll
    if n_distinct > n_keys or n_queries > n_distinct:
        raise ValueError(f"mqar: need n_queries {n_queries} <= distinct keys {n_distinct} <= n_keys {n_keys}")
    T = mqar_length(n_pairs, n_queries, outlier_frac, n_filler)
    n_out = T - (2 * n_pairs + n_queries + n_filler)
    tokens = np.zeros((batch, T), dtype=np.int64)
    targets = np.full((batch, T), IGNORE, dtype=np.int64)
    noise = np.zeros((batch, T, noise_dim), dtype=np.float32)
    for b in range(batch):
        keys = rng.permutation(n_keys)[:n_distinct]
        # pair slots: the distinct keys in random order, then collisions re-binding earlier keys
        slot_keys = list(keys)
        for _ in range(n_coll):
            pos = rng.integers(1, len(slot_keys) + 1)  # after at least one binding of its key
            slot_keys.insert(pos, slot_keys[rng.integers(0, pos)])
        vals = rng.integers(0, n_values, size=n_pairs)
        latest = {int(k): int(v) for k, v in zip(slot_keys, vals)}
        # units: a pair (2 tokens), a filler or an outlier (1 token each), between pairs
        units = ["p"] * n_pairs
        for _ in range(n_filler):
            units.insert(int(rng.integers(0, len(units) + 1)), "f")
        for _ in range(n_out):
            units.insert(int(rng.integers(0, len(units) + 1)), "o")
        t, i = 0, 0
        for u in units:
            if u == "p":
                tokens[b, t], tokens[b, t + 1] = slot_keys[i], n_keys + vals[i]
                t, i = t + 2, i + 1
            elif u == "f":
                tokens[b, t] = n_keys + n_values
                t += 1
            else:
                tokens[b, t] = rng.integers(0, n_keys)
                if noise_dim:
                    noise[b, t] = rng.normal(0.0, outlier_scale, size=noise_dim)
                t += 1
        queried = rng.permutation(keys)[:n_queries]
        tokens[b, t:] = queried
        targets[b, t:] = [n_keys + latest[int(k)] for k in queried]
    return tokens, targets, noise
