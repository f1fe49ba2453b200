"""Synthetic process logs with a long-range choice (next-element prediction, Tax et al. 2020 style).

Every trace follows the process

    A → (B xor C) → loop{D xor E} × k → (F if B was chosen else G) → H,

with k ≥ 1 loop iterations, geometric with mean ``loop_mean``. After every event a random
activity from the whole alphabet is inserted with probability ``noise`` (the paper's logs are
noisy too). Activities are ids ``0 … n_activities−1`` (A = 0, …, H = 7, the rest only appear as
noise); ``END`` (= n_activities) closes each trace, so predicting the end is part of the task.

The F/G event is the *decision point*: it is determined by the B/C choice made k + 1 events
earlier, so a k-th order Markov model can only guess it once the loop is longer than k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

A, B, C, D, E, F, G, H = range(8)
NAMES = "ABCDEFGHIJKLMNOP"


@dataclass(frozen=True)
class Log:
    """A list of traces and, per trace, where the decision event sits and how long the loop was.

    Attributes:
        traces: event ids, each trace ending with ``end``.
        decision: index in each trace of the F/G event.
        loop_len: the number of loop iterations k of each trace.
        end: the END id (= number of activities).
    """

    traces: list[np.ndarray]
    decision: np.ndarray
    loop_len: np.ndarray
    end: int


def sample_log(
    rng: np.random.Generator, n_traces: int, *, loop_mean: float = 3.0, noise: float = 0.05, n_activities: int = 10
) -> Log:
    """``n_traces`` traces of the process above (``n_activities`` ≥ 8)."""
    if n_activities < 8:
        raise ValueError(f"n_activities must be at least 8 (A..H), got {n_activities}")
    traces, decision, loop_len = [], [], []
    for _ in range(n_traces):
        choice = B if rng.random() < 0.5 else C
        k = int(rng.geometric(1.0 / loop_mean))  # k >= 1, mean loop_mean
        core = [A, choice, *rng.choice([D, E], size=k).tolist(), F if choice == B else G, H]
        events: list[int] = []
        for i, event in enumerate(core):
            if i == len(core) - 2:
                decision.append(len(events))
            events.append(event)
            if rng.random() < noise:
                events.append(int(rng.integers(n_activities)))
        traces.append(np.array(events + [n_activities], dtype=np.int64))
        loop_len.append(k)
    return Log(traces=traces, decision=np.array(decision), loop_len=np.array(loop_len), end=n_activities)


def pad(traces: list[np.ndarray], fill: int) -> np.ndarray:
    """Traces right-padded with ``fill`` into one ``(n, max_len)`` int64 array."""
    width = max(len(t) for t in traces)
    out = np.full((len(traces), width), fill, dtype=np.int64)
    for i, t in enumerate(traces):
        out[i, : len(t)] = t
    return out
