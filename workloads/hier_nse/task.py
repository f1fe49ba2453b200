"""Synthetic "highlight" documents: a known salient-content rule, so the summary is determined.

A document is ``n_sent`` sentences of ``sent_len`` tokens. Every sentence ends with a period and
holds one marker at a random position among the others: the cue token in the ``n_highlights``
highlight sentences (anywhere in the document, first and last included), one of a few decoy
markers elsewhere, so highlight and other sentences have the same length and shape. The rest are
content words. The summary is the content words of the highlights, in document order, then EOS;
by default a word in the rare inflection is restated in its base form (inflection 0), as a
headline drops an unusual ending, so copying alone cannot write it.

Words are factored as ``lemma x inflection`` with a synthetic part of speech (``lemma % N_POS``).
The last inflection is rare: in training it only occurs on half of the lemmas (the
``rare_lemmas`` drawn from the seed), with probability ``rare_p_train``; the rare test split puts
it on any lemma with probability ``rare_p_test``, so about half of its rare forms are word types
never seen in training, whose lemma and inflection were each seen.

Token ids: specials first (:data:`PAD`, :data:`BOS`, :data:`EOS`, :data:`PERIOD`, :data:`CUE`,
then the decoys), then ``N_SPECIAL + lemma * n_infl + infl``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAD, BOS, EOS, PERIOD, CUE = 0, 1, 2, 3, 4
N_DECOYS = 3
N_SPECIAL = 5 + N_DECOYS  # decoys are ids 5 .. 7
N_POS = 4


@dataclass(frozen=True)
class Lexicon:
    """The factored vocabulary: ``n_lemmas x n_infl`` words after the specials."""

    n_lemmas: int
    n_infl: int
    rare_lemmas: np.ndarray  # (n_lemmas,) bool: the lemmas that take the rare inflection in training

    @property
    def size(self) -> int:
        return N_SPECIAL + self.n_lemmas * self.n_infl

    def factors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per token id: lemma id, inflection id and POS id, each ``(size,)``.

        Specials are their own lemma (ids 0 .. N_SPECIAL-1), inflection ``n_infl`` and POS ``N_POS``;
        word lemmas are shifted past them.
        """
        ids = np.arange(self.size)
        word = ids - N_SPECIAL
        is_word = word >= 0
        lemma = np.where(is_word, N_SPECIAL + word // self.n_infl, ids)
        infl = np.where(is_word, word % self.n_infl, self.n_infl)
        pos = np.where(is_word, (word // self.n_infl) % N_POS, N_POS)
        return lemma, infl, pos


def make_lexicon(rng: np.random.Generator, n_lemmas: int, n_infl: int) -> Lexicon:
    """A lexicon whose rare-inflection lemmas (half of them) are drawn from ``rng``."""
    rare = np.zeros(n_lemmas, dtype=bool)
    rare[rng.permutation(n_lemmas)[: n_lemmas // 2]] = True
    return Lexicon(n_lemmas, n_infl, rare)


@dataclass(frozen=True)
class Corpus:
    """Documents ``(N, n_sent, sent_len)``, targets ``(N, n_highlights * (sent_len - 2) + 1)``
    ending in EOS, and the highlight mask ``(N, n_sent)``."""

    docs: np.ndarray
    targets: np.ndarray
    highlights: np.ndarray


def sample_corpus(
    rng: np.random.Generator,
    lex: Lexicon,
    n: int,
    n_sent: int,
    sent_len: int,
    n_highlights: int,
    rare_p: float,
    rare_anywhere: bool,
    summary_form: str = "base_rare",
) -> Corpus:
    """``n`` documents; each content word takes the rare inflection with probability ``rare_p``,
    on any lemma when ``rare_anywhere`` (the rare test split), else only on ``lex.rare_lemmas``.
    ``summary_form`` says how the summary states a word: ``surface`` as written, ``base`` in its
    base form (inflection 0), ``base_rare`` the rare inflection in base form and others as
    written. A word restated in base form cannot simply be copied: the model must know its lemma."""
    S, T = n_sent, sent_len
    lemma = rng.integers(0, lex.n_lemmas, size=(n, S, T))
    infl = rng.integers(0, lex.n_infl - 1, size=(n, S, T))  # common inflections 0 .. n_infl-2
    rare = rng.random((n, S, T)) < rare_p
    if not rare_anywhere:
        rare &= lex.rare_lemmas[lemma]
    infl = np.where(rare, lex.n_infl - 1, infl)
    docs = N_SPECIAL + lemma * lex.n_infl + infl  # (n, S, T)
    docs[:, :, T - 1] = PERIOD
    # highlight sentences: n_highlights distinct ones per document, uniformly placed
    order = np.argsort(rng.random((n, S)), axis=1)
    highlights = np.zeros((n, S), dtype=bool)
    np.put_along_axis(highlights, order[:, :n_highlights], True, axis=1)
    marker_pos = rng.integers(0, T - 1, size=(n, S))
    decoys = 5 + rng.integers(0, N_DECOYS, size=(n, S))
    np.put_along_axis(docs, marker_pos[..., None], np.where(highlights, CUE, decoys)[..., None], axis=2)
    # target: content words (not marker, not period) of the highlights, in document order
    content = np.ones((n, S, T), dtype=bool)
    content[:, :, T - 1] = False
    np.put_along_axis(content, marker_pos[..., None], False, axis=2)
    keep = content & highlights[..., None]  # (n, S, T)
    words = docs.reshape(n, S * T)[keep.reshape(n, S * T)].reshape(n, n_highlights * (T - 2))
    infl_of = (words - N_SPECIAL) % lex.n_infl
    if summary_form == "base":
        words = words - infl_of  # (lemma, infl) -> (lemma, 0)
    elif summary_form == "base_rare":
        words = np.where(infl_of == lex.n_infl - 1, words - infl_of, words)
    elif summary_form != "surface":
        raise ValueError(f"summary_form must be surface, base or base_rare, got {summary_form!r}")
    targets = np.concatenate([words, np.full((n, 1), EOS)], axis=1)
    return Corpus(docs.astype(np.int64), targets.astype(np.int64), highlights)

