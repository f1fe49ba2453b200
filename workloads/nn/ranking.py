"""Top-k ranking metrics of recommenders over a full item catalogue (HR@k, Recall@k, NDCG@k).

Every function takes ``scores`` ``(N, I)`` (higher ranks first) and ``relevant`` ``(N, I)``
booleans (the items of each row's target: one item for next-item prediction, a whole session
for IDNP) and returns one value per row, so callers can average over any stratum (cold vs warm
targets, short vs long gaps). NDCG is scikit-learn's ``ndcg_score`` with binary gains, which
averages over tied scores; HR and Recall break ties by item index.
"""

from __future__ import annotations

import numpy as np


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Item ids of each row's ``k`` best scores ``(N, k)``, ties broken by the lower id."""
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def hits_at_k(scores: np.ndarray, relevant: np.ndarray, k: int = 10) -> np.ndarray:
    """1.0 where at least one relevant item is in the row's top ``k``, else 0.0: ``(N,)``."""
    top = _top_k(scores, k)
    return np.take_along_axis(relevant, top, 1).any(1).astype(float)


def recall_at_k(scores: np.ndarray, relevant: np.ndarray, k: int = 10) -> np.ndarray:
    """Relevant items in the top ``k`` over min(k, relevant items): ``(N,)`` in [0, 1]."""
    top = _top_k(scores, k)
    found = np.take_along_axis(relevant, top, 1).sum(1)
    return found / np.minimum(k, relevant.sum(1)).clip(min=1)


def ndcg_at_k(scores: np.ndarray, relevant: np.ndarray, k: int = 10) -> np.ndarray:
    """Normalised discounted cumulative gain at ``k`` per row with binary gains: ``(N,)``."""
    from sklearn.metrics import ndcg_score

    gains = relevant.astype(float)
    return np.array([ndcg_score(gains[i : i + 1], scores[i : i + 1], k=k) for i in range(len(scores))])
