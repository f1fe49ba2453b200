"""Moving 1-D patterns on a ring: sums of Gaussian bumps translating at a constant velocity.

A 1-D stand-in for Translating MNIST. Each sequence is a sum of 1–3 bumps (width 1–3 px,
amplitude 0.5–1) on a ring of ``size`` pixels, all moving by ``v`` px per frame with wrap-around,
v drawn uniformly from the given integer velocities.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def moving_bumps(
    rng: np.random.Generator, batch: int, frames: int, size: int = 32, velocities: Sequence[int] = (-1, 0, 1),
    max_bumps: int = 3, width: tuple[float, float] = (1.0, 3.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Frames ``(batch, frames, size)`` float32 and each sequence's velocity ``(batch,)`` int64."""
    v = rng.choice(np.asarray(velocities, dtype=np.int64), size=batch)  # (B,)
    n = rng.integers(1, max_bumps + 1, size=batch)  # (B,)
    centre = rng.uniform(0, size, size=(batch, max_bumps))  # (B, K)
    w = rng.uniform(*width, size=(batch, max_bumps))  # (B, K)
    amp = rng.uniform(0.5, 1.0, size=(batch, max_bumps)) * (np.arange(max_bumps) < n[:, None])  # (B, K), unused = 0
    t = np.arange(frames)  # (F,)
    pos = np.arange(size)  # (N,)
    c = centre[:, None, :] + v[:, None, None] * t[None, :, None]  # (B, F, K)
    d = (pos[None, None, None, :] - c[..., None]) % size  # (B, F, K, N)
    d = np.minimum(d, size - d)  # circular distance
    frames_ = (amp[:, None, :, None] * np.exp(-0.5 * (d / w[:, None, :, None]) ** 2)).sum(2)  # (B, F, N)
    return frames_.astype(np.float32), v
