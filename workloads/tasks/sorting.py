"""Sorting as sequence prediction: the target is the argsort of the input (Pointer Networks).

Inputs are ``n`` floats drawn uniformly from [0, 1); the target lists input positions in
increasing order of value, so a model must point back at its input.
"""

from __future__ import annotations

import numpy as np


def sort_batch(rng: np.random.Generator, batch: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Values ``(B, n)`` float32 in [0, 1) and their argsort ``(B, n)`` int64 (ascending)."""
    x = rng.random((batch, n), dtype=np.float32)
    return x, np.argsort(x, axis=1, kind="stable")


def position_accuracy(pred: np.ndarray, target: np.ndarray) -> float:
    """Fraction of output positions where ``pred`` ``(B, n)`` equals ``target``; chance is 1/n."""
    return float(np.mean(pred == target))


def exact_match(pred: np.ndarray, target: np.ndarray) -> float:
    """Fraction of rows where the whole predicted order is right."""
    return float(np.mean(np.all(pred == target, axis=1)))
