"""Synthetic "sequential digits": seven-segment glyphs drawn at random size, place and stroke in a
noisy square image, read pixel by pixel (row-major) as a sequence. An offline stand-in for
sequential MNIST / sklearn digits (nothing to download): class evidence is spread over rows,
so a classifier must carry information across hundreds of steps.
"""

from __future__ import annotations

import numpy as np

# segments a..g: (x0, y0, x1, y1) in a unit box, y down
_SEGMENTS = np.array([
    [0, 0, 1, 0], [1, 0, 1, 0.5], [1, 0.5, 1, 1], [0, 1, 1, 1], [0, 0.5, 0, 1], [0, 0, 0, 0.5], [0, 0.5, 1, 0.5],
])
_DIGITS = ["abcdef", "bc", "abdeg", "abcdg", "bcfg", "acdfg", "acdefg", "abc", "abcdefg", "abcdfg"]
_MASK = np.array([[s in d for s in "abcdefg"] for d in _DIGITS])  # (10, 7)


def glyph_digits(rng: np.random.Generator, batch: int, side: int = 32, noise: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """``(pixels (batch, side·side) float32 in about [0, 1], labels (batch,) int64)``."""
    labels = rng.integers(0, 10, size=batch)
    w = rng.uniform(0.3, 0.5, batch) * side
    h = rng.uniform(0.55, 0.8, batch) * side
    x0 = rng.uniform(0, 1, batch) * (side - w)  # anywhere the glyph fits
    y0 = rng.uniform(0, 1, batch) * (side - h)
    thick = rng.uniform(1.0, 2.2, batch)
    grid = np.arange(side) + 0.5
    gy, gx = np.meshgrid(grid, grid, indexing="ij")  # (side, side)
    img = np.zeros((batch, side, side), dtype=np.float32)
    for s, (ax, ay, bx, by) in enumerate(_SEGMENTS):
        on = _MASK[labels, s]  # (batch,)
        sx0, sy0 = x0 + ax * w, y0 + ay * h
        sx1, sy1 = x0 + bx * w, y0 + by * h
        # distance from each pixel to the segment's bounding box, per image
        dx = np.maximum(np.maximum(np.minimum(sx0, sx1)[:, None, None] - gx, gx - np.maximum(sx0, sx1)[:, None, None]), 0)
        dy = np.maximum(np.maximum(np.minimum(sy0, sy1)[:, None, None] - gy, gy - np.maximum(sy0, sy1)[:, None, None]), 0)
        stroke = (np.hypot(dx, dy) <= thick[:, None, None] / 2).astype(np.float32)
        img = np.maximum(img, stroke * on[:, None, None])
    img += noise * rng.standard_normal(img.shape).astype(np.float32)
    return img.reshape(batch, side * side), labels.astype(np.int64)  # (B, side, side) -> (B, side²)
