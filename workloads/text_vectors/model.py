"""Binary codes that predict a document's words: the PV-DBOW decoder, the two binarisers, and
the semantic-hashing autoencoder.

Reading order: :func:`binarize` (sigmoid pushed to {0, 1}), :func:`word_loss` (PV-DBOW's
objective over a bag of words), :class:`Decoder` (bits -> word logits, shared by every model),
:class:`AutoEncoder` (bag of words -> bits -> words), :func:`infer_codes` (codes of unseen
documents with the decoder frozen).

PV-DBOW's loss for document d with word counts c_dw is −Σ_w c_dw log softmax(W s(h_d) + b)_w,
which is the sum of the skip-gram-style losses of its words; with ``negatives = k`` each token
instead gets log σ(z_w) plus k words drawn from the unigram^0.75 distribution with log σ(−z).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def binarize(h: torch.Tensor, mode: str, noise_scale: float = 0.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Bits in {0, 1} from pre-activations ``h``, differentiable during training.

    ``mode='ste'``: round(σ(h)) forward, the gradient of σ(h) backward (straight-through).
    ``mode='noise'``: σ(h + ε), ε ~ N(0, noise_scale²) from ``generator`` (the noise pushes σ to
    saturate). ``mode='round'``: round(σ(h)) = [h > 0], no gradient (evaluation).
    """
    if mode == "round":
        return (h > 0).to(h.dtype)
    if mode == "ste":
        soft = torch.sigmoid(h)
        return soft + ((h > 0).to(h.dtype) - soft).detach()
    if mode == "noise":
        eps = torch.randn(h.shape, generator=generator, dtype=h.dtype, device=h.device)
        return torch.sigmoid(h + noise_scale * eps)
    raise ValueError(f"binarize: unknown mode {mode!r} (ste, noise or round)")


def word_loss(logits: torch.Tensor, counts: torch.Tensor, neg_counts: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over documents of the PV-DBOW loss per token.

    ``logits``, ``counts``: (D, V). ``neg_counts`` (D, V): how often each word was drawn as a
    negative, or None for the full softmax.
    """
    tokens = counts.sum(1).clamp(min=1)  # (D,)
    if neg_counts is None:
        per_doc = -(counts * F.log_softmax(logits, dim=-1)).sum(1)  # (D,)
    else:
        per_doc = -(counts * F.logsigmoid(logits) + neg_counts * F.logsigmoid(-logits)).sum(1)  # (D,)
    return (per_doc / tokens).mean()


class Decoder(nn.Module):
    """Bits (or real codes) -> word logits: W s + b, (D, B) -> (D, V)."""

    def __init__(self, bits: int, vocab: int) -> None:
        super().__init__()
        self.out = nn.Linear(bits, vocab)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return self.out(s)


class AutoEncoder(nn.Module):
    """Semantic-hashing style: log(1 + counts) -> ReLU(hidden) -> B pre-activations; the same
    binariser and :class:`Decoder` as the paragraph vector."""

    def __init__(self, vocab: int, hidden: int, bits: int) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(vocab, hidden), nn.ReLU(), nn.Linear(hidden, bits))
        self.decoder = Decoder(bits, vocab)

    def encode(self, counts: torch.Tensor) -> torch.Tensor:
        """(D, V) counts -> (D, B) pre-activations."""
        return self.encoder(torch.log1p(counts))


def infer_codes(
    decoder: Decoder,
    counts: torch.Tensor,
    mode: str,
    steps: int,
    lr: float,
    generator: torch.Generator,
    noise_scale: float = 0.0,
) -> torch.Tensor:
    """Codes (D, B) of documents unseen in training: ``steps`` Adam steps on the full-softmax
    PV-DBOW loss with the decoder frozen, from small random codes drawn from ``generator``.

    ``mode`` is the training binariser (``'ste'``, ``'noise'``) or ``'real'`` for PV-DBOW.
    """
    bits = decoder.out.in_features
    codes = (0.01 * torch.randn(counts.shape[0], bits, generator=generator)).requires_grad_(True)
    opt = torch.optim.Adam([codes], lr=lr)
    for p in decoder.parameters():
        p.requires_grad_(False)
    try:
        for _ in range(steps):
            s = codes if mode == "real" else binarize(codes, mode, noise_scale, generator)
            loss = word_loss(decoder(s), counts)
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        for p in decoder.parameters():
            p.requires_grad_(True)
    return codes.detach()
