"""S4D by convolution: the Vandermonde kernel K and a causal FFT convolution, O(T log T).

Unrolling h_t = Ā h_{t−1} + B̄ u_t from h_{−1} = h0 gives

    y_t = Σ_{k ≤ t} K_{t−k} u_k + 2·Re(Σ_n C_n Ā_n^{t+1} h0_n) + D u_t,   K_k = 2·Re(Σ_n C_n B̄_n Ā_n^k)
    h_{T−1} = Ā^T h0 + Σ_k Ā^{T−1−k} B̄ u_k

Powers are taken as exp(k·ΔA) (never by repeated products), which is exact and stable since
Re(ΔA) < 0, and split as k = jL + i (L ≈ √T) so each Vandermonde contraction is a batched
matmul over N and the (H, P, N, T) matrix is never built. This is the "chunk" (CPU and GPU) path of s4d_kernel: the whole sequence is one
FFT, so there is no chunk size.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from kernels.s4d_kernel.naive import discretize


def _blocks(dtA: torch.Tensor, length: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Ā^k for k = j·L + i split as Ā^{jL} (H, P, N, nc) and Ā^i (H, P, N, L), with L ≈ √length.

    Every power is exp(k·ΔA) (exact and stable); splitting k turns each Vandermonde
    contraction into a batched matmul and never builds the (H, P, N, length) matrix.
    """
    L = 1 << max(0, math.ceil(math.log2(max(1.0, math.sqrt(length)))))
    nc = -(-length // L)
    inner = torch.exp(dtA.unsqueeze(-1) * torch.arange(L, device=dtA.device).to(dtA.dtype))  # (H, P, N, L)
    outer = torch.exp(dtA.unsqueeze(-1) * (torch.arange(nc, device=dtA.device) * L).to(dtA.dtype))  # (H, P, N, nc)
    return outer, inner, L


def _weighted_powers(weight: torch.Tensor, dtA: torch.Tensor, length: int) -> torch.Tensor:
    """Σ_n weight[..., n] Ā_n^k for k < length: weight (..., H, P, N) -> (..., H, P, length) complex."""
    outer, inner, L = _blocks(dtA, length)
    X = weight.unsqueeze(-1) * outer  # (..., H, P, N, nc)
    out = X.transpose(-1, -2) @ inner  # (..., H, P, nc, N) @ (H, P, N, L) -> (..., H, P, nc, L)
    return out.flatten(-2)[..., :length]  # (..., H, P, nc, L) -> (..., H, P, nc·L)


def s4d_vandermonde(dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor, L: int) -> torch.Tensor:
    """The real convolution kernel K [H, P, L], K_k = 2·Re(Σ_n C_n B̄_n Ā_n^k)."""
    _, Bbar = discretize(dt, A, B)
    return 2 * _weighted_powers(C * Bbar, dt.unsqueeze(-1) * A, L).real


def fft_causal_conv(u: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """y_t = Σ_{k ≤ t} K_{t−k} u_k for u [B, T, H, P] and K [H, P, T], by zero-padded FFT."""
    T = u.shape[1]
    n = 2 * T  # no wrap-around: linear convolution of two length-T signals fits in 2T − 1
    U = torch.fft.rfft(u.permute(0, 2, 3, 1), n=n)  # (B, T, H, P) -> (B, H, P, T) -> (B, H, P, n/2+1)
    Kf = torch.fft.rfft(K, n=n)  # (H, P, n/2+1)
    y = torch.fft.irfft(U * Kf, n=n)[..., :T]  # (B, H, P, T)
    return y.permute(0, 3, 1, 2)  # (B, H, P, T) -> (B, T, H, P)


def chunk_s4d_kernel(
    u: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    *,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """S4D via Vandermonde kernel + FFT convolution (shapes as in :func:`naive_s4d_kernel`)."""
    real = torch.float64 if u.dtype == torch.float64 else torch.float32
    cplx = torch.complex128 if real == torch.float64 else torch.complex64
    u, dt = u.to(real), dt.to(real)
    A, B, C = (t.to(cplx) for t in (A, B, C))
    T = u.shape[1]
    y = fft_causal_conv(u, s4d_vandermonde(dt, A, B, C, T))
    dtA = dt.unsqueeze(-1) * A  # (H, P, N)
    if initial_state is not None:
        h0 = initial_state.to(cplx).permute(0, 1, 3, 2)  # (B, H, N, P) -> (B, H, P, N)
        free = _weighted_powers(C * torch.exp(dtA) * h0, dtA, T)  # Σ_n C_n Ā_n^{t+1} h0_n: (B, H, P, T)
        y = y + 2 * free.real.permute(0, 3, 1, 2)  # (B, H, P, T) -> (B, T, H, P)
    if D is not None:
        y = y + D.to(real) * u
    if not output_final_state:
        return y, None
    _, Bbar = discretize(dt, A, B)
    # h_{T−1} = B̄ Σ_j Ā^{jL} Σ_i Ā^i ũ_{jL+i}, with ũ the input reversed in time
    outer, inner, L = _blocks(dtA, T)
    nc = outer.shape[-1]
    rev = F.pad(u.flip(1), (0, 0, 0, 0, 0, nc * L - T)).to(cplx)  # (B, nc·L, H, P)
    batch, _, H, P = u.shape
    rev = rev.permute(0, 2, 3, 1).reshape(batch, H, P, nc, L)  # (B, nc·L, H, P) -> (B, H, P, nc·L) -> (B, H, P, nc, L)
    inner_sums = rev @ inner.transpose(-1, -2)  # (B, H, P, nc, L) @ (H, P, L, N) -> (B, H, P, nc, N)
    hT = Bbar * (inner_sums * outer.transpose(-1, -2)).sum(-2)  # (B, H, P, N)
    if initial_state is not None:
        hT = hT + torch.exp(T * dtA) * h0
    hT = hT.permute(0, 1, 3, 2)  # (B, H, P, N) -> (B, H, N, P)
    return y, hT


def s4d_step(
    u_t: torch.Tensor,
    state: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One recurrent step for stateful inference: u_t [B, H, P], state [B, H, N, P] -> (y_t, new state)."""
    cplx = state.dtype
    Abar, Bbar = (t.to(cplx).transpose(-1, -2) for t in discretize(dt.to(u_t.dtype), A.to(cplx), B.to(cplx)))
    state = Abar * state + Bbar * u_t[:, :, None, :]  # (H, N, P) ⊙ (B, H, N, P) + (B, H, 1, P)
    y = 2 * (C.to(cplx).transpose(-1, -2) * state).sum(-2).real  # (B, H, P)
    if D is not None:
        y = y + D.to(y.dtype) * u_t
    return y, state
