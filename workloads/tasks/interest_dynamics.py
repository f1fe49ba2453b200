"""Synthetic users whose genre interests drift with time, seen as sparse sessions (IDNP's toy task).

Each user u has a genre preference that moves along a sinusoid in time,

    w_u(t) = softmax(A_u ⊙ sin(ω_u t + φ_u) + b_u)        (one value per genre),

with amplitudes A_u ~ U(0, amplitude)^G, one frequency ω_u ~ U(omega), phases φ_u ~ U(0, 2π)^G
and offsets b_u ~ N(0, 1)^G. Sessions arrive at sorted, irregular times (first in [0, 1], then
gaps drawn from ``gap``). A session holds ``session_len`` items, each from one of the user's
top-2 genres at that time (picked ∝ w_u(t) over those two) and, inside the genre, by a Zipf
popularity. Because w_u returns after a period, a user's genres come and go: the "skip" pattern
a model with timestamps can follow and an order-only one cannot tell apart from noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Sessions:
    """Users' sessions, padded to the most sessions any user has.

    items: ``(U, S, L)`` item ids, -1 where a user has fewer than S sessions.
    times: ``(U, S)`` session times, 0 where padded.
    n_sessions: ``(U,)`` sessions per user (≥ 2).
    genre: ``(I,)`` the genre of each item.
    """

    items: np.ndarray
    times: np.ndarray
    n_sessions: np.ndarray
    genre: np.ndarray

    def __len__(self) -> int:
        return len(self.n_sessions)

    def subset(self, idx: np.ndarray) -> "Sessions":
        """The users ``idx`` (the item table is shared)."""
        return Sessions(self.items[idx], self.times[idx], self.n_sessions[idx], self.genre)


def genre_weights(t: np.ndarray, amp: np.ndarray, omega: np.ndarray, phase: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """w_u(t) for times ``t`` ``(U, S)`` and user parameters ``(U, G)`` / ``(U,)`` -> ``(U, S, G)``."""
    logits = amp[:, None, :] * np.sin(omega[:, None, None] * t[:, :, None] + phase[:, None, :]) + offset[:, None, :]
    logits -= logits.max(-1, keepdims=True)
    w = np.exp(logits)
    return w / w.sum(-1, keepdims=True)


def sample_sessions(
    rng: np.random.Generator,
    n_users: int,
    *,
    n_items: int = 400,
    n_genres: int = 8,
    sessions: tuple[int, int] = (4, 8),
    session_len: int = 6,
    gap: tuple[float, float] = (0.2, 3.0),
    amplitude: float = 3.0,
    omega: tuple[float, float] = (0.3, 1.5),
    zipf: float = 1.0,
) -> Sessions:
    """Draw ``n_users`` users with between ``sessions[0]`` and ``sessions[1]`` sessions each.

    Items are split evenly over genres (item i is in genre ``i % n_genres``); inside a genre the
    k-th item has popularity ∝ 1/(k+1)^zipf.
    """
    if n_items < n_genres:
        raise ValueError(f"n_items ({n_items}) must be at least n_genres ({n_genres})")
    if not 2 <= sessions[0] <= sessions[1]:
        raise ValueError(f"sessions must satisfy 2 <= low <= high, got {sessions}")
    genre = np.arange(n_items) % n_genres
    members = [np.flatnonzero(genre == g) for g in range(n_genres)]
    popularity = [1.0 / (np.arange(len(m)) + 1.0) ** zipf for m in members]
    popularity = [p / p.sum() for p in popularity]

    S = sessions[1]
    n_sessions = rng.integers(sessions[0], sessions[1] + 1, size=n_users)
    gaps = rng.uniform(gap[0], gap[1], size=(n_users, S - 1))
    times = np.cumsum(np.concatenate([rng.uniform(0.0, 1.0, size=(n_users, 1)), gaps], axis=1), axis=1)  # (U, S)
    amp = rng.uniform(0.0, amplitude, size=(n_users, n_genres))
    om = rng.uniform(omega[0], omega[1], size=n_users)
    phase = rng.uniform(0.0, 2 * np.pi, size=(n_users, n_genres))
    offset = rng.normal(size=(n_users, n_genres))
    w = genre_weights(times, amp, om, phase, offset)  # (U, S, G)

    top2 = np.argsort(-w, axis=-1)[..., :2]  # (U, S, 2)
    w2 = np.take_along_axis(w, top2, -1)
    p_first = w2[..., 0] / w2.sum(-1)  # (U, S): probability an item comes from the top genre
    pick_second = rng.random((n_users, S, session_len)) >= p_first[..., None]
    chosen = np.where(pick_second, top2[..., 1:2], top2[..., 0:1])  # (U, S, L) genre per item
    items = np.empty((n_users, S, session_len), dtype=np.int64)
    for g in range(n_genres):
        where = chosen == g
        items[where] = rng.choice(members[g], size=int(where.sum()), p=popularity[g])
    valid = np.arange(S)[None, :] < n_sessions[:, None]  # (U, S)
    items[~valid] = -1
    times = np.where(valid, times, 0.0)
    return Sessions(items, times, n_sessions, genre)
