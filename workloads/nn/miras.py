"""Miras associative memories (Behrouz et al. 2025, "It's All Connected"): Moneta, Yaad, Memora.

A head keeps a matrix memory M ``[K, V]``. Per token it takes one online gradient step on an
attentional-bias loss ℓ(M; k, v) with error e = Mᵀk − v, under a retention term, then reads
o_t = scale · M_tᵀ q_t (as ``kernels/delta_rule`` does):

* ``"l2"`` (DeltaNet with decay): M ← α M − η k eᵀ.
* ``"huber"`` (Yaad): Huber bias with a data-dependent threshold δ_t and ℓ2 retention (decay):
  M ← α M − η k clip(e, −δ, δ)ᵀ — an ℓ2 step on small errors, a δ·sign (ℓ1) step on large ones.
* ``"lp"`` (Moneta): ℓ_p bias and ℓ_q retention via normalised FTRL:
  A ← α A − η k (p |e|^{p−1} sign e)ᵀ, M = A / max(1, ‖A‖_q)^{q−2}.
* ``"kl"`` (Memora): ℓ2 bias and KL retention, M a scaled row-stochastic matrix:
  M ← c · softmax_V(α log M − η k eᵀ), i.e. (1 − λ) log M with λ = 1 − α. Every row holds mass
  c, so Mᵀq has a fixed total; the read is centred over V (its uniform part carries nothing).
* ``"dot"`` (linear attention, Hebbian): M ← M + k vᵀ, run by ``kernels/gated_linear_attention``
  with zero log-decay.

Why a per-token loop: the Huber clip, |e|^{p−1}, the q-norm division and the softmax make each
step nonlinear in M, so neither ``delta_rule`` (linear in M) nor ``gated_linear_attention``
covers them. The paper trains with chunk-wise gradients (all tokens of a chunk differentiate
the memory at the chunk start), an approximation that changes the recurrence; at T ≲ 64 the
exact per-token recurrence is affordable on CPU, so :func:`miras_scan` runs it as written.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from kernels.gated_linear_attention import gated_linear_attention
from workloads.nn.linear_attention import ShortConv

MEMORIES = ("dot", "l2", "huber", "lp", "kl")


def _bias_grad(e: torch.Tensor, memory: str, delta: torch.Tensor | None, p: float) -> torch.Tensor:
    """d ℓ / d(Mᵀk) for error ``e`` ``(B, H, V)`` under the attentional bias of ``memory``."""
    if memory in ("l2", "kl"):
        return e
    if memory == "huber":
        d = delta.unsqueeze(-1)  # (B, H) -> (B, H, 1)
        return torch.maximum(torch.minimum(e, d), -d)
    if memory == "lp":
        return p * e.abs().clamp_min(1e-6).pow(p - 1.0) * torch.sign(e)
    raise ValueError(f"no per-token bias for memory {memory!r}")


def miras_scan(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    eta: torch.Tensor,
    alpha: torch.Tensor,
    memory: str,
    *,
    delta: torch.Tensor | None = None,
    p: float = 3.0,
    q_norm: float = 4.0,
    log_c: torch.Tensor | None = None,
    scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact per-token Miras recurrence; returns ``(o [B, T, H, V], final memory [B, H, K, V])``.

    Args:
        q, k: ``[B, T, H, K]`` (k L2-normalised); v: ``[B, T, H, V]``.
        eta: inner learning rates η ``[B, T, H]``; alpha: retention gates α ``[B, T, H]`` in (0, 1].
        memory: ``"l2"``, ``"huber"``, ``"lp"`` or ``"kl"``.
        delta: Huber thresholds ``[B, T, H]`` (``"huber"`` only).
        p: ℓ_p exponent (``"lp"``); q_norm: ℓ_q retention exponent (``"lp"``).
        log_c: log of Memora's row mass c, ``[H]`` (``"kl"``; default log V).
        scale: query scale, default ``K ** -0.5``.
    """
    B, T, H, K = k.shape
    V = v.shape[-1]
    scale = K**-0.5 if scale is None else scale
    if memory == "kl":
        log_c = torch.full((H,), math.log(V), device=k.device) if log_c is None else log_c
        lc = log_c.view(1, H, 1, 1)  # (H,) -> (1, H, 1, 1)
        log_m = (lc - math.log(V)).expand(B, H, K, V)  # uniform rows of mass c
        state = log_m.exp()
    else:
        state = k.new_zeros(B, H, K, V)  # A for "lp", M otherwise
    mem = state
    outs = []
    for t in range(T):
        kt, vt, qt = k[:, t], v[:, t], q[:, t]  # (B, H, K), (B, H, V), (B, H, K)
        a = alpha[:, t, :, None, None]  # (B, H) -> (B, H, 1, 1)
        e = torch.einsum("bhkv,bhk->bhv", mem, kt) - vt
        g = _bias_grad(e, memory, None if delta is None else delta[:, t], p)
        step = eta[:, t, :, None, None] * kt.unsqueeze(-1) * g.unsqueeze(-2)  # (B, H, K, 1) * (B, H, 1, V)
        if memory == "kl":
            log_m = F.log_softmax(a * log_m - step, dim=-1) + lc
            mem = log_m.exp()
        elif memory == "lp":
            state = a * state - step
            norm = state.abs().pow(q_norm).sum((-2, -1), keepdim=True).pow(1.0 / q_norm)
            mem = state / norm.clamp_min(1.0).pow(q_norm - 2.0)
        else:
            mem = a * mem - step
        read = torch.einsum("bhkv,bhk->bhv", mem, qt)
        if memory == "kl":  # rows of fixed mass: only the read's deviation from uniform carries content
            read = read - read.mean(-1, keepdim=True)
        outs.append(scale * read)
    return torch.stack(outs, dim=1), mem  # T x (B, H, V) -> (B, T, H, V)


class MirasMixer(nn.Module):
    """A Miras memory token mixer: ``(B, T, d_model) -> (B, T, d_model)``.

    Projections follow :class:`workloads.nn.linear_attention.DeltaNetMixer` (short causal conv
    + SiLU on q, k, v; L2-normalised q, k; per-head RMSNorm on the read-out), with per-token,
    per-head η = σ(·) (inner learning rate), α = σ(·) (retention, bias-initialised near 1) and,
    for Yaad, δ = softplus(·) (Huber threshold).

    Args:
        d_model: model width.
        n_heads: heads H.
        head_dim: per-head key and value size.
        memory: one of ``MEMORIES``.
        p: Moneta's ℓ_p exponent; q_norm: Moneta's ℓ_q retention exponent.
        kl_lr: Memora's largest inner learning rate (η = kl_lr · σ(·)): its step is multiplicative,
            M ∝ M · exp(−η k eᵀ), so η must reach O(10) for one token to move a unit-norm key's row.
        backend: ``gated_linear_attention`` backend for ``"dot"``.

    Example:
        >>> MirasMixer(32, 2, 16, memory="huber")(torch.randn(3, 10, 32)).shape
        torch.Size([3, 10, 32])
    """

    def __init__(self, d_model: int, n_heads: int, head_dim: int, memory: str, *, p: float = 3.0,
                 q_norm: float = 4.0, kl_lr: float = 10.0, conv_size: int = 4, backend: str | None = None) -> None:
        super().__init__()
        if memory not in MEMORIES:
            raise ValueError(f"memory must be one of {MEMORIES}, got {memory!r}")
        self.n_heads, self.head_dim, self.memory = n_heads, head_dim, memory
        self.p, self.q_norm, self.backend = p, q_norm, backend
        self.eta_max = kl_lr if memory == "kl" else 1.0
        inner = n_heads * head_dim
        self.q_proj = nn.Linear(d_model, inner, bias=False)
        self.k_proj = nn.Linear(d_model, inner, bias=False)
        self.v_proj = nn.Linear(d_model, inner, bias=False)
        self.q_conv, self.k_conv, self.v_conv = (ShortConv(inner, conv_size) for _ in range(3))
        self.gate_proj = nn.Linear(d_model, 3 * n_heads, bias=True)  # η, α, δ logits
        with torch.no_grad():
            self.gate_proj.bias.view(3, n_heads)[1].fill_(5.0)  # α ≈ 0.993 at init: slow forgetting
        self.log_c = nn.Parameter(torch.full((n_heads,), math.log(head_dim)))
        self.o_norm = nn.RMSNorm(head_dim, eps=1e-5)
        self.o_proj = nn.Linear(inner, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, d_model) -> (B, T, d_model)``."""
        B, T, _ = x.shape
        H, D = self.n_heads, self.head_dim
        q = F.normalize(self.q_conv(self.q_proj(x)).view(B, T, H, D), dim=-1)  # (B, T, H*D) -> (B, T, H, D)
        k = F.normalize(self.k_conv(self.k_proj(x)).view(B, T, H, D), dim=-1)  # (B, T, H*D) -> (B, T, H, D)
        v = self.v_conv(self.v_proj(x)).view(B, T, H, D)  # (B, T, H*D) -> (B, T, H, D)
        gates = self.gate_proj(x).view(B, T, 3, H)  # (B, T, 3*H) -> (B, T, 3, H)
        eta, alpha, delta = self.eta_max * torch.sigmoid(gates[:, :, 0]), torch.sigmoid(gates[:, :, 1]), F.softplus(gates[:, :, 2])
        if self.memory == "dot":
            o, _ = gated_linear_attention(q, k, v, torch.zeros_like(q), backend=self.backend)
        else:
            o, _ = miras_scan(q, k, v, eta, alpha, self.memory, delta=delta, p=self.p, q_norm=self.q_norm,
                              log_c=self.log_c)
        o = self.o_norm(o)  # (B, T, H, D), normalised per head
        return self.o_proj(o.reshape(B, T, H * D))  # (B, T, H, D) -> (B, T, H*D)
