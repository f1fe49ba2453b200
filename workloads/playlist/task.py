"""Synthetic playlists with known structure: genres, an energy scalar per song, ordered or shuffled.

A catalogue of ``n_songs`` songs, each with a genre (uniform over ``n_genres``) and an energy
drawn uniformly in [0, 1]. A playlist has a length uniform in [len_min, len_max], one or two
genres (two with probability ``two_genre_frac``), and distinct songs drawn from those genres
(the first genre gives ``main_share`` of them). With probability ``ordered_frac`` it is sorted by
ascending energy (a DJ's warm-up), otherwise shuffled. So the set of songs says the genre and the
length, and only the order says "ordered or shuffled": an order-invariant embedding cannot tell.

Song ids in the arrays below are 0-based catalogue indices; the models add their own offsets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Catalogue:
    """Per-song attributes: ``genre`` (n_songs,) int and ``energy`` (n_songs,) float in [0, 1]."""

    genre: np.ndarray
    energy: np.ndarray

    @property
    def by_genre(self) -> list[np.ndarray]:
        """Song ids of each genre."""
        return [np.flatnonzero(self.genre == g) for g in range(int(self.genre.max()) + 1)]


@dataclass(frozen=True)
class Playlists:
    """A corpus: ``songs`` (N, len_max) int, -1 after each playlist's end; ``length`` (N,);
    ``genre`` (N,) the main genre; ``ordered`` (N,) 1 if sorted by energy, 0 if shuffled."""

    songs: np.ndarray
    length: np.ndarray
    genre: np.ndarray
    ordered: np.ndarray

    def __len__(self) -> int:
        return len(self.length)

    def row(self, i: int) -> np.ndarray:
        """The song ids of playlist ``i``, in playlist order."""
        return self.songs[i, : self.length[i]]


def make_catalogue(rng: np.random.Generator, n_songs: int, n_genres: int) -> Catalogue:
    """Genres are assigned round-robin then shuffled, so every genre has n_songs // n_genres songs or one more."""
    genre = rng.permutation(np.arange(n_songs) % n_genres)
    return Catalogue(genre=genre, energy=rng.random(n_songs))


def sample_playlists(
    rng: np.random.Generator,
    cat: Catalogue,
    n: int,
    *,
    len_min: int,
    len_max: int,
    ordered_frac: float,
    two_genre_frac: float = 0.5,
    main_share: float = 0.7,
) -> Playlists:
    """``n`` playlists drawn as the module docstring says."""
    pools = cat.by_genre
    n_genres = len(pools)
    songs = np.full((n, len_max), -1, dtype=np.int64)
    length = rng.integers(len_min, len_max + 1, size=n)
    genre = rng.integers(0, n_genres, size=n)
    ordered = (rng.random(n) < ordered_frac).astype(np.int64)
    two = rng.random(n) < two_genre_frac
    other = (genre + rng.integers(1, n_genres, size=n)) % n_genres if n_genres > 1 else genre
    for i in range(n):
        L = int(length[i])
        n_main = L if not two[i] or n_genres == 1 else int(np.ceil(main_share * L))
        picked = rng.choice(pools[genre[i]], size=n_main, replace=False)
        if n_main < L:
            picked = np.concatenate([picked, rng.choice(pools[other[i]], size=L - n_main, replace=False)])
        if ordered[i]:
            picked = picked[np.argsort(cat.energy[picked], kind="stable")]
        else:
            picked = rng.permutation(picked)
        songs[i, :L] = picked
    return Playlists(songs=songs, length=length, genre=genre, ordered=ordered)
