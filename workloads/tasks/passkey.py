"""Passkey retrieval (Mohtashami & Jaggi 2023; Stuffed Mamba §5): a key hidden in filler, asked for at the end.

Token ids: 0..9 digits, 10 the key marker, 11 the query marker, 12.. filler. The filler is one
fixed phrase of ``period`` filler tokens (drawn from ``phrase_seed``) repeated, as the paper's
"The grass is green. The sky is blue. ..." is. At a random position: the key marker and
``n_digits`` digits; at the end: the query marker and the digits again (teacher-forced), and the
targets are the digits at the query marker and after it (IGNORE elsewhere).
"""

from __future__ import annotations

import numpy as np
import torch

IGNORE = -100
KEY, QUERY, FILLER0 = 10, 11, 12


def vocab_size(n_filler: int) -> int:
    """Model vocabulary for ``n_filler`` filler tokens."""
    return FILLER0 + n_filler


def passkey(
    rng: np.random.Generator, batch: int, length: int, n_digits: int = 5, n_filler: int = 16, period: int = 10,
    phrase_seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(tokens, targets)``, both ``(batch, length)`` int64; the key starts in the first ``length − 2·n_digits − 2`` tokens."""
    room = length - 2 * n_digits - 2
    if room < 1:
        raise ValueError(f"passkey: length {length} too short for {n_digits} digits")
    phrase = np.random.default_rng([phrase_seed, 7]).integers(FILLER0, FILLER0 + n_filler, size=period)
    tokens = np.tile(phrase, -(-length // period))[None, :length].repeat(batch, 0)  # (batch, length)
    digits = rng.integers(0, 10, size=(batch, n_digits))
    pos = rng.integers(0, room, size=batch)
    rows = np.arange(batch)[:, None]
    tokens[rows[:, 0], pos] = KEY
    tokens[rows, pos[:, None] + 1 + np.arange(n_digits)] = digits
    tokens[:, length - n_digits - 1] = QUERY
    tokens[:, length - n_digits :] = digits
    targets = np.full_like(tokens, IGNORE)
    targets[:, length - n_digits - 1 : length - 1] = digits
    return torch.from_numpy(tokens), torch.from_numpy(targets)
