"""LSSL (Gu et al. 2021, "Combining Recurrent, Convolutional, and Continuous-time Models with
Linear State-Space Layers"): a dense-A state-space layer with two equivalent views.

Per channel h, the continuous SSM x' = A x + B u, y = C x + D u is discretised with a learned
step Δ_h by the bilinear rule (:func:`workloads.nn.s4.bilinear`), Ā = (I − ΔA/2)⁻¹(I + ΔA/2),
B̄ = (I − ΔA/2)⁻¹ Δ B, and run either

* as a convolution y = K ∗ u + D u with the Krylov kernel K_k = C Ā^k B̄
  (:func:`workloads.nn.s4.krylov_kernel`, then :func:`kernels.s4d_kernel.fft_causal_conv`), or
* as the recurrence x_k = Ā x_{k−1} + B̄ u_k, y_k = C x_k + D u_k (:meth:`LSSL.recurrent`,
  used for the check that the views agree; there is no kernel for a dense Ā recurrence).

A is fixed (not trained), as in the paper's main LSSL-fixed setting: HiPPO-LegS
(A_nk = −√(2n+1)√(2k+1) for n > k, −(n+1) on the diagonal; B_n = √(2n+1)), or, for the
ablation, a random Gaussian A ~ N(0, 1/N) shifted so its slowest eigenvalue has real part −1
(LegS's slowest mode) with B ~ N(0, 1). Δ (log-uniform in [dt_min, dt_max]), C and D are learned.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from kernels.s4d_kernel import fft_causal_conv
from workloads.nn.s4 import bilinear, hippo_legs, krylov_kernel


def random_stable(N: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A (N, N), B (N,))`` float64: A ~ N(0, 1/N) shifted so max Re λ(A) = −1; B ~ N(0, 1)."""
    G = torch.randn(N, N, generator=generator, dtype=torch.float64) / math.sqrt(N)
    shift = torch.linalg.eigvals(G).real.max() + 1.0
    return G - shift * torch.eye(N, dtype=torch.float64), torch.randn(N, generator=generator, dtype=torch.float64)


class LSSL(nn.Module):
    """H channels, each a fixed dense N × N A with learned Δ, C, D: (B, T, H) -> (B, T, H).

    Args:
        H: channels. N: state size per channel.
        init: ``"legs"`` (HiPPO-LegS) or ``"random"`` (stable Gaussian, drawn from torch's RNG).
        dt_min, dt_max: range of the log-uniform initial Δ.
    """

    def __init__(self, H: int, N: int = 64, *, init: str = "legs", dt_min: float = 1e-3, dt_max: float = 1e-1) -> None:
        super().__init__()
        if init == "legs":
            A, B = hippo_legs(N)
        elif init == "random":
            A, B = random_stable(N, torch.Generator().manual_seed(int(torch.randint(0, 2**31 - 1, ()))))
        else:
            raise ValueError(f"LSSL: unknown init {init!r} (legs, random)")
        self.register_buffer("A", A.float().expand(H, N, N).clone())  # fixed, not trained
        self.register_buffer("B", B.float().expand(H, N).clone())
        self.log_dt = nn.Parameter(torch.rand(H) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        self.C = nn.Parameter(torch.randn(H, N) / math.sqrt(N))
        self.D = nn.Parameter(torch.randn(H))

    def discrete(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Bilinear ``(Ā (H, N, N), B̄ (H, N))``."""
        return bilinear(self.A, self.B, torch.exp(self.log_dt))

    def kernel(self, L: int) -> torch.Tensor:
        """Krylov kernel K (H, L), K_k = C Ā^k B̄."""
        Abar, Bbar = self.discrete()
        return krylov_kernel(Abar, Bbar, self.C, L)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Convolution view."""
        K = self.kernel(u.shape[1])
        y = fft_causal_conv(u[:, :, :, None], K[:, None])[..., 0]  # (B, T, H) -> (B, T, H, 1) -> (B, T, H)
        return y + u * self.D

    @torch.no_grad()
    def recurrent(self, u: torch.Tensor) -> torch.Tensor:
        """Recurrent view x_k = Ā x_{k−1} + B̄ u_k, y_k = C x_k + D u_k, in u's dtype (checks)."""
        Abar, Bbar = (t.to(u.dtype) for t in self.discrete())
        C, D = self.C.to(u.dtype), self.D.to(u.dtype)
        x = torch.zeros(u.shape[0], *Bbar.shape, dtype=u.dtype)  # (B, H, N)
        ys = []
        for k in range(u.shape[1]):
            x = (Abar @ x[..., None])[..., 0] + Bbar * u[:, k, :, None]
            ys.append((x * C).sum(-1))
        return torch.stack(ys, 1) + u * D  # (B, T, H)


class LSSLBlock(nn.Module):
    """x + Linear-GLU(GELU(LSSL(LayerNorm x))): the residual block of the S4 family."""

    def __init__(self, H: int, N: int, **lssl_kwargs) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(H)
        self.ssm = LSSL(H, N, **lssl_kwargs)
        self.out = nn.Linear(H, 2 * H)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, H) -> (B, T, H)."""
        return x + F.glu(self.out(F.gelu(self.ssm(self.norm(x)))), dim=-1)


class LSSLClassifier(nn.Module):
    """Linear encoder, ``layers`` LSSL blocks, LayerNorm, mean pool, linear head: (B, T, d_in) -> (B, d_out)."""

    def __init__(self, d_in: int, d_out: int, H: int = 64, N: int = 64, layers: int = 2, **lssl_kwargs) -> None:
        super().__init__()
        self.encoder = nn.Linear(d_in, H)
        self.blocks = nn.ModuleList(LSSLBlock(H, N, **lssl_kwargs) for _ in range(layers))
        self.norm = nn.LayerNorm(H)
        self.head = nn.Linear(H, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, d_in) -> (B, d_out)."""
        h = self.encoder(x)
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h).mean(1))
