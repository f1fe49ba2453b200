"""The sentence encoder and the three ways to read an embedding off it.

Reading order: :func:`make_plm` (a bidirectional :class:`~workloads.nn.transformer.TinyTransformer`
whose LM head is tied to the token embeddings, BERT-style), :func:`mlm_loss` (pretraining),
:func:`pool` (sentence embedding f(s): mean over non-pad tokens, or CLS), then the two
definition objectives:

* DefSent (Tsukagoshi et al. 2021): logits_e = f(d) · E_e + b_e over single-token entries, E the
  frozen tied embedding rows (and LM-head bias) of the entry's name token;
* DefSent+ (Liu 2024): logits_e = cos(f(d), Ê_e) / τ over all entries, Ê_e = the PLM's own
  encoding of the entry's name, made isotropic (:func:`isotropic`) and rebuilt every
  ``refresh_every`` steps from the encoder being trained ("progressively built").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from workloads.defsent_plus.lexicon import CLS, MASK, PAD
from workloads.nn.transformer import TinyTransformer


def make_plm(vocab: int, d_model: int, n_layers: int, n_heads: int, max_len: int, init_std: float = 0.1) -> TinyTransformer:
    """A bidirectional encoder whose output layer shares the token embedding matrix."""
    model = TinyTransformer(vocab, d_model, n_layers, n_heads, max_len, causal=False)
    model.head.weight = model.embed.weight  # tied: (V, d) both
    # BERT-style small init: with N(0, 1) rows the tied logits start at std sqrt(d) (loss ~ 50)
    torch.nn.init.normal_(model.embed.weight, std=init_std)
    torch.nn.init.normal_(model.pos.weight, std=init_std)
    torch.nn.init.zeros_(model.head.bias)
    return model


def mlm_loss(model: TinyTransformer, tokens: torch.Tensor, generator: torch.Generator, rate: float = 0.15) -> torch.Tensor:
    """Masked-token cross-entropy: ``rate`` of the non-pad, non-CLS positions of (B, T) ``tokens``
    become MASK (at least one per sentence) and are predicted through the tied head."""
    can = (tokens != PAD) & (tokens != CLS)  # (B, T)
    noise = torch.rand(tokens.shape, generator=generator)
    noise = noise.masked_fill(~can, 2.0)
    masked = (noise < rate) | (noise == noise.min(1, keepdim=True).values)  # (B, T), ≥ 1 per row
    masked &= can
    hidden = model.hidden(tokens.masked_fill(masked, MASK))  # (B, T, d)
    logits = model.head(hidden[masked])  # (M, V): the tied head only where a token was masked
    return F.cross_entropy(logits, tokens[masked])


def pool(model: TinyTransformer, tokens: torch.Tensor, how: str = "mean") -> torch.Tensor:
    """(B, T) tokens -> (B, d) sentence embeddings: mean over non-pad positions, or the CLS state."""
    hidden = model.hidden(tokens)  # (B, T, d)
    if how == "cls":
        return hidden[:, 0]
    keep = (tokens != PAD).unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
    return (hidden * keep).sum(1) / keep.sum(1)


def defsent_logits(model: TinyTransformer, sent: torch.Tensor, name_tokens: torch.Tensor) -> torch.Tensor:
    """(B, d) sentence embeddings -> (B, E) logits over entries whose names are the single tokens
    ``name_tokens`` (E,): the tied LM head's rows and biases for those tokens."""
    return sent @ model.embed.weight[name_tokens].T + model.head.bias[name_tokens]


def isotropic(x: torch.Tensor, how: str, eps: float = 1e-5) -> torch.Tensor:
    """Entry embeddings (E, d) made (quasi-)isotropic, then L2-normalised.

    ``none``: as they are; ``normalize``: centred; ``whiten``: centred and ZCA-whitened
    (x − μ) U Λ^{-1/2} Uᵀ, so their covariance is the identity.
    """
    if how != "none":
        x = x - x.mean(0, keepdim=True)
    if how == "whiten":
        cov = x.T @ x / (x.shape[0] - 1)  # (d, d)
        lam, vecs = torch.linalg.eigh(cov)
        x = x @ vecs @ torch.diag((lam.clamp(min=0) + eps).rsqrt()) @ vecs.T
    return F.normalize(x, dim=-1)


def mean_pairwise_cosine(x: torch.Tensor) -> float:
    """Anisotropy of a set of vectors (N, d): the mean cosine over distinct pairs."""
    u = F.normalize(x, dim=-1)
    n = u.shape[0]
    total = u.sum(0)  # Σ_i u_i; Σ_{i≠j} u_i·u_j = |Σ u|² − n
    return float((total @ total - n) / (n * (n - 1)))
