"""The paper's LTI baseline, "S4 in the Mamba block", with S4D's per-channel parameters.

Same block as :class:`workloads.nn.ssm.MambaBlock` (in_proj → (x, z); causal depthwise conv →
SiLU → SSM → y ⊙ SiLU(z) → out_proj), but the SSM is time-invariant and, as in S4D (Gu et al.
2022), every one of the d_inner channels c has its own Δ_c, A_c, B_c and C_c (N values each):

    h_t = exp(Δ_c A_c) ⊙ h_{t−1} + Δ_c B_c x_t,      y_t = C_c · h_t + D_c x_t

None of them depends on the input. (``MambaBlock(selective=False)`` shares one B and one C of N
values across all channels, which is narrower than S4D; it is left as is for its other users.)

The kernel :func:`kernels.selective_scan.selective_scan` takes B and C per head, so per-channel
B and C need one head per channel (H = d_inner, P = 1), where its loops over P do not vectorise:
about 5x the S6 arm's step here. Being time-invariant, the SSM is a causal convolution with
the impulse response K_c[k] = Σ_n C_cn B_cn Δ_c exp(Δ_c A_cn)^k, which :meth:`ssm` applies by
FFT as S4D does (the same function; :meth:`ssm_by_scan` is its reference twin through the kernel).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from kernels.selective_scan import selective_scan
from workloads.nn.ssm import _dt_bias


class LTIMambaBlock(nn.Module):
    """One Mamba mixer with a per-channel LTI (S4D-real) SSM: (B, T, d_model) -> (B, T, d_model).

    Args:
        d_model: width.
        d_state: N, state size per channel.
        expand: d_inner = expand · d_model channels in the SSM.
        d_conv: width of the causal depthwise convolution.
        chunk_size: the kernel's chunk size (used by :meth:`ssm_by_scan` only).
        dt_min, dt_max: range of the initial Δ (log-uniform per channel, as in Mamba and S4D).
    """

    def __init__(
        self,
        d_model: int,
        d_state: int = 16,
        expand: int = 2,
        d_conv: int = 4,
        *,
        chunk_size: int = 32,
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
    ) -> None:
        super().__init__()
        d_inner = expand * d_model
        self.d_inner, self.d_state, self.chunk_size = d_inner, d_state, chunk_size
        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=False)
        self.conv = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, padding=d_conv - 1)
        self.dt_bias = nn.Parameter(_dt_bias(d_inner, dt_min, dt_max))  # (d_inner,): Δ_c = softplus(dt_bias_c)
        self.B = nn.Parameter(torch.randn(d_inner, d_state) / math.sqrt(d_state))  # (d_inner, N)
        self.C = nn.Parameter(torch.randn(d_inner, d_state) / math.sqrt(d_state))  # (d_inner, N)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(d_inner, 1))
        self.D = nn.Parameter(torch.ones(d_inner))
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)

    def ssm_inputs(self, batch: int, T: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Δ (B, T, d_inner) and B, C (B, T, d_inner, N): the parameters broadcast, no input read."""
        delta = F.softplus(self.dt_bias).expand(batch, T, -1)
        return delta, self.B.expand(batch, T, -1, -1), self.C.expand(batch, T, -1, -1)

    def kernel(self, T: int) -> torch.Tensor:
        """The SSM's impulse response K (d_inner, T): K_c[k] = Σ_n C_cn B_cn Δ_c exp(Δ_c A_cn k)."""
        delta = F.softplus(self.dt_bias)[:, None]  # (d_inner, 1)
        A = -torch.exp(self.A_log)  # (d_inner, N)
        k = torch.arange(T, device=A.device, dtype=A.dtype)  # (T,)
        powers = torch.exp((delta * A)[..., None] * k)  # (d_inner, N, T): exp(Δ A)^k
        return torch.einsum("cn,cnk->ck", self.C * self.B * delta, powers)

    def ssm(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """(B, T, d_inner) -> (B, T, d_inner): y = (K ∗ x) + D x, gated by SiLU(z); a causal FFT convolution."""
        T = x.shape[1]
        n = 2 * T  # zero padding: no wrap-around of the circular convolution
        K = torch.fft.rfft(self.kernel(T), n=n)  # (d_inner, n/2 + 1)
        X = torch.fft.rfft(x.transpose(1, 2), n=n)  # (B, T, d_inner) -> (B, d_inner, n/2 + 1)
        y = torch.fft.irfft(X * K, n=n)[..., :T].transpose(1, 2)  # (B, d_inner, n) -> (B, T, d_inner)
        return (y + self.D * x) * F.silu(z)

    def ssm_by_scan(self, x: torch.Tensor, z: torch.Tensor, backend: str | None = None) -> torch.Tensor:
        """The same as :meth:`ssm` through the recurrence (the reference twin, about 5x slower here).

        :func:`kernels.selective_scan.selective_scan` with one kernel head per channel (H = d_inner,
        P = 1), so that B and C, which the kernel takes per head as ``[B, T, H, N]``, are per channel.
        """
        batch, T, H = x.shape
        delta, Bc, Cc = self.ssm_inputs(batch, T)
        y, _ = selective_scan(
            x.reshape(batch, T, H, 1),  # (B, T, d_inner) -> (B, T, H, 1)
            delta.reshape(batch, T, H, 1),
            -torch.exp(self.A_log)[:, None],  # (d_inner, N) -> (H, 1, N)
            Bc, Cc,  # (B, T, H, N): per channel, the same at every t
            self.D.view(H, 1), z.reshape(batch, T, H, 1),
            chunk_size=self.chunk_size, backend=backend,
        )
        return y.reshape(batch, T, H)  # (B, T, H, 1) -> (B, T, d_inner)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """(B, T, d_model) -> (B, T, d_model), causal."""
        T = u.shape[1]
        x, z = self.in_proj(u).chunk(2, dim=-1)  # (B, T, d_inner) each
        x = self.conv(x.transpose(1, 2))[..., :T].transpose(1, 2)  # (B, T, d_inner) -> (B, d_inner, T) and back
        return self.out_proj(self.ssm(F.silu(x), z))
