"""Synthetic memory tasks for state-space models: selective copying, induction heads, adding.

Every generator takes a ``numpy.random.Generator`` (seed it from ``(seed, step)``) and returns
torch tensors, so a batch depends only on the generator's seed.

* Selective copying (Mamba §4.1): ``n_data`` tokens from ``1..vocab`` at random positions among
  noise tokens (0) in a prefix of length L, then ``n_data`` marker tokens; at the marker
  positions the model outputs the data tokens in order. Needs content-aware memory.
* Induction heads (Olsson et al.; Mamba §4.1): random tokens, a special trigger token, the
  token after it, more random tokens, then the trigger again; the model must output the token
  that followed the first trigger.
* Adding problem (Hochreiter & Schmidhuber 1997): two channels, a value in U[0, 1] and a
  marker with one 1 in each half; the target is the sum of the two marked values.
"""

from __future__ import annotations

import numpy as np
import torch

IGNORE = -100


def selective_copy(rng: np.random.Generator, batch: int, length: int, n_data: int, vocab: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Selective copying: ``(tokens, targets)``, both ``(batch, length + n_data)`` long.

    Token ids: 0 noise, 1..vocab data, vocab + 1 marker (so the model's vocabulary is vocab + 2).
    ``targets`` is IGNORE (-100) except at the ``n_data`` marker positions.
    """
    if n_data > length:
        raise ValueError(f"selective_copy: n_data = {n_data} > length = {length}")
    data = rng.integers(1, vocab + 1, size=(batch, n_data))
    pos = np.sort(np.argsort(rng.random((batch, length)), axis=1)[:, :n_data], axis=1)  # distinct, in order
    tokens = np.zeros((batch, length + n_data), dtype=np.int64)
    np.put_along_axis(tokens[:, :length], pos, data, axis=1)
    tokens[:, length:] = vocab + 1
    targets = np.full_like(tokens, IGNORE)
    targets[:, length:] = data
    return torch.from_numpy(tokens), torch.from_numpy(targets)


def induction_heads(rng: np.random.Generator, batch: int, length: int, vocab: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Induction heads: ``(tokens, targets)``, both ``(batch, length)`` long.

    Token ids: 1..vocab random content, vocab + 1 the trigger (vocabulary vocab + 2, 0 unused).
    The trigger appears at a random position p in the first half and again at the last position;
    the target at the last position is ``tokens[p + 1]``; every other target is IGNORE.
    """
    if length < 4:
        raise ValueError(f"induction_heads: length must be >= 4, got {length}")
    tokens = rng.integers(1, vocab + 1, size=(batch, length))
    p = rng.integers(0, length // 2, size=batch)
    rows = np.arange(batch)
    tokens[rows, p] = vocab + 1
    tokens[:, -1] = vocab + 1
    targets = np.full_like(tokens, IGNORE)
    targets[:, -1] = tokens[rows, p + 1]
    return torch.from_numpy(tokens), torch.from_numpy(targets)


def adding_problem(rng: np.random.Generator, batch: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Adding problem: ``(inputs (batch, length, 2) float32, targets (batch,) float32)``.

    Channel 0 is U[0, 1]; channel 1 marks one position in each half. Predicting the mean gives
    MSE = Var(U1 + U2) = 1/6.
    """
    if length < 2:
        raise ValueError(f"adding_problem: length must be >= 2, got {length}")
    values = rng.random((batch, length)).astype(np.float32)
    half = length // 2
    first = rng.integers(0, half, size=batch)
    second = rng.integers(half, length, size=batch)
    marks = np.zeros((batch, length), dtype=np.float32)
    rows = np.arange(batch)
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    target = values[rows, first] + values[rows, second]
    x = np.stack([values, marks], axis=-1)  # (batch, length) x2 -> (batch, length, 2)
    return torch.from_numpy(x), torch.from_numpy(target.astype(np.float32))
