"""Sparse Modular Activation (Ren et al. 2023, "Sparse Modular Activation for Efficient Sequence
Modeling"): a gate decides per token whether a Gated Attention Unit runs on it (SeqBoat).

* :func:`local_causal_attention`: softmax attention in which position i sees positions
  j ∈ (i − window, i] that are valid.
* :class:`GAU`: Gated Attention Unit (Hua et al. 2022), single head: u = SiLU(W_u x),
  v = SiLU(W_v x), z = SiLU(W_z x), q/k = per-dim affine of z, out = W_o (u ⊙ Attn(q, k) v).
* :class:`SMAGatedGAU`: the SMA latent configurator. From the SSM's output h_t it computes two
  logits (skip, activate), p_t = softmax(logits / τ)[activate], a_t = [p_t > ½] (or, in
  training, a_t ~ Bernoulli(p_t) from noise the caller passes, so skipped tokens are explored). The activated
  tokens are gathered into a compressed sequence (order kept), the GAU runs there with local
  window ``window`` (counted in activated tokens, so the span in token distance is unbounded),
  and its outputs, scaled by p_t so the gate gets gradients, are scattered back; skipped tokens
  get 0. ``dense=True`` runs the GAU on every token (p = 1): the dense hybrid baseline.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def local_causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, valid: torch.Tensor,
                           window: int) -> torch.Tensor:
    """``(B, L, D), (B, L, D), (B, L, E), valid (B, L) -> (B, L, E)``: causal, windowed softmax attention."""
    L = q.shape[1]
    i = torch.arange(L, device=q.device)
    allowed = (i[None, :] <= i[:, None]) & (i[None, :] > i[:, None] - window)  # (L, L): j in (i - w, i]
    mask = allowed[None] & valid[:, None, :]  # (B, L, L)
    scores = q @ k.transpose(1, 2) / math.sqrt(q.shape[-1])  # (B, L, L)
    scores = scores.masked_fill(~mask, float("-inf"))
    attn = torch.softmax(scores, dim=-1).nan_to_num(0.0)  # rows with no valid key (padding) -> 0
    return attn @ v


class GAU(nn.Module):
    """Single-head Gated Attention Unit over a (possibly compressed) sequence: ``(B, L, d) -> (B, L, d)``."""

    def __init__(self, d_model: int, expand: int = 2, qk_dim: int = 32) -> None:
        super().__init__()
        e = expand * d_model
        self.uv = nn.Linear(d_model, 2 * e + qk_dim)
        self.gamma = nn.Parameter(torch.randn(2, qk_dim) * 0.02 + 1.0)
        self.beta = nn.Parameter(torch.zeros(2, qk_dim))
        self.out = nn.Linear(e, d_model)
        self.e, self.qk_dim = e, qk_dim

    def forward(self, x: torch.Tensor, valid: torch.Tensor, window: int) -> torch.Tensor:
        """GAU on ``x`` ``(B, L, d)`` with key mask ``valid`` ``(B, L)``."""
        u, v, z = torch.split(F.silu(self.uv(x)), [self.e, self.e, self.qk_dim], dim=-1)
        qk = z[..., None, :] * self.gamma + self.beta  # (B, L, 1, Dz) -> (B, L, 2, Dz)
        q, k = qk.unbind(-2)  # (B, L, 2, Dz) -> 2 x (B, L, Dz)
        return self.out(u * local_causal_attention(q, k, v, valid, window))


class SMAGatedGAU(nn.Module):
    """SMA-gated GAU: runs the GAU only on the tokens the gate activates.

    Args:
        d_model: width.
        window: attention window, counted in activated tokens.
        temperature: τ of the tempered softmax gate.
        gate_bias: initial bias of the activate-minus-skip logit (negative: start sparse).
        dense: ignore the gate and run on every token (the dense hybrid).

    ``forward`` returns ``(y (B, T, d), activated (B, T) bool, p (B, T))``; ``p`` (the gate's
    activation probability, 1 when dense) lets a trainer add a sparsity penalty.
    """

    def __init__(self, d_model: int, window: int, *, temperature: float = 1.0, gate_bias: float = 0.0,
                 dense: bool = False, qk_dim: int = 32) -> None:
        super().__init__()
        self.gau = GAU(d_model, qk_dim=qk_dim)
        self.gate = nn.Linear(d_model, 2)
        with torch.no_grad():
            self.gate.bias.copy_(torch.tensor([0.0, gate_bias]))
        self.window, self.temperature, self.dense = window, temperature, dense

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(B, T, d) -> ((B, T, d), (B, T) bool, (B, T))``.

        ``noise`` ``(B, T)`` uniform in [0, 1), given in training: a token is then activated with
        probability p (``noise < p``), so skipped tokens are still explored and the gate can turn
        them back on; without it (evaluation) a token is activated when p > ½.
        """
        B, T, d = x.shape
        if self.dense:
            on = torch.ones(B, T, dtype=torch.bool, device=x.device)
            return self.gau(x, on, self.window), on, on.to(x.dtype)
        p = torch.softmax(self.gate(x) / self.temperature, dim=-1)[..., 1]  # (B, T, 2) -> (B, T)
        on = p > 0.5 if noise is None else noise < p
        count = on.sum(1)  # (B,)
        L = max(int(count.max()), 1)
        order = torch.argsort((~on).to(torch.int8), dim=1, stable=True)[:, :L]  # active positions first, in order
        valid = torch.arange(L, device=x.device)[None, :] < count[:, None]  # (B, L)
        idx = order[..., None].expand(B, L, d)  # (B, L) -> (B, L, d)
        packed = x.gather(1, idx)  # (B, T, d) -> (B, L, d)
        out = self.gau(packed, valid, self.window) * (p.gather(1, order) * valid)[..., None]
        y = x.new_zeros(B, T, d).scatter(1, idx, out)  # (B, L, d) -> (B, T, d); padding rows are 0
        return y, on, p
