"""The three playlist encoders compared by the paper's probe tasks, read top to bottom.

* :class:`Seq2SeqAE` -- the paper's playlist2vec: playlists are sentences, songs are words. A GRU
  encoder reads the playlist; its final state z (both directions' when bidirectional) is the
  playlist embedding; a GRU decoder started from z reconstructs the playlist with teacher forcing
  (optionally attending over the encoder outputs, :class:`workloads.nn.rnn.AdditiveAttention`).
  Loss: cross-entropy of each song and EOS given the songs before it and z.
* :class:`SkipGram` -- word2vec's skip-gram with negative sampling over songs (Mikolov et al.
  2013): log σ(u_c·v_o) + Σ_k log σ(−u_c·v_k) for context songs o within ``window`` of c and
  ``negatives`` uniform songs k. The playlist embedding is the mean of its songs' u vectors.
* :class:`BagAE` -- a bag-of-songs autoencoder: z = tanh(W mean_s e_s + b), decoded to a softmax
  over songs whose cross-entropy against the playlist's song multiset is the loss.

Every class offers ``loss(batch)``, ``embed(batch) -> (B, D)`` and ``song_vectors() -> (n_songs, E)``
(the input song embeddings, used by the content probe). A batch is ``songs`` ``(B, T)`` of 0-based
song ids, -1 past each playlist's end, and ``length`` ``(B,)``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence

from workloads.nn.rnn import AdditiveAttention

PAD, BOS, EOS, OFFSET = 0, 1, 2, 3  # token ids of the seq2seq model; song s is token s + OFFSET


class Seq2SeqAE(nn.Module):
    """GRU encoder-decoder autoencoder over song tokens; the encoder's final state is the embedding."""

    def __init__(self, n_songs: int, emb: int, hidden: int, *, bidirectional: bool = False, attention: bool = False) -> None:
        super().__init__()
        vocab = n_songs + OFFSET
        self.embed_in = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.encoder = nn.GRU(emb, hidden, batch_first=True, bidirectional=bidirectional)
        dirs = 2 if bidirectional else 1
        self.bridge = nn.Linear(dirs * hidden, hidden)  # z -> the decoder's initial state
        self.embed_out = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.decoder = nn.GRU(emb, hidden, batch_first=True)
        self.attn = AdditiveAttention(dirs * hidden, hidden, hidden) if attention else None
        self.combine = nn.Linear(hidden + dirs * hidden, hidden) if attention else None
        self.out = nn.Linear(hidden, vocab)

    def _encode(self, songs: torch.Tensor, length: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Token ids (B, T), the encoder outputs (B, T, dirs*H) and z (B, dirs*H)."""
        tokens = torch.where(songs >= 0, songs + OFFSET, torch.full_like(songs, PAD))  # (B, T)
        packed = pack_padded_sequence(self.embed_in(tokens), length.cpu(), batch_first=True, enforce_sorted=False)
        outputs, h = self.encoder(packed)  # h: (dirs, B, H), the state after each row's last song
        outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True, total_length=songs.shape[1])
        z = h.transpose(0, 1).reshape(songs.shape[0], -1)  # (dirs, B, H) -> (B, dirs*H)
        return tokens, outputs, z

    def embed(self, songs: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
        """The playlist embedding z: (B, dirs*H)."""
        return self._encode(songs, length)[2]

    def logits(self, songs: torch.Tensor, length: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced decoder logits (B, T+1, vocab) and targets (B, T+1): the songs then EOS, PAD after."""
        tokens, outputs, z = self._encode(songs, length)
        B = songs.shape[0]
        target = torch.cat([tokens, torch.full((B, 1), PAD, dtype=tokens.dtype, device=tokens.device)], dim=1)
        target[torch.arange(B, device=tokens.device), length] = EOS  # (B, T+1)
        y_in = torch.cat([torch.full((B, 1), BOS, dtype=tokens.dtype, device=tokens.device), tokens], dim=1)
        h0 = torch.tanh(self.bridge(z)).unsqueeze(0)  # (1, B, H)
        d, _ = self.decoder(self.embed_out(y_in), h0)  # (B, T+1, H)
        if self.attn is not None:
            mask = tokens != PAD  # (B, T)
            weights = self.attn(d, self.attn.keys(outputs), mask).softmax(dim=-1)  # (B, T+1, T)
            context = weights @ outputs  # (B, T+1, T) @ (B, T, dirs*H) -> (B, T+1, dirs*H)
            d = torch.tanh(self.combine(torch.cat([d, context], dim=-1)))  # (B, T+1, H)
        return self.out(d), target

    def loss(self, songs: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
        """Mean reconstruction cross-entropy over songs and EOS."""
        logits, target = self.logits(songs, length)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=PAD)

    def song_vectors(self) -> torch.Tensor:
        """The encoder's song embeddings: (n_songs, emb)."""
        return self.embed_in.weight[OFFSET:]


class SkipGram(nn.Module):
    """Skip-gram with negative sampling over songs; a playlist is the mean of its songs' vectors."""

    def __init__(self, n_songs: int, dim: int, *, window: int = 2, negatives: int = 5) -> None:
        super().__init__()
        self.n_songs, self.window, self.negatives = n_songs, window, negatives
        self.u = nn.Embedding(n_songs, dim)  # centre ("input") vectors: the song embeddings
        self.v = nn.Embedding(n_songs, dim)  # context ("output") vectors
        nn.init.uniform_(self.u.weight, -0.5 / dim, 0.5 / dim)  # word2vec's initialisation
        nn.init.zeros_(self.v.weight)

    def pairs(self, songs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """All (centre, context) song pairs within ``window`` positions, both ways: two (P,) tensors."""
        centre, context = [], []
        for offset in range(1, self.window + 1):
            a, b = songs[:, :-offset], songs[:, offset:]  # (B, T - offset) each
            ok = (a >= 0) & (b >= 0)
            centre += [a[ok], b[ok]]
            context += [b[ok], a[ok]]
        return torch.cat(centre), torch.cat(context)

    def loss(self, songs: torch.Tensor, length: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Negative-sampling loss averaged over pairs; negatives uniform over the catalogue."""
        centre, context = self.pairs(songs)
        u = self.u(centre)  # (P, D)
        pos = (u * self.v(context)).sum(-1)  # (P,)
        neg_ids = torch.randint(0, self.n_songs, (len(centre), self.negatives), generator=generator, device=songs.device)
        neg = torch.einsum("pd,pkd->pk", u, self.v(neg_ids))  # (P, K)
        return -(F.logsigmoid(pos) + F.logsigmoid(-neg).sum(-1)).mean()

    def embed(self, songs: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
        """Mean of the playlist's song vectors: (B, D). Order-invariant by construction."""
        mask = (songs >= 0).unsqueeze(-1).float()  # (B, T, 1)
        vecs = self.u(songs.clamp(min=0)) * mask  # (B, T, D)
        return vecs.sum(1) / length.unsqueeze(-1).float()

    def song_vectors(self) -> torch.Tensor:
        """The centre vectors u: (n_songs, D)."""
        return self.u.weight


class BagAE(nn.Module):
    """Bag-of-songs autoencoder: mean song embedding -> tanh code z -> softmax over songs."""

    def __init__(self, n_songs: int, emb: int, hidden: int) -> None:
        super().__init__()
        self.songs = nn.EmbeddingBag(n_songs, emb, mode="mean")
        self.code = nn.Linear(emb, hidden)
        self.out = nn.Linear(hidden, n_songs)

    def embed(self, songs: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
        """The code z: (B, hidden). Order-invariant by construction."""
        mask = songs >= 0  # (B, T)
        flat = songs[mask]  # (sum of lengths,), row-major so each playlist's songs are contiguous
        offsets = torch.cat([length.new_zeros(1), length.cumsum(0)[:-1]])  # (B,)
        return torch.tanh(self.code(self.songs(flat, offsets)))

    def loss(self, songs: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the decoded song distribution against the playlist's songs, per song."""
        logp = F.log_softmax(self.out(self.embed(songs, length)), dim=-1)  # (B, n_songs)
        picked = logp.gather(1, songs.clamp(min=0))  # (B, T)
        mask = (songs >= 0).float()
        return -(picked * mask).sum() / mask.sum()

    def song_vectors(self) -> torch.Tensor:
        """The input song embeddings: (n_songs, emb)."""
        return self.songs.weight
