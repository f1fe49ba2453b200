"""Noun-list episodes in Markov filler text (Armeni, Honey & Linzen's verbatim-memory paradigm).

A *world* is a first-order Markov chain over ``n_filler`` filler tokens plus ``n_nouns`` noun
tokens and one ``LIST`` marker (the toy stand-in for the paper's "she wrote down these words:").
A list episode is ``LIST n1 .. nn <k filler tokens> LIST m1 .. mn`` where the second list is the
first repeated, shuffled, or a new draw of nouns. Token ids::

    0 .. n_filler-1                  filler
    n_filler .. n_filler+n_nouns-1   nouns
    n_filler+n_nouns                 LIST marker

Everything is numpy and seeded by the caller's ``numpy.random.Generator``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CONDITIONS = ("repeat", "shuffled", "novel")


@dataclass(frozen=True)
class NounWorld:
    """A filler Markov chain and the token layout around it."""

    cdf: np.ndarray  # (F, F) row-wise cumulative transition probabilities of the filler chain
    n_filler: int
    n_nouns: int

    @property
    def list_token(self) -> int:
        """Id of the LIST marker that opens every list."""
        return self.n_filler + self.n_nouns

    @property
    def vocab(self) -> int:
        """Vocabulary size: filler + nouns + LIST."""
        return self.n_filler + self.n_nouns + 1


def make_world(rng: np.random.Generator, n_filler: int = 200, n_nouns: int = 100, concentration: float = 0.05) -> NounWorld:
    """A random world: each filler row is Dirichlet(``concentration``), so filler is fairly predictable."""
    probs = rng.dirichlet(np.full(n_filler, concentration), size=n_filler)  # (F, F)
    cdf = np.cumsum(probs, axis=1)
    cdf[:, -1] = 1.0
    return NounWorld(cdf=cdf, n_filler=n_filler, n_nouns=n_nouns)


def filler(world: NounWorld, rng: np.random.Generator, length: int) -> np.ndarray:
    """``length`` tokens of the filler chain from a uniform start state."""
    out = np.empty(length, dtype=np.int64)
    state = int(rng.integers(world.n_filler))
    u = rng.random(length)
    for t in range(length):
        out[t] = state
        state = min(int(np.searchsorted(world.cdf[state], u[t], side="right")), world.n_filler - 1)
    return out


def noun_lists(world: NounWorld, rng: np.random.Generator, n: int, condition: str) -> tuple[np.ndarray, np.ndarray]:
    """A list of ``n`` distinct nouns and its second presentation under ``condition``."""
    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")
    first = rng.choice(world.n_nouns, size=n, replace=False) + world.n_filler
    if condition == "repeat":
        second = first.copy()
    elif condition == "shuffled":
        second = first[rng.permutation(n)]
        while n > 1 and np.array_equal(second, first):
            second = first[rng.permutation(n)]
    else:
        second = rng.choice(world.n_nouns, size=n, replace=False) + world.n_filler
    return first, second


def episode(world: NounWorld, first: np.ndarray, second: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """``LIST first gap LIST second`` as one token array."""
    marker = np.array([world.list_token])
    return np.concatenate([marker, first, gap, marker, second])


def training_batch(
    world: NounWorld,
    rng: np.random.Generator,
    batch: int,
    length: int = 96,
    p_episode: float = 0.5,
    n_range: tuple[int, int] = (3, 10),
    k_range: tuple[int, int] = (0, 30),
    p_condition: tuple[float, float, float] = (0.7, 0.15, 0.15),
    max_episodes: int = 1,
) -> np.ndarray:
    """(batch, length) documents holding up to ``max_episodes`` list episodes each.

    A document is one continuous filler stream into which episodes are spliced: before each
    episode slot comes a filler run of 0-15 tokens, and the slot holds an episode with
    probability ``p_episode`` (an episode that would overrun the document is cut off there).
    With ``max_episodes = 1`` the episode sits at a uniformly random offset instead.
    """
    docs = np.empty((batch, length), dtype=np.int64)
    for b in range(batch):
        stream = filler(world, rng, length)
        pieces, used = [], 0  # used: filler tokens of the stream consumed so far
        for _ in range(max_episodes):
            if rng.random() >= p_episode:
                continue
            n = int(rng.integers(n_range[0], n_range[1] + 1))
            k = int(rng.integers(k_range[0], k_range[1] + 1))
            condition = CONDITIONS[int(rng.choice(3, p=p_condition))]
            first, second = noun_lists(world, rng, n, condition)
            if max_episodes == 1:
                lead = int(rng.integers(0, max(1, length - (2 * n + k + 2) + 1)))
            else:
                lead = int(rng.integers(0, 16))
            pieces.append(stream[used : used + lead])
            pieces.append(episode(world, first, second, stream[used + lead : used + lead + k]))
            used += lead + k
            if sum(len(p) for p in pieces) >= length:
                break
        pieces.append(stream[used:])
        docs[b] = np.concatenate(pieces)[:length]
    return docs


def test_episodes(
    world: NounWorld, rng: np.random.Generator, count: int, n: int, k: int, condition: str, prefix: int = 8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` probe sequences ``filler(prefix) LIST list1 filler(k) LIST list2``.

    Returns (tokens (count, L), positions of list 1 (n,), positions of list 2 (n,)); the
    positions are the same in every row.
    """
    rows = []
    for _ in range(count):
        stream = filler(world, rng, prefix + k)
        first, second = noun_lists(world, rng, n, condition)
        rows.append(np.concatenate([stream[:prefix], episode(world, first, second, stream[prefix:])]))
    pos1 = prefix + 1 + np.arange(n)
    pos2 = prefix + 1 + n + k + 1 + np.arange(n)
    return np.stack(rows), pos1, pos2
