"""Synthetic event-camera (DVS) streams of two-stroke gestures, binned into ON/OFF frames.

A clip holds two strokes, one per half: a Gaussian blob fades in at a random place on the
``size`` × ``size`` sensor, moves in a straight line (right, left, up or down) and fades out.
The 8 classes are ordered stroke pairs, (right, up) and (up, right), (left, down) and
(down, left), (right, down) and (down, right), (left, up) and (up, left): classes 2k and 2k+1
hold the same two strokes in opposite order. Each stroke is self-contained (it starts and ends
dark) and placed independently, so the time-pooled event maps of a pair have the same
distribution: a model that pools frames over time (a bag of frames) is at best 50% within a
pair, and telling them apart needs the order of events. (A single frame's ON/OFF edges already
show the current direction, and connected gestures leave a class-specific shape or endpoint
signature in the time-pooled map; neither would test temporal modelling.)

Events follow the DVS model: each pixel keeps a reference log-intensity and fires one ON (OFF)
event each time the log-intensity rises (falls) by ``threshold`` from it, evaluated at
``substeps`` fine time steps per frame; background noise events are added with probability
``noise`` per pixel, polarity and frame. Counts are binned into ``frames`` frames of
``(2, size, size)`` (channel 0 ON, channel 1 OFF) and clipped at 3.
"""

from __future__ import annotations

import numpy as np

_R, _L, _U, _D = (1, 0), (-1, 0), (0, 1), (0, -1)
# (first stroke, second stroke) per class, as unit (dx, dy); y grows upwards.
GESTURES = ((_R, _U), (_U, _R), (_L, _D), (_D, _L), (_R, _D), (_D, _R), (_L, _U), (_U, _L))
N_CLASSES = len(GESTURES)
_FADE = 0.15  # fraction of a stroke spent fading in (and out)


def stroke_tracks(rng: np.random.Generator, labels: np.ndarray, steps: int, size: int, stroke: float) -> tuple[np.ndarray, np.ndarray]:
    """Blob centres ``(B, steps, 2)`` and brightness ``(B, steps)`` of each label's two strokes."""
    batch = len(labels)
    dirs = np.asarray(GESTURES, dtype=np.float64)[labels]  # (B, 2 strokes, 2)
    length = stroke * rng.uniform(0.8, 1.2, size=(batch, 2, 1))  # (B, 2, 1) px per stroke
    margin = min(2.5, size / 6)
    lo = np.minimum(dirs * length, 0)  # (B, 2, 2) extent of each stroke from its start
    hi = np.maximum(dirs * length, 0)
    start = rng.uniform(margin - lo, size - 1 - margin - hi)  # (B, 2, 2) keeps each stroke on the sensor
    k = np.arange(steps) / (steps - 1) * 2  # (S,) 0-1 first stroke, 1-2 second
    which = np.minimum(k.astype(np.int64), 1)  # (S,) stroke index
    u = k - which  # (S,) progress within the stroke
    env = np.clip(np.minimum(u, 1 - u) / _FADE, 0, 1)  # (S,) fade in, hold, fade out
    move = np.clip((u - _FADE) / (1 - 2 * _FADE), 0, 1)  # (S,) 0 -> 1 while held
    centres = start[:, which] + dirs[:, which] * length[:, which] * move[None, :, None]  # (B, S, 2)
    return centres, np.broadcast_to(env, (batch, steps))


def event_frames(
    rng: np.random.Generator,
    batch: int,
    frames: int = 16,
    size: int = 16,
    substeps: int = 4,
    threshold: float = 0.25,
    noise: float = 0.005,
    stroke: float | None = None,
    sigma: float = 1.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Event frames ``(batch, frames, 2, size, size)`` float32 and labels ``(batch,)`` int64.

    ``stroke`` is the mean stroke length in pixels (default 0.375 · size, 6 px on 16 × 16).
    """
    stroke = 0.375 * size if stroke is None else stroke
    labels = rng.integers(0, N_CLASSES, size=batch)  # (B,)
    steps = frames * substeps + 1
    centres, env = stroke_tracks(rng, labels, steps, size, stroke)  # (B, S, 2), (B, S)
    grid = np.arange(size, dtype=np.float64)
    dx = grid[None, None, None, :] - centres[:, :, 0, None, None]  # (B, S, 1, W) column offset
    dy = (size - 1 - grid)[None, None, :, None] - centres[:, :, 1, None, None]  # (B, S, H, 1) row offset, y up
    log_i = np.log(0.1 + env[:, :, None, None] * np.exp(-(dx**2 + dy**2) / (2 * sigma**2)))  # (B, S, H, W)
    counts = np.zeros((batch, frames, 2, size, size), dtype=np.float32)
    ref = log_i[:, 0].copy()  # (B, H, W) reference log-intensity per pixel
    for s in range(1, steps):
        n = np.trunc((log_i[:, s] - ref) / threshold)  # signed number of threshold crossings
        ref += n * threshold
        f = (s - 1) // substeps
        counts[:, f, 0] += np.maximum(n, 0)
        counts[:, f, 1] += np.maximum(-n, 0)
    counts += rng.random(counts.shape) < noise
    return np.minimum(counts, 3.0), labels.astype(np.int64)
