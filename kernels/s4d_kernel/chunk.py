"""S4D by convolution: the Vandermonde kernel K and a causal FFT convolution, O(T log T).

Unrolling h_t = Ā h_{t−1} + B̄ u_t from h_{−1} = h0 gives

    y_t = Σ_{k ≤ t} K_{t−k} u_k + 2·Re(Σ_n C_n Ā_n^{t+1} h0_n) + D u_t,   K_k = 2·Re(Σ_n C_n B̄_n Ā_n^k)
    h_{T−1} = Ā^T h0 + Σ_k Ā^{T−1−k} B̄ u_k

Powers are taken as exp(k·ΔA) (never by repeated products), which is exact and stable since
Re(ΔA) < 0. This is the "chunk" (CPU and GPU) path of s4d_kernel: the whole sequence is one
FFT, so there is no chunk size.
"""

from __future__ import annotations

import torch

from kernels.s4d_kernel.naive import discretize


def _powers(dt: torch.Tensor, A: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
    """Ā^k for k in ``steps``: [H, P, N, len(steps)] complex (a Vandermonde matrix per channel)."""
    dtA = dt.unsqueeze(-1) * A  # (H, P, N)
    return torch.exp(dtA.unsqueeze(-1) * steps.to(dtA.dtype))  # (H, P, N, 1) * (L,) -> (H, P, N, L)


def s4d_vandermonde(dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor, L: int) -> torch.Tensor:
    """The real convolution kernel K [H, P, L], K_k = 2·Re(Σ_n C_n B̄_n Ā_n^k)."""
    _, Bbar = discretize(dt, A, B)
    steps = torch.arange(L, device=A.device)
    return 2 * torch.einsum("hpn,hpnl->hpl", C * Bbar, _powers(dt, A, steps)).real


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
    if initial_state is not None:
        h0 = initial_state.to(cplx)
        powers = _powers(dt, A, torch.arange(1, T + 1, device=u.device))  # Ā^{t+1}: (H, P, N, T)
        y = y + 2 * torch.einsum("hpn,hpnt,bhnp->bthp", C, powers, h0).real
    if D is not None:
        y = y + D.to(real) * u
    if not output_final_state:
        return y, None
    Abar, Bbar = discretize(dt, A, B)
    back = _powers(dt, A, torch.arange(T - 1, -1, -1, device=u.device))  # Ā^{T−1−k}: (H, P, N, T)
    hT = torch.einsum("hpn,hpnt,bthp->bhnp", Bbar, back, u.to(cplx))
    if initial_state is not None:
        hT = hT + (Abar ** T).transpose(-1, -2) * initial_state.to(cplx)  # (H, P, N) -> (H, N, P)
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
