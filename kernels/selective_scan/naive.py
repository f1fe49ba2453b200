"""The literal selective-scan recurrence (Mamba's S6), one Python step per token: the oracle.

Shape legend (one layout for every op in ``kernels/``)::

    x      [B, T, H, P]   input, P channels per head (P plays the role of D in [B, T, H, D])
    delta  [B, T, H, P]   step sizes Δ > 0 (softplus already applied by the caller)
    A      [H, P, N]      continuous-time diagonal state matrix, Re < 0 (Mamba: −exp(A_log))
    B      [B, T, H, N]   input projection B_t (input-dependent)
    C      [B, T, H, N]   output projection C_t (input-dependent)
    D      [H, P]         optional skip term
    z      [B, T, H, P]   optional gate: y ← y ⊙ silu(z)
    state  [B, H, N, P]   h (the [B, H, K, V] state layout with K = N, V = P)

    h_t = exp(Δ_t A) ⊙ h_{t−1} + (Δ_t x_t) B_t      (outer product over N × P)
    y_t = C_t · h_t + D ⊙ x_t,   then y_t ← y_t ⊙ silu(z_t)
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def naive_selective_scan(
    x: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    z: torch.Tensor | None = None,
    *,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    chunk_size: int = 32,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run the recurrence token by token in float32 (or float64 if given); returns (y, final state).

    ``chunk_size`` is accepted for signature parity with the other backends and ignored.
    """
    del chunk_size
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    x, delta, A, B, C = (t.to(dtype) for t in (x, delta, A, B, C))
    batch, T, H, P = x.shape
    N = A.shape[-1]
    h = x.new_zeros(batch, H, N, P) if initial_state is None else initial_state.to(dtype)
    ys = []
    for t in range(T):
        dt = delta[:, t]  # (B, H, P)
        decay = torch.exp(dt[:, :, None, :] * A.transpose(-1, -2)[None])  # (B, H, N, P)
        inject = B[:, t, :, :, None] * (dt * x[:, t])[:, :, None, :]  # (B, H, N, P)
        h = decay * h + inject
        ys.append(torch.einsum("bhn,bhnp->bhp", C[:, t], h))
    y = torch.stack(ys, dim=1)  # T × (B, H, P) -> (B, T, H, P)
    if D is not None:
        y = y + D.to(dtype) * x
    if z is not None:
        y = y * F.silu(z.to(dtype))
    return y, (h if output_final_state else None)
