"""An English-like PCFG with gold constituency trees and grammar-defined dependency heads.

Both branching directions occur (``NP -> NP 's N``, ``NP -> NP PP`` and ``VP -> VP Adv`` grow to
the left; ``V NP``, ``P NP`` and relative clauses to the right), so neither a left- nor a
right-branching tree is a trivially strong parse. Every rule names its head child, which
defines the gold dependency tree. A tree is ``(label, head_index, children)`` with leaves
``(category, word_id)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# nonterminal -> [(probability, right-hand side, index of the head child)]
RULES: dict[str, list[tuple[float, tuple[str, ...], int]]] = {
    "S": [(1.0, ("NP", "VP"), 1)],
    "NP": [
        (0.30, ("Det", "N"), 1),
        (0.15, ("Det", "Adj", "N"), 2),
        (0.05, ("Det", "Adj", "Adj", "N"), 3),
        (0.10, ("Pron",), 0),
        (0.05, ("Name",), 0),
        (0.15, ("NP", "PP"), 0),
        (0.10, ("NP", "Poss", "N"), 2),
        (0.10, ("NP", "RC"), 0),
    ],
    "RC": [(1.0, ("Rel", "VP"), 1)],
    "VP": [
        (0.35, ("V", "NP"), 0),
        (0.15, ("Vi",), 0),
        (0.15, ("V", "NP", "PP"), 0),
        (0.10, ("Vi", "PP"), 0),
        (0.10, ("Adv", "VP"), 1),
        (0.15, ("VP", "Adv"), 0),
    ],
    "PP": [(1.0, ("P", "NP"), 0)],
}
# preterminal -> number of words in its class
LEXICON: dict[str, int] = {
    "Det": 6, "N": 40, "Adj": 20, "Pron": 6, "Name": 10, "V": 25, "Vi": 15,
    "P": 10, "Adv": 10, "Rel": 2, "Poss": 1,
}  # fmt: skip
SPECIALS = ("<pad>", "<mask>")


@dataclass(frozen=True)
class Sentence:
    """One parsed sentence: word ids, gold constituents and gold dependency parents."""

    words: tuple[int, ...]
    spans: frozenset[tuple[int, int]]  # non-trivial constituents [i, j) with 2 <= j - i < n
    parents: tuple[int, ...]  # gold parent index of each word; -1 for the root


def vocab_size() -> int:
    """Special tokens plus every word of every class."""
    return len(SPECIALS) + sum(LEXICON.values())


def _word_offsets() -> dict[str, int]:
    offsets, at = {}, len(SPECIALS)
    for cat, size in LEXICON.items():
        offsets[cat], at = at, at + size
    return offsets


_OFFSETS = _word_offsets()


def sample_tree(rng: np.random.Generator, symbol: str = "S", depth: int = 0, max_depth: int = 6):
    """A random tree below ``symbol``; past ``max_depth`` only the first (non-recursive) rule applies."""
    if symbol in LEXICON:
        return (symbol, _OFFSETS[symbol] + int(rng.integers(LEXICON[symbol])))
    rules = RULES[symbol]
    if depth >= max_depth:
        _, rhs, head = rules[0]
    else:
        probs = np.array([p for p, _, _ in rules])
        _, rhs, head = rules[int(rng.choice(len(rules), p=probs / probs.sum()))]
    return (symbol, head, tuple(sample_tree(rng, s, depth + 1, max_depth) for s in rhs))


def analyse(tree) -> Sentence:
    """Words, non-trivial gold spans and gold dependency parents of a tree."""
    words: list[int] = []
    spans: set[tuple[int, int]] = set()
    parents: dict[int, int] = {}

    def walk(node) -> tuple[int, int, int]:  # (start, end, head word position)
        if len(node) == 2:
            words.append(node[1])
            pos = len(words) - 1
            return pos, pos + 1, pos
        _, head_child, children = node
        parts = [walk(c) for c in children]
        head = parts[head_child][2]
        for k, (_, _, h) in enumerate(parts):
            if k != head_child:
                parents[h] = head
        start, end = parts[0][0], parts[-1][1]
        spans.add((start, end))
        return start, end, head

    _, n, root = walk(tree)
    parents[root] = -1
    keep = frozenset((i, j) for i, j in spans if 2 <= j - i < n)
    return Sentence(tuple(words), keep, tuple(parents[i] for i in range(n)))


def corpus(rng: np.random.Generator, count: int, min_len: int = 5, max_len: int = 20) -> list[Sentence]:
    """``count`` sentences whose length lies in [min_len, max_len] (rejection sampling)."""
    out = []
    while len(out) < count:
        sentence = analyse(sample_tree(rng))
        if min_len <= len(sentence.words) <= max_len:
            out.append(sentence)
    return out


# -- trees from split scores, and the trivial baselines ------------------------------------------


def spans_from_distances(distance: np.ndarray) -> frozenset[tuple[int, int]]:
    """Binary tree by splitting each span at its largest distance; non-trivial spans of it.

    ``distance[i]`` scores the gap between words i and i+1 (length n - 1).
    """
    n = len(distance) + 1
    out: set[tuple[int, int]] = set()

    def split(i: int, j: int) -> None:
        if j - i < 2:
            return
        out.add((i, j))
        k = i + int(np.argmax(distance[i : j - 1])) + 1
        split(i, k)
        split(k, j)

    split(0, n)
    return frozenset((i, j) for i, j in out if j - i < n)


def right_branching(n: int) -> frozenset[tuple[int, int]]:
    """Non-trivial spans of the right-branching tree (w1 (w2 (w3 ...)))."""
    return frozenset((i, n) for i in range(1, n - 1))


def left_branching(n: int) -> frozenset[tuple[int, int]]:
    """Non-trivial spans of the left-branching tree (((w1 w2) w3) ...)."""
    return frozenset((0, j) for j in range(2, n))


def random_tree(n: int, rng: np.random.Generator) -> frozenset[tuple[int, int]]:
    """Non-trivial spans of a random binary tree (uniform split points)."""
    return spans_from_distances(rng.random(n - 1))


def span_f1(pred: frozenset, gold: frozenset) -> float | None:
    """Sentence-level unlabeled F1 (None when the gold tree has no non-trivial span)."""
    if not gold:
        return None
    tp = len(pred & gold)
    if tp == 0:
        return 0.0
    precision, recall = tp / len(pred), tp / len(gold)
    return 2 * precision * recall / (precision + recall)


def right_chain(n: int) -> tuple[int, ...]:
    """Dependency baseline: each word's parent is the next word; the last word is the root."""
    return tuple(range(1, n)) + (-1,)


def uas(pred: tuple[int, ...] | np.ndarray, gold: tuple[int, ...]) -> float:
    """Fraction of words whose predicted parent (or root, -1) matches the gold one."""
    return float(np.mean([int(p) == g for p, g in zip(pred, gold)]))
