"""Group word problems for state tracking: tokens are group elements, labels running products.

The label at position t is x_1 · x_2 · … · x_t (composition of permutations, applied left to
right). S₃ (6 elements, non-abelian, not solvable by a diagonal-transition linear RNN with
non-negative eigenvalues) and the cyclic groups Z_m (Z₂ is parity) are provided.
"""

from __future__ import annotations

import itertools

import numpy as np


def permutation_group(n: int) -> np.ndarray:
    """All permutations of ``range(n)`` in lexicographic order: ``(n!, n)`` int64 (row 0 is identity)."""
    return np.array(list(itertools.permutations(range(n))), dtype=np.int64)


def cyclic_group(m: int) -> np.ndarray:
    """Z_m as permutations of ``range(m)``: element j is the rotation by j, ``(m, m)`` int64."""
    return np.array([[(i + j) % m for i in range(m)] for j in range(m)], dtype=np.int64)


def multiplication_table(perms: np.ndarray) -> np.ndarray:
    """``table[a, b]`` = index of "a then b", i.e. the permutation ``perms[b][perms[a]]``: ``(G, G)``."""
    index = {tuple(p): i for i, p in enumerate(perms)}
    G = len(perms)
    table = np.empty((G, G), dtype=np.int64)
    for a, b in itertools.product(range(G), range(G)):
        table[a, b] = index[tuple(perms[b][perms[a]])]
    return table


def group(name: str) -> np.ndarray:
    """The multiplication table of ``"S3"``, ``"S4"``, ``"Z2"``, ``"Z3"``, ... (``Sn`` or ``Zm``)."""
    kind, size = name[0].upper(), int(name[1:])
    if kind == "S":
        return multiplication_table(permutation_group(size))
    if kind == "Z":
        return multiplication_table(cyclic_group(size))
    raise ValueError(f"group: unknown group {name!r} (use Sn or Zm)")


def word_problem_batch(table: np.ndarray, rng: np.random.Generator, batch: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Tokens ``(batch, length)`` uniform over the group and labels, the running products.

    ``labels[:, t]`` is the index of x_0 · … · x_t under ``table`` (``table[a, b]``: a then b).
    """
    G = table.shape[0]
    tokens = rng.integers(0, G, size=(batch, length))  # (B, T)
    labels = np.empty_like(tokens)
    state = tokens[:, 0]
    labels[:, 0] = state
    for t in range(1, length):
        state = table[state, tokens[:, t]]  # (B,)
        labels[:, t] = state
    return tokens.astype(np.int64), labels.astype(np.int64)
