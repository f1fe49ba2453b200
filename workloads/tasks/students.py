"""Synthetic students answering tagged questions: the knowledge-tracing toy task.

A question bank of Q questions over K skills: each question carries 1 or 2 skill tags and a
difficulty b_q ~ N(0, 1). A student starts with skills θ_{s,k} ~ N(0, 1) and a learning rate
η_s ~ U(η_lo, η_hi); at each step they get a uniformly drawn question, answer it correctly with
probability

    P(correct) = σ(mean_{k ∈ tags(q)} θ_{s,k} − b_q),

and practice raises θ_{s,k} by η_s on every tag of that question (right or wrong). The true
probability is kept, so the best any model can do (the oracle AUC) is known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class QuestionBank:
    """``tags`` ``(Q, K)`` bool, 1 or 2 True per row; ``difficulty`` ``(Q,)`` float."""

    tags: np.ndarray
    difficulty: np.ndarray

    @property
    def n_questions(self) -> int:
        return self.tags.shape[0]

    @property
    def n_skills(self) -> int:
        return self.tags.shape[1]


@dataclass(frozen=True)
class Interactions:
    """Padded-free logs of N students × T steps: ``questions`` ``(N, T)`` int64, ``correct``
    ``(N, T)`` int64 in {0, 1}, ``p_correct`` ``(N, T)`` float (the true probability)."""

    questions: np.ndarray
    correct: np.ndarray
    p_correct: np.ndarray


def sample_bank(rng: np.random.Generator, n_questions: int = 200, n_skills: int = 10) -> QuestionBank:
    """Each question gets one tag, and a second distinct one with probability 1/2."""
    if n_skills < 2:
        raise ValueError(f"sample_bank: n_skills must be >= 2, got {n_skills}")
    tags = np.zeros((n_questions, n_skills), dtype=bool)
    first = rng.integers(0, n_skills, size=n_questions)
    # a distinct second tag: first + an offset in 1 .. K-1 (mod K)
    second = (first + rng.integers(1, n_skills, size=n_questions)) % n_skills
    two = rng.random(n_questions) < 0.5
    rows = np.arange(n_questions)
    tags[rows, first] = True
    tags[rows[two], second[two]] = True
    return QuestionBank(tags=tags, difficulty=rng.normal(size=n_questions))


def sample_students(
    rng: np.random.Generator,
    bank: QuestionBank,
    n_students: int,
    length: int = 50,
    eta_low: float = 0.02,
    eta_high: float = 0.1,
) -> Interactions:
    """``n_students`` fresh students, ``length`` interactions each (uniform questions)."""
    theta = rng.normal(size=(n_students, bank.n_skills))  # (N, K)
    eta = rng.uniform(eta_low, eta_high, size=(n_students, 1))  # (N, 1)
    questions = rng.integers(0, bank.n_questions, size=(n_students, length))  # (N, T)
    n_tags = bank.tags.sum(1)  # (Q,)
    p = np.empty((n_students, length))
    correct = np.empty((n_students, length), dtype=np.int64)
    for t in range(length):
        tags = bank.tags[questions[:, t]]  # (N, K)
        ability = (theta * tags).sum(1) / n_tags[questions[:, t]]  # mean θ over the question's tags
        p[:, t] = 1.0 / (1.0 + np.exp(-(ability - bank.difficulty[questions[:, t]])))
        correct[:, t] = rng.random(n_students) < p[:, t]
        theta = theta + eta * tags  # practice raises every tagged skill
    return Interactions(questions=questions, correct=correct, p_correct=p)
