"""Representation, Exploration and Recommendation of Music Playlists (Papreja, Venkateswara and
Panchanathan 2019): toy scale.

Playlists are sentences and songs are words. A GRU seq2seq autoencoder reconstructs each
playlist; its encoder's final state is the playlist embedding ("playlist2vec"). It is compared
with two order-invariant encoders, the mean of skip-gram song vectors and a bag-of-songs
autoencoder, by probes on frozen embeddings: logistic regression for order (sorted by energy or
shuffled), main genre and length, an MLP for "is song s in the playlist", and genre precision@10
of nearest-neighbour retrieval. Synthetic playlists with known genres and an energy ordering.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads.api import WorkloadConfig, WorkloadDef
from workloads.checks import at_most


class Config(WorkloadConfig):
    steps: int = Field(600, ge=1, description="Adam steps (batches of playlists) for every encoder.")
    eval_every: int = Field(600, ge=1, description="Probe the frozen embeddings every this many steps.")
    model: Literal["seq2seq", "skipgram_mean", "bag_ae"] = Field(
        "seq2seq", description="GRU seq2seq autoencoder, mean of skip-gram song vectors, or bag-of-songs autoencoder.")
    emb: int = Field(64, ge=1, description="Song (input) embedding width of seq2seq and bag_ae.")
    hidden: int = Field(128, ge=1, description="Playlist embedding width per direction (GRU state, bag_ae code, skip-gram vector).")
    bidirectional: bool = Field(False, description="seq2seq: bidirectional encoder (embedding = both final states).")
    attention: bool = Field(False, description="seq2seq: the decoder attends over the encoder outputs (additive attention).")
    window: int = Field(2, ge=1, description="skipgram_mean: context window in positions either side.")
    negatives: int = Field(5, ge=1, description="skipgram_mean: negative songs per (centre, context) pair.")
    lr: float = Field(3.0e-3, gt=0, description="Adam learning rate.")
    batch: int = Field(64, ge=1, description="Training playlists per step.")
    clip: float = Field(5.0, gt=0, description="Gradient-norm clipping threshold.")
    n_songs: int = Field(1200, ge=2, description="Songs in the catalogue.")
    n_genres: int = Field(12, ge=1, description="Genres; songs are split evenly among them.")
    len_min: int = Field(8, ge=2, description="Shortest playlist.")
    len_max: int = Field(20, ge=2, description="Longest playlist.")
    ordered_frac: float = Field(0.5, ge=0, le=1, description="Probability a playlist is sorted by ascending energy (else shuffled).")
    two_genre_frac: float = Field(0.5, ge=0, le=1, description="Probability a playlist mixes a second genre (30% of its songs).")
    n_train: int = Field(20000, ge=10, description="Training playlists (the unsupervised corpus).")
    n_probe: int = Field(3000, ge=20, description="Probe playlists, drawn apart from training ones.")
    probe_train_frac: float = Field(0.7, gt=0, lt=1, description="Fraction of the probe playlists that fit the probes; the rest score them.")
    length_bins: int = Field(4, ge=2, description="Equal-width length bins of the length probe.")
    content_probe: bool = Field(True, description="Run the (MLP) song-content probe, the slowest probe.")

    @model_validator(mode="after")
    def _playlists_fit_the_genres(self) -> "Config":
        at_most(self, "len_min", "len_max")
        at_most(self, "len_max", "n_songs", why="a playlist holds distinct songs")
        per_genre = self.n_songs // self.n_genres
        if per_genre < self.len_max + 1:
            raise ValueError(
                f"n_songs ({self.n_songs}) // n_genres ({self.n_genres}) = {per_genre} songs per genre must exceed "
                f"len_max ({self.len_max}): a one-genre playlist draws len_max distinct songs of its genre and the "
                "content probe needs one more"
            )
        held_out = self.n_probe - round(self.n_probe * self.probe_train_frac)
        if held_out < 11 or self.n_probe - held_out < 10:
            raise ValueError(
                f"n_probe ({self.n_probe}) x probe_train_frac ({self.probe_train_frac}) leaves {held_out} held-out "
                "probe playlists: precision@10 needs at least 11 and the probes at least 10 to fit on"
            )
        return self


def build(cfg: Config, device: str):
    """A Playlist run; torch is imported inside the trainer."""
    from workloads.playlist.trainer import Playlist

    return Playlist(cfg, device)


WORKLOAD = WorkloadDef(
    name="playlist",
    title="Representation, Exploration and Recommendation of Music Playlists",
    arxiv="1907.01098",
    family="applied",
    config=Config,
    build=build,
    metric="val/order_acc",
    mode="max",
    summary="GRU seq2seq playlist embeddings vs mean skip-gram and bag-of-songs AE: order, genre, length, content probes.",
)
