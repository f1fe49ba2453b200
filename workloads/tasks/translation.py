"""A synthetic "translation" task: a fixed word-for-word lexicon plus local reordering.

Source sentences are uniform random words; the target maps each word through a bijective
lexicon (drawn from a lexicon seed) and, optionally, swaps adjacent pairs (positions 0↔1,
2↔3, ...), a local reordering like adjective-noun order between languages. The task is
copy-like, so a model without attention must carry the whole source in its final state:
the setting where Sutskever et al.'s source reversal helps most.

Token ids (source and target share the layout): 0 = PAD, 1 = BOS, 2 = EOS, 3.. = words.
"""

from __future__ import annotations

import numpy as np

PAD, BOS, EOS = 0, 1, 2
SPECIALS = 3


def make_lexicon(words: int, seed: int = 0) -> np.ndarray:
    """A bijection of the ``words`` word ids, as an array: ``target_id = lexicon[source_id]``.

    Index ``i`` of the array is token ``i``; the specials map to themselves.
    """
    perm = np.random.default_rng([seed, 7_919]).permutation(words) + SPECIALS
    return np.concatenate([np.arange(SPECIALS), perm])


def translate(src: np.ndarray, lexicon: np.ndarray, swap_pairs: bool) -> np.ndarray:
    """Target ids for source ids ``(B, L)``: map through the lexicon, then swap adjacent pairs."""
    tgt = lexicon[src]  # (B, L)
    if swap_pairs:
        L = tgt.shape[1] - tgt.shape[1] % 2
        # (B, L) -> (B, L/2, 2), swap within each pair, -> (B, L)
        tgt[:, :L] = tgt[:, :L].reshape(tgt.shape[0], L // 2, 2)[:, :, ::-1].reshape(tgt.shape[0], L)
    return tgt


def translation_batch(
    rng: np.random.Generator,
    batch: int,
    length: int,
    words: int,
    lexicon: np.ndarray,
    *,
    swap_pairs: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``batch`` pairs of one length: source ``(B, L)`` and target ``(B, L)`` ids (no BOS/EOS)."""
    src = rng.integers(SPECIALS, SPECIALS + words, size=(batch, length))
    return src, translate(src, lexicon, swap_pairs)


def decoder_io(tgt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Teacher-forcing input ``[BOS, y_1..y_L]`` and output ``[y_1..y_L, EOS]``, each ``(B, L+1)``."""
    B = tgt.shape[0]
    y_in = np.concatenate([np.full((B, 1), BOS), tgt], axis=1)
    y_out = np.concatenate([tgt, np.full((B, 1), EOS)], axis=1)
    return y_in, y_out
