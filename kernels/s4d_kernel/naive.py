"""The S4D recurrence, one Python step per token: the oracle for the FFT path.

Shape legend (one layout for every op in ``kernels/``)::

    u      [B, T, H, P]   real input, P channels per head (the D of [B, T, H, D])
    dt     [H, P]         step size Δ > 0 per channel
    A      [H, P, N]      complex diagonal state matrix, Re(A) < 0 (S4D-Lin: −½ + iπn)
    B, C   [H, P, N]      complex input / output projections
    D      [H, P]         optional real skip
    state  [B, H, N, P]   complex (the [B, H, K, V] state layout with K = N, V = P)

Zero-order hold: Ā = exp(ΔA), B̄ = (Ā − 1)/A · B. Each complex mode stands for itself and
its conjugate, so the real output carries a factor 2:

    h_t = Ā ⊙ h_{t−1} + B̄ u_t,        y_t = 2·Re(Σ_n C_n h_{t,n}) + D u_t
"""

from __future__ import annotations

import torch


def discretize(dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """ZOH: (Ā, B̄), each [H, P, N] complex, from Δ [H, P] and A, B [H, P, N]."""
    dtA = dt.unsqueeze(-1) * A  # (H, P, 1) * (H, P, N)
    Abar = torch.exp(dtA)
    return Abar, (Abar - 1) / A * B


def naive_s4d_kernel(
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
    """Run the recurrence token by token (complex64, or complex128 for float64 u); returns (y, state)."""
    real = torch.float64 if u.dtype == torch.float64 else torch.float32
    cplx = torch.complex128 if real == torch.float64 else torch.complex64
    u, dt = u.to(real), dt.to(real)
    A, B, C = (t.to(cplx) for t in (A, B, C))
    Abar, Bbar = (t.transpose(-1, -2) for t in discretize(dt, A, B))  # (H, P, N) -> (H, N, P)
    Ct = C.transpose(-1, -2)  # (H, P, N) -> (H, N, P)
    batch, T, H, P = u.shape
    h = torch.zeros(batch, H, A.shape[-1], P, dtype=cplx, device=u.device) if initial_state is None else initial_state.to(cplx)
    ys = []
    for t in range(T):
        h = Abar * h + Bbar * u[:, t, :, None, :]  # (B, H, N, P)
        ys.append(2 * (Ct * h).sum(-2).real)  # (B, H, P)
    y = torch.stack(ys, dim=1)  # T × (B, H, P) -> (B, T, H, P)
    if D is not None:
        y = y + D.to(real) * u
    return y, (h if output_final_state else None)
