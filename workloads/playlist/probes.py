"""Probe tasks on frozen playlist embeddings (the paper's sentence-embedding probes, after Adi et al.
2017), and genre-based retrieval.

Each probe fits scikit-learn's LogisticRegression on standardised embeddings of the probe set's
first ``train_frac`` playlists and reports accuracy on the rest:

* order: was the playlist sorted by energy or shuffled (balanced when ``ordered_frac = 0.5``);
* genre: the playlist's main genre (``n_genres`` classes);
* length: the length in ``n_bins`` equal-width bins;
* content: is a candidate song in the playlist? Half the candidates are, half are songs of the
  playlist's main genre that are not, so the genre alone does not answer. A linear probe on
  [z, e_s] cannot compare the two vectors, so, as Adi et al. do, this one probe is a small MLP
  on [z, e_s], with e_s the arm's own input song vector.

Retrieval: precision@k of cosine nearest neighbours (among the held-out playlists) sharing the
query's main genre.
"""

from __future__ import annotations

import numpy as np


def _split(n: int, train_frac: float) -> int:
    return int(round(n * train_frac))


def linear_probe(x: np.ndarray, y: np.ndarray, train_frac: float, seed: int) -> tuple[float, float]:
    """Held-out accuracy and log-loss (nats) of a standardised logistic regression from ``x`` (N, D)
    to labels ``y`` (N,)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cut = _split(len(y), train_frac)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=seed))
    clf.fit(x[:cut], y[:cut])
    nll = log_loss(y[cut:], clf.predict_proba(x[cut:]), labels=clf.classes_)
    return float(clf.score(x[cut:], y[cut:])), float(nll)


def mlp_probe(x: np.ndarray, y: np.ndarray, train_frac: float, seed: int, hidden: int = 64) -> float:
    """Held-out accuracy of a one-hidden-layer MLP (for the content probe, which compares two vectors)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cut = _split(len(y), train_frac)
    clf = make_pipeline(StandardScaler(), MLPClassifier((hidden,), max_iter=100, random_state=seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(x[:cut], y[:cut])
    return float(clf.score(x[cut:], y[cut:]))


def length_bins(length: np.ndarray, len_min: int, len_max: int, n_bins: int) -> np.ndarray:
    """Equal-width bins of [len_min, len_max]: labels in 0 .. n_bins - 1."""
    edges = np.linspace(len_min, len_max + 1, n_bins + 1)[1:-1]
    return np.digitize(length, edges)


def content_candidates(
    rng: np.random.Generator, songs: np.ndarray, length: np.ndarray, genre: np.ndarray, song_genre: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One candidate song per playlist and its label (1: in the playlist). Negatives share the
    playlist's main genre, so only the content, not the genre, tells them apart."""
    n = len(length)
    label = (rng.random(n) < 0.5).astype(np.int64)
    cand = np.empty(n, dtype=np.int64)
    for i in range(n):
        inside = songs[i, : length[i]]
        if label[i]:
            cand[i] = rng.choice(inside)
        else:
            pool = np.setdiff1d(np.flatnonzero(song_genre == genre[i]), inside)
            cand[i] = rng.choice(pool)
    return cand, label


def precision_at_k(z: np.ndarray, genre: np.ndarray, k: int) -> float:
    """Mean fraction of each playlist's k cosine-nearest others that share its main genre."""
    unit = z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    sim = unit @ unit.T  # (N, N)
    np.fill_diagonal(sim, -np.inf)
    top = np.argpartition(-sim, k, axis=1)[:, :k]  # (N, k)
    return float((genre[top] == genre[:, None]).mean())
