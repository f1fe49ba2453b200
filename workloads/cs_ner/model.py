"""The BiLSTM tagger (Lample et al. 2016 style): word embedding [+ char-CNN], BiLSTM, tag scores,
then either a per-token softmax or the linear-chain CRF of :mod:`workloads.cs_ner.crf`.

Char-CNN (Ma and Hovy 2016): characters of each word are embedded, convolved (width 3) and
max-pooled over the word into a fixed vector, so a name never seen in training still gets a
representation from its shape (``-Net``, ``Bench``, ``py``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from workloads.cs_ner.crf import CRF


class CharCNN(nn.Module):
    """``(N, C)`` character ids (0 = padding) -> ``(N, filters)`` max-pooled features."""

    def __init__(self, n_chars: int, emb: int, filters: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(n_chars, emb, padding_idx=0)
        self.conv = nn.Conv1d(emb, filters, kernel_size=3, padding=1)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        h = self.conv(self.embed(chars).transpose(1, 2))  # (N, C, E) -> (N, E, C) -> (N, F, C)
        h = h.masked_fill((chars == 0).unsqueeze(1), float("-inf"))  # padding never wins the max
        return h.max(dim=2).values.clamp_min(-1e4)  # (N, F); an all-padding word gives -1e4, not -inf


class Tagger(nn.Module):
    """BiLSTM tagger. ``chars``: add the char-CNN; ``crf``: CRF output layer instead of softmax."""

    def __init__(self, n_words: int, n_chars: int, n_tags: int, *, emb: int, hidden: int, dropout: float,
                 chars: bool, crf: bool, char_emb: int = 16, char_filters: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(n_words, emb, padding_idx=0)
        self.char_cnn = CharCNN(n_chars, char_emb, char_filters) if chars else None
        width = emb + (char_filters if chars else 0)
        self.lstm = nn.LSTM(width, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.emit = nn.Linear(2 * hidden, n_tags)
        self.crf = CRF(n_tags) if crf else None

    def emissions(self, words: torch.Tensor, chars: torch.Tensor | None) -> torch.Tensor:
        """Tag scores ``(B, T, K)`` for word ids ``(B, T)`` and char ids ``(B, T, C)``."""
        x = self.embed(words)  # (B, T, E)
        if self.char_cnn is not None:
            B, T, C = chars.shape
            feats = self.char_cnn(chars.reshape(B * T, C)).reshape(B, T, -1)  # (B*T, F) -> (B, T, F)
            x = torch.cat([x, feats], dim=-1)
        h, _ = self.lstm(self.drop(x))  # (B, T, 2H)
        return self.emit(self.drop(h))

    def loss(self, words: torch.Tensor, chars: torch.Tensor | None, tags: torch.Tensor) -> torch.Tensor:
        """CRF NLL per sentence, or token cross-entropy; padding (word id 0) is ignored."""
        mask = words != 0
        e = self.emissions(words, chars)
        if self.crf is not None:
            return self.crf.nll(e, tags, mask)
        return F.cross_entropy(e[mask], tags[mask])  # (N_valid, K) vs (N_valid,)

    @torch.no_grad()
    def predict(self, words: torch.Tensor, chars: torch.Tensor | None) -> list[list[int]]:
        """Best tag ids per sentence (Viterbi with the CRF, per-token argmax without)."""
        mask = words != 0
        e = self.emissions(words, chars)
        if self.crf is not None:
            return self.crf.viterbi(e, mask)
        best = e.argmax(-1).tolist()
        return [row[:n] for row, n in zip(best, mask.sum(1).tolist())]
