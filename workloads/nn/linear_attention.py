"""Linear-attention token mixers built on ``kernels/``: DeltaNet / DeltaProduct and GLA.

* :class:`DeltaNetMixer`: DeltaNet (Yang et al. 2024, "Parallelizing Linear Transformers with
  the Delta Rule over Sequence Length") and DeltaProduct (Siems et al. 2025) with
  ``n_householder`` > 1: per token n (k, v, β) triples and n steps
  S ← (I − β k kᵀ) S + β k vᵀ, o_t = Sᵀ q_t, with L2-normalised q, k and
  β = σ(·) ∈ [0, 1], or 2σ(·) ∈ [0, 2] with ``allow_negative_eigenvalues`` (Grazzi et al.).
* :class:`GLAMixer`: gated linear attention (Yang et al. 2024, "Gated Linear Attention
  Transformers with Hardware-Efficient Training"): S_t = diag(α_t) S_{t−1} + k_t v_tᵀ with a
  low-rank data-dependent gate log α = logsigmoid(·) / 16, and a swish output gate.

Both follow fla-org/flash-linear-attention's layers (projections, optional short causal
convolution, per-head RMSNorm on the output) and take ``backend`` ("naive", "chunk",
"triton" or None for automatic) straight to the kernel. Input and output are ``(B, T, d_model)``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from kernels.delta_rule import delta_rule
from kernels.gated_linear_attention import gated_linear_attention


class ShortConv(nn.Module):
    """Depthwise causal 1-D convolution over time followed by SiLU: ``(B, T, C) -> (B, T, C)``."""

    def __init__(self, channels: int, kernel_size: int = 4) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.conv = nn.Conv1d(channels, channels, kernel_size, groups=channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.transpose(1, 2)  # (B, T, C) -> (B, C, T)
        x = F.pad(x, (self.kernel_size - 1, 0))  # left padding only: causal
        return F.silu(self.conv(x)).transpose(1, 2)  # (B, C, T) -> (B, T, C)


class DeltaNetMixer(nn.Module):
    """DeltaNet (``n_householder=1``) or DeltaProduct (``n_householder`` > 1) token mixer.

    Args:
        d_model: model width.
        n_heads: heads H.
        head_dim: per-head key and value size (default ``d_model // n_heads``).
        n_householder: Householder steps (k, v, β triples) per token.
        allow_negative_eigenvalues: β ∈ [0, 2] instead of [0, 1] (needed for e.g. parity, S₃).
        use_short_conv: causal depthwise conv (size ``conv_size``) + SiLU on q, k, v, as in
            fla; without it q and k get a SiLU and v is left linear.
        conv_size: kernel size of the short convolution.
        chunk_size: kernel chunk size (sub-tokens).
        backend: kernel backend; None lets the kernel choose (on CPU its compiled kernel where
            it builds, else chunked PyTorch; see kernels/dispatch.py).

    Example:
        >>> layer = DeltaNetMixer(32, 2, n_householder=2, allow_negative_eigenvalues=True)
        >>> layer(torch.randn(3, 10, 32)).shape
        torch.Size([3, 10, 32])
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        head_dim: int | None = None,
        *,
        n_householder: int = 1,
        allow_negative_eigenvalues: bool = False,
        use_short_conv: bool = True,
        conv_size: int = 4,
        chunk_size: int = 64,
        backend: str | None = None,
    ) -> None:
        super().__init__()
        if n_householder < 1:
            raise ValueError(f"n_householder must be >= 1, got {n_householder}")
        head_dim = head_dim or d_model // n_heads
        if head_dim < 1:
            raise ValueError(f"head_dim must be >= 1 (d_model {d_model} // n_heads {n_heads} is 0)")
        self.n_heads, self.head_dim, self.n_householder = n_heads, head_dim, n_householder
        self.allow_negative_eigenvalues = allow_negative_eigenvalues
        self.chunk_size, self.backend = chunk_size, backend
        inner, n = n_heads * head_dim, n_householder
        self.q_proj = nn.Linear(d_model, inner, bias=False)
        self.k_proj = nn.Linear(d_model, n * inner, bias=False)
        self.v_proj = nn.Linear(d_model, n * inner, bias=False)
        self.b_proj = nn.Linear(d_model, n * n_heads, bias=True)
        self.use_short_conv = use_short_conv
        if use_short_conv:
            self.q_conv = ShortConv(inner, conv_size)
            self.k_conv = ShortConv(n * inner, conv_size)
            self.v_conv = ShortConv(n * inner, conv_size)
        self.o_norm = nn.RMSNorm(head_dim, eps=1e-5)
        self.o_proj = nn.Linear(inner, d_model, bias=False)

    def project(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Kernel inputs for ``x`` ``(B, T, d_model)``: q ``[B, T, H, D]``, unit k and v
        ``[B, T*n, H, D]`` (token-major interleaving), beta ``[B, T*n, H]``."""
        B, T, _ = x.shape
        H, D, n = self.n_heads, self.head_dim, self.n_householder
        q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        if self.use_short_conv:
            q, k, v = self.q_conv(q), self.k_conv(k), self.v_conv(v)
        else:
            q, k = F.silu(q), F.silu(k)
        q = q.reshape(B, T, H, D)  # (B, T, H*D) -> (B, T, H, D)
        k = k.reshape(B, T * n, H, D)  # (B, T, n*H*D) -> (B, T*n, H, D), token t owns rows t*n..t*n+n-1
        v = v.reshape(B, T * n, H, D)  # (B, T, n*H*D) -> (B, T*n, H, D)
        beta = torch.sigmoid(self.b_proj(x)).view(B, T * n, H)  # (B, T, n*H) -> (B, T*n, H)
        if self.allow_negative_eigenvalues:
            beta = 2.0 * beta
        return F.normalize(q, dim=-1), F.normalize(k, dim=-1), v, beta

    def forward(
        self, x: torch.Tensor, initial_state: torch.Tensor | None = None, return_state: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``(B, T, d_model) -> (B, T, d_model)``; with ``return_state`` also S ``[B, H, D, D]``.

        ``initial_state`` continues from an earlier call's state (exact when
        ``use_short_conv=False``; the convolution's own window is not carried over).
        """
        B, T, _ = x.shape
        q, k, v, beta = self.project(x)
        o, state = delta_rule(
            q, k, v, beta, initial_state=initial_state, n_householder=self.n_householder,
            chunk_size=self.chunk_size, backend=self.backend,
        )
        o = self.o_norm(o.to(x.dtype))  # (B, T, H, D), normalised per head
        y = self.o_proj(o.reshape(B, T, self.n_heads * self.head_dim))  # (B, T, H, D) -> (B, T, H*D)
        return (y, state) if return_state else y


class GLAMixer(nn.Module):
    """Gated linear attention token mixer (GLA), optionally with a feature map on q and k.

    Args:
        d_model: model width.
        n_heads: heads H.
        expand_k: key width = ``expand_k * d_model`` (GLA uses 0.5).
        expand_v: value width = ``expand_v * d_model``.
        gate_low_rank_dim: rank of the gate projection d -> r -> key width.
        gate_logit_normalizer: log α = logsigmoid(·) / this (16 in GLA: slow decay at init).
        use_output_gate: multiply the normalised output by swish(W_g x), as GLA does.
        feature_map: optional function applied to q and k (e.g. Lizard's learned map).
        chunk_size: kernel chunk size.
        backend: kernel backend; None lets the kernel choose (on CPU its compiled kernel where
            it builds, else chunked PyTorch; see kernels/dispatch.py).

    Example:
        >>> GLAMixer(32, 2)(torch.randn(3, 10, 32)).shape
        torch.Size([3, 10, 32])
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        *,
        expand_k: float = 0.5,
        expand_v: float = 1.0,
        gate_low_rank_dim: int = 16,
        gate_logit_normalizer: float = 16.0,
        use_output_gate: bool = True,
        feature_map: Callable[[torch.Tensor], torch.Tensor] | None = None,
        chunk_size: int = 64,
        backend: str | None = None,
    ) -> None:
        super().__init__()
        key_dim, value_dim = int(d_model * expand_k), int(d_model * expand_v)
        if key_dim % n_heads or value_dim % n_heads:
            raise ValueError(f"key width {key_dim} and value width {value_dim} must divide by n_heads {n_heads}")
        self.n_heads, self.head_k, self.head_v = n_heads, key_dim // n_heads, value_dim // n_heads
        self.gate_logit_normalizer, self.feature_map = gate_logit_normalizer, feature_map
        self.chunk_size, self.backend = chunk_size, backend
        self.q_proj = nn.Linear(d_model, key_dim, bias=False)
        self.k_proj = nn.Linear(d_model, key_dim, bias=False)
        self.v_proj = nn.Linear(d_model, value_dim, bias=False)
        self.gk_proj = nn.Sequential(
            nn.Linear(d_model, gate_low_rank_dim, bias=False), nn.Linear(gate_low_rank_dim, key_dim, bias=True)
        )
        self.g_proj = nn.Linear(d_model, value_dim, bias=False) if use_output_gate else None
        self.o_norm = nn.RMSNorm(self.head_v, eps=1e-5)
        self.o_proj = nn.Linear(value_dim, d_model, bias=False)

    def project(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Kernel inputs for ``x`` ``(B, T, d_model)``: q, k ``[B, T, H, Dk]``, v ``[B, T, H, Dv]``,
        log-decay g ``[B, T, H, Dk]`` (≤ 0)."""
        B, T, _ = x.shape
        H = self.n_heads
        q = self.q_proj(x).view(B, T, H, self.head_k)  # (B, T, H*Dk) -> (B, T, H, Dk)
        k = self.k_proj(x).view(B, T, H, self.head_k)  # (B, T, H*Dk) -> (B, T, H, Dk)
        v = self.v_proj(x).view(B, T, H, self.head_v)  # (B, T, H*Dv) -> (B, T, H, Dv)
        if self.feature_map is not None:
            q, k = self.feature_map(q), self.feature_map(k)
        g = F.logsigmoid(self.gk_proj(x)) / self.gate_logit_normalizer
        return q, k, v, g.view(B, T, H, self.head_k)  # (B, T, H*Dk) -> (B, T, H, Dk)

    def forward(
        self, x: torch.Tensor, initial_state: torch.Tensor | None = None, return_state: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """``(B, T, d_model) -> (B, T, d_model)``; with ``return_state`` also S ``[B, H, Dk, Dv]``."""
        B, T, _ = x.shape
        q, k, v, g = self.project(x)
        o, state = gated_linear_attention(
            q, k, v, g, initial_state=initial_state, chunk_size=self.chunk_size, backend=self.backend
        )
        o = self.o_norm(o.to(x.dtype))  # (B, T, H, Dv), normalised per head
        o = o.reshape(B, T, self.n_heads * self.head_v)  # (B, T, H, Dv) -> (B, T, H*Dv)
        if self.g_proj is not None:
            o = o * F.silu(self.g_proj(x))
        y = self.o_proj(o)
        return (y, state) if return_state else y
