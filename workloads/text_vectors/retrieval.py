"""Retrieval scores: precision@k of queries against a database, same label = relevant.

Ties (common in Hamming distance at 32 bits) are broken by database index, which carries no
information because the corpus is drawn in random order.
"""

from __future__ import annotations

import numpy as np


def precision_at_k(dist: np.ndarray, query_labels: np.ndarray, db_labels: np.ndarray, k: int) -> float:
    """Mean over queries of the share of the ``k`` nearest database items with the query's label.

    ``dist``: (Q, N) distances, smaller = nearer.
    """
    nearest = np.argsort(dist, axis=1, kind="stable")[:, :k]  # (Q, k)
    return float((db_labels[nearest] == query_labels[:, None]).mean())


def hamming(query_bits: np.ndarray, db_bits: np.ndarray) -> np.ndarray:
    """(Q, N) Hamming distances between {0, 1} codes (Q, B) and (N, B)."""
    q = query_bits.astype(np.float32)
    d = db_bits.astype(np.float32)
    return q @ (1 - d).T + (1 - q) @ d.T


def cosine_distance(query: np.ndarray, db: np.ndarray) -> np.ndarray:
    """(Q, N) one minus the cosine similarity of real vectors (Q, D) and (N, D)."""
    q = query / (np.linalg.norm(query, axis=1, keepdims=True) + 1e-12)
    d = db / (np.linalg.norm(db, axis=1, keepdims=True) + 1e-12)
    return 1.0 - q @ d.T


def chance_precision(query_labels: np.ndarray, db_labels: np.ndarray) -> float:
    """Expected precision@k of a random ranking: the mean share of the database with the query's label."""
    share = np.bincount(db_labels, minlength=int(max(db_labels.max(), query_labels.max())) + 1) / len(db_labels)
    return float(share[query_labels].mean())


def lsh_codes(train_counts: np.ndarray, test_counts: np.ndarray, bits: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sign of ``bits`` Gaussian projections of TF-IDF (idf fitted on the training documents)."""
    from sklearn.feature_extraction.text import TfidfTransformer

    tfidf = TfidfTransformer().fit(train_counts)
    planes = rng.standard_normal((train_counts.shape[1], bits))  # (V, B)
    train = np.asarray(tfidf.transform(train_counts) @ planes) > 0  # (N, B)
    test = np.asarray(tfidf.transform(test_counts) @ planes) > 0  # (Q, B)
    return train, test
