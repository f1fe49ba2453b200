"""Synthetic event-camera (DVS) streams of one-turn gestures (paths with a turn), in ON/OFF frames.

A clip holds one gesture: a Gaussian blob fades in at a random place on the ``size`` × ``size``
sensor, moves ``stroke`` px (± 20 %) in one direction, turns 90° and moves about as far again,
then fades out. The 8 classes are the (first, second) direction pairs (right, up), (up, right),
(left, down), (down, left), (right, down), (down, right), (left, up), (up, left). This restores
the task's first design, connected two-stroke paths "with turns" (described in the workload's
README of 2026-11-28; that code was never committed, so this is a re-implementation): a class
shows both in the shape the path leaves on the sensor and in the order of its events, so a
spiking CNN that pools its spike maps over time is a genuine competitor, as spiking CNNs are on
real event data (DVS128 Gesture). The redesign that replaced it (disconnected strokes whose
classes differ only in order, which caps any time-pooling model at 50 % within a class pair)
stays in :mod:`workloads.tasks.event_gestures`, selectable as ``task: order``.

What makes it hard is what makes real event data hard, equally for every model: sensor noise
(``noise``: background events per pixel, polarity and frame), a weak contrast (``contrast``: the
blob's peak brightness over the background, so fewer and sparser events), and a moving
distractor (``distractors``: blobs drifting in a random straight line at a random speed, which
carry no label). The task's difficulty knobs were set on calibration seeds only (see the claim).

Events follow the DVS model: each pixel keeps a reference log-intensity and fires one ON (OFF)
event each time the log-intensity rises (falls) by ``threshold`` from it, evaluated at
``substeps`` fine time steps per frame. Counts are binned into ``frames`` frames of
``(2, size, size)`` (channel 0 ON, channel 1 OFF) and clipped at 3.
"""

from __future__ import annotations

import numpy as np

_R, _L, _U, _D = (1, 0), (-1, 0), (0, 1), (0, -1)
# (first stroke, second stroke) per class, as unit (dx, dy); y grows upwards.
GESTURES = ((_R, _U), (_U, _R), (_L, _D), (_D, _L), (_R, _D), (_D, _R), (_L, _U), (_U, _L))
N_CLASSES = len(GESTURES)
_FADE = 0.15  # fraction of the clip spent fading in (and out)


def gesture_tracks(rng: np.random.Generator, labels: np.ndarray, steps: int, size: int, stroke: float) -> tuple[np.ndarray, np.ndarray]:
    """Blob centres ``(B, steps, 2)`` and brightness envelope ``(B, steps)`` of each label's path."""
    batch = len(labels)
    dirs = np.asarray(GESTURES, dtype=np.float64)[labels]  # (B, 2 strokes, 2)
    length = stroke * rng.uniform(0.8, 1.2, size=(batch, 2, 1))  # (B, 2, 1) px per stroke
    legs = dirs * length  # (B, 2, 2) displacement of each stroke
    corners = np.stack([np.zeros((batch, 2)), legs[:, 0], legs[:, 0] + legs[:, 1]], axis=1)  # (B, 3, 2) from the start
    margin = min(2.5, size / 6)
    lo, hi = corners.min(1), corners.max(1)  # (B, 2) extent of the path from its start
    start = rng.uniform(margin - lo, size - 1 - margin - hi)  # (B, 2) keeps the path on the sensor
    u = np.linspace(0.0, 1.0, steps)  # (S,) progress through the clip
    env = np.clip(np.minimum(u, 1 - u) / _FADE, 0, 1)  # (S,) fade in, hold, fade out
    move = np.clip((u - _FADE) / (1 - 2 * _FADE), 0, 1)  # (S,) 0 -> 1 while held
    travelled = move[None, :] * length.sum((1, 2))[:, None]  # (B, S) px along the path, constant speed
    first = np.minimum(travelled, length[:, 0])  # (B, S) px along the first stroke
    second = travelled - first  # (B, S) px along the second
    centres = start[:, None] + dirs[:, None, 0] * first[..., None] + dirs[:, None, 1] * second[..., None]  # (B, S, 2)
    return centres, np.broadcast_to(env, (batch, steps))


def distractor_tracks(rng: np.random.Generator, batch: int, steps: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A blob drifting in a straight line across the sensor: centres ``(B, steps, 2)``, envelope ``(B, steps)``."""
    start = rng.uniform(0, size - 1, size=(batch, 2))
    angle = rng.uniform(0, 2 * np.pi, size=batch)
    speed = rng.uniform(0.25, 0.75, size=batch) * size  # px over the clip
    velocity = np.stack([np.cos(angle), np.sin(angle)], -1) * speed[:, None]  # (B, 2)
    centres = start[:, None] + np.linspace(0.0, 1.0, steps)[None, :, None] * velocity[:, None]  # (B, S, 2)
    return centres, np.ones((batch, steps))


def _blob(centres: np.ndarray, env: np.ndarray, size: int, sigma: float) -> np.ndarray:
    """Brightness ``(B, S, H, W)`` of blobs at ``centres`` (B, S, 2) scaled by ``env`` (B, S)."""
    grid = np.arange(size, dtype=np.float64)
    dx = grid[None, None, None, :] - centres[:, :, 0, None, None]  # (B, S, 1, W) column offset
    dy = (size - 1 - grid)[None, None, :, None] - centres[:, :, 1, None, None]  # (B, S, H, 1) row offset, y up
    return env[:, :, None, None] * np.exp(-(dx**2 + dy**2) / (2 * sigma**2))


def event_frames(
    rng: np.random.Generator,
    batch: int,
    frames: int = 16,
    size: int = 16,
    *,
    noise: float = 0.005,
    contrast: float = 1.0,
    distractors: int = 0,
    substeps: int = 4,
    threshold: float = 0.25,
    stroke: float | None = None,
    sigma: float = 1.5,
) -> tuple[np.ndarray, np.ndarray]:
    """Event frames ``(batch, frames, 2, size, size)`` float32 and labels ``(batch,)`` int64.

    ``stroke`` is the mean length of each of the two strokes in pixels (default 0.3 · size);
    ``contrast`` the blobs' peak brightness over a background of 0.1 (1.0: a 20 dB change).
    """
    stroke = 0.3 * size if stroke is None else stroke
    labels = rng.integers(0, N_CLASSES, size=batch)  # (B,)
    steps = frames * substeps + 1
    intensity = _blob(*gesture_tracks(rng, labels, steps, size, stroke), size, sigma)  # (B, S, H, W)
    for _ in range(distractors):
        intensity = intensity + _blob(*distractor_tracks(rng, batch, steps, size), size, sigma)
    log_i = np.log(0.1 + contrast * intensity)  # (B, S, H, W)
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
