"""One linear self-attention layer on a regression prompt (Zhang, Frei and Bartlett 2023, eq. 3).

The prompt is embedded as Z = [[x_1 … x_N x_q], [y_1 … y_N 0]] ∈ R^{(d+1)×(N+1)}, and

    f(Z) = Z + W^{PV} Z · M · (Zᵀ W^{KQ} Z) / N,   M = diag(1, …, 1, 0)

(the mask M keeps the query out of the keys). The prediction is the bottom-right entry
ŷ = f(Z)_{d+1, N+1}. With H = (1/N) Σ_i z_i z_iᵀ over the N labelled columns and p the last
row of W^{PV}, that entry is ŷ = pᵀ H W^{KQ} z_q, so only p and W^{KQ} matter for ŷ.
"""

from __future__ import annotations

import torch
from torch import nn


class LinearSelfAttention(nn.Module):
    """Full (d+1)×(d+1) matrices W^{PV} and W^{KQ}, Gaussian init with std ``init_scale``."""

    def __init__(self, d: int, init_scale: float = 0.1, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.d = d
        self.w_pv = nn.Parameter(torch.randn(d + 1, d + 1, generator=generator) * init_scale)
        self.w_kq = nn.Parameter(torch.randn(d + 1, d + 1, generator=generator) * init_scale)

    def forward(self, x: torch.Tensor, y: torch.Tensor, x_q: torch.Tensor) -> torch.Tensor:
        """``x (B, N, d)``, ``y (B, N)``, ``x_q (B, d)`` -> predictions ``ŷ (B,)``."""
        B, N, d = x.shape
        z = torch.cat([x, y.unsqueeze(-1)], dim=-1)  # (B, N, d+1): the labelled columns
        z_q = torch.cat([x_q, x_q.new_zeros(B, 1)], dim=-1)  # (B, d+1): the query column
        h = z.transpose(1, 2) @ z / N  # (B, d+1, d+1) = (1/N) Σ z_i z_iᵀ
        p = self.w_pv[-1]  # (d+1,): the row of W^{PV} that writes the label slot
        return torch.einsum("i,bij,jk,bk->b", p, h, self.w_kq, z_q)

    def effective_matrix(self) -> torch.Tensor:
        """(d, d) matrix A with ŷ = x_qᵀ A (1/N Σ y_i x_i) from the label-row terms: p_{d+1} W^{KQ}_{11}ᵀ.

        At the global minimum the other terms vanish and A = Γ⁻¹ (symmetric).
        """
        d = self.d
        return (self.w_pv[-1, -1] * self.w_kq[:d, :d]).T.detach()
