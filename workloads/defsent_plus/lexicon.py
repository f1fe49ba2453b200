"""A synthetic dictionary with known semantics, its definitions, and a toy STS benchmark.

Every concept is a sparse binary vector over ``n_features`` semantic features: it starts from
one of ``n_categories`` prototypes (``proto_features`` features each), keeps each prototype
feature with probability 0.8 and adds 1-2 random ones, so concepts of one category are alike.
A feature is written with one of ``n_synonyms`` interchangeable tokens. An entry's name is one
token (``1 - multi_share`` of the entries, names unique to the entry) or 2-3 tokens drawn from a
shared pool of meaningless pieces (the multi-token entries DefSent cannot use).

Sentences (all start with CLS):
  * a *description* of a concept lists ~80 % of its features (random order, random synonyms)
    with 1-3 of ``N_FUNCTION`` function words scattered in: a definition is a description of a
    lexicon concept;
  * a pretraining sentence is a description preceded by the concept's name (70 %) or without it,
    so a masked language model learns names, synonyms and features from co-occurrence;
  * the STS benchmark pairs descriptions of *novel* concepts (not in the lexicon); the gold score
    is the cosine of the two feature vectors (half the pairs share a category).

Token layout: PAD, MASK, CLS, function words, feature synonyms, single-token names, name pieces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAD, MASK, CLS = 0, 1, 2
N_FUNCTION = 8


@dataclass(frozen=True)
class Lexicon:
    features: np.ndarray  # (C, F) bool: each concept's features
    category: np.ndarray  # (C,) int: the prototype it came from
    prototypes: np.ndarray  # (K, F) bool
    names: tuple[tuple[int, ...], ...]  # C entry names as token ids
    n_synonyms: int
    vocab: int
    max_len: int

    @property
    def n_features(self) -> int:
        return self.features.shape[1]

    @property
    def single(self) -> np.ndarray:
        """Indices of the entries whose name is one token (DefSent's entries)."""
        return np.array([i for i, n in enumerate(self.names) if len(n) == 1], dtype=np.int64)

    def feature_token(self, feature: int, synonym: int) -> int:
        return 3 + N_FUNCTION + feature * self.n_synonyms + synonym


def make_lexicon(
    rng: np.random.Generator,
    n_concepts: int = 300,
    n_features: int = 24,
    n_categories: int = 12,
    proto_features: int = 5,
    n_synonyms: int = 2,
    multi_share: float = 0.4,
    n_pieces: int = 60,
) -> Lexicon:
    """A lexicon of ``n_concepts`` entries (see the module docstring)."""
    prototypes = _prototypes(rng, n_categories, n_features, proto_features)
    category = rng.integers(0, n_categories, size=n_concepts)
    features = _concepts(rng, prototypes[category])
    n_multi = int(round(multi_share * n_concepts))
    n_single = n_concepts - n_multi
    first_name = 3 + N_FUNCTION + n_features * n_synonyms
    first_piece = first_name + n_single
    names: list[tuple[int, ...]] = [(first_name + i,) for i in range(n_single)]
    seen: set[tuple[int, ...]] = set()
    while len(names) < n_concepts:
        name = tuple(int(p) for p in first_piece + rng.integers(0, n_pieces, size=int(rng.integers(2, 4))))
        if name not in seen:
            seen.add(name)
            names.append(name)
    order = rng.permutation(n_concepts)  # which concepts get single-token names is random
    names = [names[i] for i in order]
    longest = int(features.sum(1).max()) + 3 + 8  # CLS + name + features + function words
    return Lexicon(features, category, prototypes, tuple(names), n_synonyms, first_piece + n_pieces, longest)


def _prototypes(rng: np.random.Generator, k: int, n_features: int, per: int) -> np.ndarray:
    protos = np.zeros((k, n_features), dtype=bool)
    for row in protos:
        row[rng.choice(n_features, size=per, replace=False)] = True
    return protos


def _concepts(rng: np.random.Generator, protos: np.ndarray) -> np.ndarray:
    """Each row: its prototype's features kept with p = 0.8, plus 1-2 random features."""
    feats = protos & (rng.random(protos.shape) < 0.8)
    for row in feats:
        row[rng.choice(len(row), size=int(rng.integers(1, 3)), replace=False)] = True
    return feats


def describe(rng: np.random.Generator, lex: Lexicon, features: np.ndarray, name: tuple[int, ...] = ()) -> list[int]:
    """Token ids of one description of a concept with boolean ``features`` (F,), after ``name``."""
    active = np.flatnonzero(features)
    keep = max(1, int(round(0.8 * len(active))))
    chosen = rng.permutation(active)[:keep]
    words = [lex.feature_token(int(f), int(rng.integers(lex.n_synonyms))) for f in chosen]
    for _ in range(int(rng.integers(1, 4))):  # function words at random places
        words.insert(int(rng.integers(len(words) + 1)), 3 + int(rng.integers(N_FUNCTION)))
    return [CLS, *name, *words]


def pad(sentences: list[list[int]], length: int | None = None) -> np.ndarray:
    """(N, T) int64 token ids, right-padded with PAD."""
    width = length or max(len(s) for s in sentences)
    out = np.full((len(sentences), width), PAD, dtype=np.int64)
    for i, s in enumerate(sentences):
        out[i, : len(s)] = s
    return out


def pretraining_batch(rng: np.random.Generator, lex: Lexicon, batch: int) -> np.ndarray:
    """(batch, T) sentences about random lexicon concepts, 70 % of them naming the concept."""
    concepts = rng.integers(0, len(lex.names), size=batch)
    named = rng.random(batch) < 0.7
    return pad([describe(rng, lex, lex.features[c], lex.names[c] if n else ()) for c, n in zip(concepts, named)])


def definitions(rng: np.random.Generator, lex: Lexicon, entries: np.ndarray) -> np.ndarray:
    """(len(entries), T) one fresh definition (a description without the name) per entry."""
    return pad([describe(rng, lex, lex.features[e]) for e in entries])


def names_batch(lex: Lexicon) -> np.ndarray:
    """(C, T) every entry's name after CLS, padded."""
    return pad([[CLS, *n] for n in lex.names])


@dataclass(frozen=True)
class STS:
    left: np.ndarray  # (P, T) token ids
    right: np.ndarray  # (P, T)
    gold: np.ndarray  # (P,) cosine of the two concepts' feature vectors


def sts_benchmark(rng: np.random.Generator, lex: Lexicon, n_pairs: int = 1000) -> STS:
    """``n_pairs`` pairs of descriptions of novel concepts (drawn from the lexicon's prototypes);
    half the pairs share a category. Gold = cosine of the feature vectors."""
    k = len(lex.prototypes)
    cat_a = rng.integers(0, k, size=n_pairs)
    same = rng.random(n_pairs) < 0.5
    cat_b = np.where(same, cat_a, rng.integers(0, k, size=n_pairs))
    fa = _concepts(rng, lex.prototypes[cat_a])  # (P, F)
    fb = _concepts(rng, lex.prototypes[cat_b])
    gold = (fa & fb).sum(1) / np.sqrt(fa.sum(1) * fb.sum(1))
    left = pad([describe(rng, lex, f) for f in fa], lex.max_len)
    right = pad([describe(rng, lex, f) for f in fb], lex.max_len)
    return STS(left, right, gold.astype(np.float64))
