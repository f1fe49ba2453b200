"""sklearn's 8 × 8 handwritten digits (1797 images, bundled offline) read as pixel sequences.

``digit_sequences(side, permute)`` upsamples each image bilinearly to ``side`` × ``side``, scales
pixels to [0, 1] and flattens row-major to a sequence of L = side² pixels ("sMNIST-lite"). With
``permute`` a fixed random permutation (the same for every seed) reorders the pixels, removing
locality as permuted MNIST does. The split is fixed too: the first ``n_train`` images of a fixed
shuffle train, the rest test.
"""

from __future__ import annotations

import numpy as np

PERMUTATION_SEED = 1234  # one permutation and one split for every run, as pMNIST has


def _upsample(img: np.ndarray, side: int) -> np.ndarray:
    """Bilinear resize (n, s, s) -> (n, side, side), align-corners style."""
    s = img.shape[-1]
    pos = np.linspace(0, s - 1, side)
    lo = np.clip(np.floor(pos).astype(int), 0, s - 2)
    frac = (pos - lo).astype(np.float32)
    rows = img[:, lo, :] * (1 - frac)[None, :, None] + img[:, lo + 1, :] * frac[None, :, None]  # (n, side, s)
    return rows[:, :, lo] * (1 - frac)[None, None, :] + rows[:, :, lo + 1] * frac[None, None, :]  # (n, side, side)


def digit_sequences(side: int = 16, permute: bool = True, n_train: int = 1400) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train (n_train, L), y_train, x_test (n_test, L), y_test)``, float32 pixels in [0, 1], int64 labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    img = digits.images.astype(np.float32) / 16.0  # (1797, 8, 8)
    if side != 8:
        img = _upsample(img, side)
    x = img.reshape(len(img), side * side)  # (n, side, side) -> (n, L)
    rng = np.random.default_rng(PERMUTATION_SEED)
    order = rng.permutation(len(x))
    if permute:
        x = x[:, rng.permutation(side * side)]
    x, y = x[order], digits.target[order].astype(np.int64)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]
