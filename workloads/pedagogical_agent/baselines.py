"""The non-neural baselines: logistic regression on [question one-hot, per-tag running accuracy],
and the per-user running mean. Features are computed in numpy from the interaction logs.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from workloads.tasks.students import Interactions, QuestionBank


def running_tag_accuracy(log: Interactions, bank: QuestionBank) -> np.ndarray:
    """``(N, T, K)``: the student's smoothed accuracy (c + 1) / (n + 2) on each tag before step t."""
    tags = bank.tags[log.questions].astype(np.float64)  # (N, T, K)
    seen = np.cumsum(tags, axis=1) - tags  # attempts before t, (N, T, K)
    right = np.cumsum(tags * log.correct[..., None], axis=1) - tags * log.correct[..., None]
    return (right + 1.0) / (seen + 2.0)


def logistic_features(log: Interactions, bank: QuestionBank) -> np.ndarray:
    """``(N, T, 2K)`` float32: per-tag running accuracy masked to the target question's tags, then
    the unmasked per-tag running accuracy. The question one-hot enters as an embedding of width 1."""
    acc = running_tag_accuracy(log, bank)  # (N, T, K)
    mask = bank.tags[log.questions]  # (N, T, K): the target's tags
    return np.concatenate([acc * mask, acc], axis=-1).astype(np.float32)


def user_running_mean(log: Interactions) -> np.ndarray:
    """``(N, T)``: the student's smoothed accuracy (c + 1) / (t + 2) over steps before t."""
    right = np.cumsum(log.correct, axis=1) - log.correct  # (N, T)
    return (right + 1.0) / (np.arange(log.correct.shape[1]) + 2.0)


class Logistic(nn.Module):
    """logit = w_q + vᵀ f + b: logistic regression on [one-hot(q), f] (fitted with Adam, convex)."""

    def __init__(self, n_questions: int, n_features: int) -> None:
        super().__init__()
        self.question = nn.Embedding(n_questions, 1)  # the one-hot's weights
        nn.init.zeros_(self.question.weight)
        self.linear = nn.Linear(n_features, 1)

    def forward(self, q: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """``(...)`` question ids and ``(..., F)`` features -> logits ``(...)``."""
        return (self.question(q) + self.linear(features)).squeeze(-1)
