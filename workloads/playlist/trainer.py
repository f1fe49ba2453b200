"""The playlist run: train one encoder (seq2seq, skipgram_mean or bag_ae) unsupervised on a
playlist corpus, then probe its frozen embeddings.

Data drawn from ``cfg.seed``: the song catalogue, ``n_train`` training playlists (the encoder's
unsupervised corpus) and ``n_probe`` fresh probe playlists from the same generator, whose first
``probe_train_frac`` fit the probes and the rest score them. Every arm trains ``steps`` Adam steps
on batches of ``batch`` training playlists drawn from (seed, step).
"""

from __future__ import annotations

import numpy as np
import torch

from workloads.playlist.model import BagAE, Seq2SeqAE, SkipGram
from workloads.playlist.probes import (content_candidates, length_bins, linear_probe, mlp_probe,
                                       precision_at_k)
from workloads.playlist.task import make_catalogue, sample_playlists
from workloads.training import load_training_state, optimiser_step, training_state


def make_model(cfg) -> torch.nn.Module:
    """The arm's encoder, initialised from the current torch seed."""
    if cfg.model == "seq2seq":
        return Seq2SeqAE(cfg.n_songs, cfg.emb, cfg.hidden, bidirectional=cfg.bidirectional, attention=cfg.attention)
    if cfg.model == "skipgram_mean":
        return SkipGram(cfg.n_songs, cfg.hidden, window=cfg.window, negatives=cfg.negatives)
    return BagAE(cfg.n_songs, cfg.emb, cfg.hidden)


class Playlist:
    """One run of one encoder; ``evaluate`` embeds the probe set and runs every probe."""

    def __init__(self, cfg, device: str) -> None:
        self.cfg, self.device = cfg, device
        self.catalogue = make_catalogue(np.random.default_rng([cfg.seed, 0]), cfg.n_songs, cfg.n_genres)
        shape = dict(len_min=cfg.len_min, len_max=cfg.len_max, ordered_frac=cfg.ordered_frac,
                     two_genre_frac=cfg.two_genre_frac)
        self.train = sample_playlists(np.random.default_rng([cfg.seed, 1]), self.catalogue, cfg.n_train, **shape)
        self.probe = sample_playlists(np.random.default_rng([cfg.seed, 2]), self.catalogue, cfg.n_probe, **shape)
        torch.manual_seed(cfg.seed)
        self.model = make_model(cfg).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)

    def _batch(self, songs: np.ndarray, length: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Tensors for rows of the corpus, cut to the longest playlist among them."""
        width = int(length.max())
        return (torch.as_tensor(songs[:, :width], device=self.device),
                torch.as_tensor(length, device=self.device))

    def train_step(self, step: int) -> dict[str, float]:
        """One Adam step on ``batch`` training playlists drawn from (seed, step)."""
        rng = np.random.default_rng([self.cfg.seed, 3, step])
        idx = rng.integers(0, len(self.train), size=self.cfg.batch)
        songs, length = self._batch(self.train.songs[idx], self.train.length[idx])
        self.model.train()
        if self.cfg.model == "skipgram_mean":
            gen = torch.Generator(device=self.device).manual_seed(int(rng.integers(2**31)))  # negatives from (seed, step)
            loss = self.model.loss(songs, length, generator=gen)
        else:
            loss = self.model.loss(songs, length)
        return {"loss": optimiser_step(loss, self.model, self.opt, clip=self.cfg.clip)}

    @torch.no_grad()
    def embeddings(self) -> np.ndarray:
        """The frozen embeddings of the probe playlists: (n_probe, D)."""
        self.model.eval()
        out = []
        for start in range(0, len(self.probe), 512):
            rows = slice(start, start + 512)
            songs, length = self._batch(self.probe.songs[rows], self.probe.length[rows])
            out.append(self.model.embed(songs, length).cpu().numpy())
        return np.concatenate(out).astype(np.float64)

    def evaluate(self) -> dict[str, float]:
        """Order, genre, length and content probe accuracies (and the order probe's log-loss) and genre
        precision@10, on the held-out probe playlists."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):  # BLAS threads on shared cores cost 10x in scikit-learn's fits
            return self._probes()

    def _probes(self) -> dict[str, float]:
        cfg, p = self.cfg, self.probe
        z = self.embeddings()
        out: dict[str, float] = {}
        labels = {"order": p.ordered, "genre": p.genre,
                  "length": length_bins(p.length, cfg.len_min, cfg.len_max, cfg.length_bins)}
        for name, y in labels.items():
            out[f"val/{name}_acc"], nll = linear_probe(z, y, cfg.probe_train_frac, cfg.seed)
            if name == "order":
                out["val/order_nll"] = nll  # continuous: moves with the model when the accuracy does not
        cut = int(round(len(p) * cfg.probe_train_frac))
        out["val/genre_p@10"] = precision_at_k(z[cut:], p.genre[cut:], 10)
        if cfg.content_probe:
            rng = np.random.default_rng([cfg.seed, 4])
            cand, label = content_candidates(rng, p.songs, p.length, p.genre, self.catalogue.genre)
            with torch.no_grad():
                song_vecs = self.model.song_vectors().cpu().numpy().astype(np.float64)
            out["val/content_acc"] = mlp_probe(np.concatenate([z, song_vecs[cand]], axis=1), label,
                                               cfg.probe_train_frac, cfg.seed)
        if cfg.model == "seq2seq":
            out["val/recon_loss"] = self._probe_loss()
        return out

    @torch.no_grad()
    def _probe_loss(self) -> float:
        """The seq2seq reconstruction cross-entropy on the first 512 probe playlists (a fit check)."""
        self.model.eval()
        songs, length = self._batch(self.probe.songs[:512], self.probe.length[:512])
        return float(self.model.loss(songs, length))

    def state_dict(self) -> dict:
        """Model and optimiser."""
        return training_state(self.model, self.opt)

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        load_training_state(state, self.model, self.opt)
