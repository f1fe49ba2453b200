"""The adding problem (Hochreiter & Schmidhuber 1997) and a future-context tagging task.

Adding: each step carries a value u_t ~ U(0, 1) and a marker bit; exactly two steps are
marked, one in each half of the sequence, and the target is the sum of the two marked values.
Predicting the constant 1.0 gives MSE = Var(u_1 + u_2) = 2/12 ≈ 0.167, the "no memory" line.

Future tagging: tokens x_t uniform over a vocabulary; the label at t is x_{t+shift}
(``ignore_index`` where t + shift runs past the end), so a causal model is at chance and a
bidirectional one can be exact.
"""

from __future__ import annotations

import numpy as np

#: MSE of the best constant prediction (1.0) on the adding problem
ADDING_CHANCE_MSE = 2.0 / 12.0


def adding_batch(rng: np.random.Generator, batch: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs ``(batch, length, 2)`` float32 (value, marker) and targets ``(batch,)`` float32.

    The first marker falls in ``[0, length // 2)``, the second in ``[length // 2, length)``.
    """
    if length < 2:
        raise ValueError(f"adding_batch: length must be >= 2, got {length}")
    values = rng.random((batch, length)).astype(np.float32)  # (B, T)
    half = length // 2
    first = rng.integers(0, half, size=batch)  # (B,)
    second = rng.integers(half, length, size=batch)  # (B,)
    marks = np.zeros((batch, length), dtype=np.float32)  # (B, T)
    rows = np.arange(batch)
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    target = values[rows, first] + values[rows, second]  # (B,)
    return np.stack([values, marks], axis=-1), target.astype(np.float32)  # (B, T, 2)


def future_tagging_batch(
    rng: np.random.Generator, batch: int, length: int, vocab: int = 10, shift: int = 2, ignore_index: int = -100
) -> tuple[np.ndarray, np.ndarray]:
    """Tokens ``(batch, length)`` int64 and labels ``(batch, length)``: label_t = x_{t+shift}.

    The last ``shift`` labels are ``ignore_index`` (no future token to name).
    """
    tokens = rng.integers(0, vocab, size=(batch, length))  # (B, T)
    labels = np.full((batch, length), ignore_index, dtype=np.int64)
    labels[:, : length - shift] = tokens[:, shift:]
    return tokens.astype(np.int64), labels
