"""Synthetic catalogue with text attributes, and users whose choices those attributes explain.

Items carry a category, a brand, a colour and a title of ``title_len`` words drawn from a
word list of their category, plus a hidden per-item ``quality`` that no attribute reveals (what
only an ID embedding can learn). A fraction ``cold_frac`` of the items is *cold*: training users
never choose one, held-out users do.

A user has 2 favourite categories, ``n_fav_brands`` favourite brands and one favourite colour.
Their sequence walks a global category Markov chain tilted towards the favourite categories;
at each step the item inside the chosen category is picked with probability

    p(i | u, c) ∝ exp(brand_weight · [brand_i ∈ fav_u] + colour_weight · [colour_i = col_u] + quality_i)

over the category's items (warm ones only for training users). The next item is therefore
predictable from the previous item's category and the attributes of the history: exactly what a
model reading item text can carry over to an item it has never seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Catalogue:
    """Items' attributes, ``(I,)`` each unless stated.

    category, brand, colour: attribute value ids.
    title: ``(I, title_len)`` word ids, global over all categories' word lists.
    quality: the hidden per-item preference term.
    cold: True for items no training user ever chooses.
    """

    category: np.ndarray
    brand: np.ndarray
    colour: np.ndarray
    title: np.ndarray
    quality: np.ndarray
    cold: np.ndarray
    n_categories: int
    n_brands: int
    n_colours: int
    n_words: int

    def __len__(self) -> int:
        return len(self.category)


@dataclass(frozen=True)
class Users:
    """Item sequences, oldest first: ``items`` ``(U, L)`` with -1 after each row's ``lengths`` ``(U,)``."""

    items: np.ndarray
    lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.lengths)

    def subset(self, idx: np.ndarray) -> "Users":
        return Users(self.items[idx], self.lengths[idx])


def make_catalogue(
    rng: np.random.Generator,
    n_items: int,
    *,
    n_categories: int,
    n_brands: int,
    n_colours: int,
    words_per_category: int,
    title_len: int,
    cold_frac: float,
    quality_std: float,
) -> Catalogue:
    """A catalogue of ``n_items`` with uniformly drawn attributes; ``cold_frac`` of each category is cold."""
    category = rng.integers(0, n_categories, n_items)
    words = rng.integers(0, words_per_category, (n_items, title_len))
    title = category[:, None] * words_per_category + words  # category-specific word lists
    cold = np.zeros(n_items, dtype=bool)
    for c in range(n_categories):  # stratified, so every category keeps warm and cold items
        members = rng.permutation(np.flatnonzero(category == c))
        cold[members[: int(round(cold_frac * len(members)))]] = True
    return Catalogue(
        category=category,
        brand=rng.integers(0, n_brands, n_items),
        colour=rng.integers(0, n_colours, n_items),
        title=title,
        quality=rng.normal(0.0, quality_std, n_items),
        cold=cold,
        n_categories=n_categories,
        n_brands=n_brands,
        n_colours=n_colours,
        n_words=n_categories * words_per_category,
    )


def category_chain(rng: np.random.Generator, n_categories: int, n_successors: int = 3, stay: float = 0.8) -> np.ndarray:
    """A row-stochastic ``(C, C)`` transition matrix: ``stay`` of each row's mass on ``n_successors``
    random categories (Dirichlet weights), the rest spread evenly."""
    T = np.full((n_categories, n_categories), (1.0 - stay) / n_categories)
    for c in range(n_categories):
        succ = rng.choice(n_categories, n_successors, replace=False)
        T[c, succ] += stay * rng.dirichlet(np.ones(n_successors))
    return T


def sample_users(
    rng: np.random.Generator,
    cat: Catalogue,
    chain: np.ndarray,
    n_users: int,
    *,
    length: tuple[int, int],
    allow_cold: bool,
    n_fav_brands: int,
    fav_boost: float,
    brand_weight: float,
    colour_weight: float,
) -> Users:
    """``n_users`` sequences of ``length`` (inclusive range) items; cold items only when ``allow_cold``."""
    C = cat.n_categories
    lengths = rng.integers(length[0], length[1] + 1, n_users)
    fav_cats = np.stack([rng.choice(C, 2, replace=False) for _ in range(n_users)])  # (U, 2)
    fav_brands = np.zeros((n_users, cat.n_brands), dtype=bool)
    for u in range(n_users):
        fav_brands[u, rng.choice(cat.n_brands, n_fav_brands, replace=False)] = True
    fav_colour = rng.integers(0, cat.n_colours, n_users)
    # items of each category as a padded table (C, M), -1 beyond a category's size
    allowed = np.ones(len(cat), dtype=bool) if allow_cold else ~cat.cold
    members = [np.flatnonzero((cat.category == c) & allowed) for c in range(C)]
    M = max(len(m) for m in members)
    table = np.full((C, M), -1)
    for c, m in enumerate(members):
        table[c, : len(m)] = m
    tilt = np.zeros((n_users, C))
    np.put_along_axis(tilt, fav_cats, fav_boost, 1)  # (U, C): log-boost of the favourites
    users = np.arange(n_users)
    items = np.full((n_users, length[1]), -1)
    category = fav_cats[users, rng.integers(0, 2, n_users)]  # first item from a favourite category
    for t in range(length[1]):
        if t > 0:
            logits = np.log(chain[category]) + tilt  # (U, C)
            category = _gumbel_argmax(rng, logits)
        cand = table[category]  # (U, M) candidate items of each user's category
        safe = cand.clip(min=0)
        logits = (
            brand_weight * fav_brands[users[:, None], cat.brand[safe]]
            + colour_weight * (cat.colour[safe] == fav_colour[:, None])
            + cat.quality[safe]
        )
        logits = np.where(cand >= 0, logits, -np.inf)
        choice = cand[users, _gumbel_argmax(rng, logits)]
        items[:, t] = np.where(t < lengths, choice, -1)
    return Users(items, lengths)


def _gumbel_argmax(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """One sample per row of softmax(logits) ``(N, K)`` -> ``(N,)`` indices (Gumbel-max trick)."""
    return np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
