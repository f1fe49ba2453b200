"""A synthetic LDA corpus whose labels are known: each kept document's dominant topic.

Topics are word distributions φ_k ~ Dir(β) over the vocabulary; a document draws its mixture
θ_d ~ Dir(α) and ``doc_len`` words from Σ_k θ_dk φ_k. Documents whose largest θ_dk is at most
``min_dominant`` are dropped, so every label is a topic the document is mostly about. Only the
bag of words is kept (PV-DBOW, the autoencoder and TF-IDF ignore word order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Corpus:
    counts: np.ndarray  # (N, V) int64 word counts per document
    labels: np.ndarray  # (N,) int64 dominant topic
    topics: np.ndarray  # (K, V) the topic-word distributions the corpus was drawn from


def sample_corpus(
    rng: np.random.Generator,
    n_docs: int,
    n_topics: int = 20,
    vocab: int = 2000,
    doc_len: int = 80,
    alpha: float = 0.1,
    beta: float = 0.05,
    min_dominant: float = 0.5,
) -> Corpus:
    """``n_docs`` documents drawn, those with a dominant topic share > ``min_dominant`` kept."""
    topics = rng.dirichlet(np.full(vocab, beta), size=n_topics)  # (K, V)
    theta = rng.dirichlet(np.full(n_topics, alpha), size=n_docs)  # (N, K)
    keep = theta.max(1) > min_dominant
    theta = theta[keep]
    probs = theta @ topics  # (N_kept, V)
    probs /= probs.sum(1, keepdims=True)
    counts = rng.multinomial(doc_len, probs).astype(np.int64)  # (N_kept, V)
    return Corpus(counts=counts, labels=theta.argmax(1).astype(np.int64), topics=topics)


def split(corpus: Corpus, n_test: int) -> tuple[Corpus, Corpus]:
    """(train, test): the last ``n_test`` kept documents are the queries (the draw order is random)."""
    if n_test >= len(corpus.labels):
        raise ValueError(f"n_test ({n_test}) must be below the {len(corpus.labels)} documents kept by the filter")
    cut = len(corpus.labels) - n_test
    train = Corpus(corpus.counts[:cut], corpus.labels[:cut], corpus.topics)
    test = Corpus(corpus.counts[cut:], corpus.labels[cut:], corpus.topics)
    return train, test
