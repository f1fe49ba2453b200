"""Structured state-space layers: HiPPO matrices, S4 (DPLR), S4D (diagonal) and S5 (MIMO diagonal).

Continuous SSM per channel x' = A x + B u, y = C x + D u, discretised with step Δ and run as a
causal convolution y = K * u (training) or as a recurrence (generation, and the checks that the
two views agree).

* HiPPO-LegS (Gu et al. 2020): A_nk = −√(2n+1)√(2k+1) (n > k), −(n+1) (n = k), 0 (n < k);
  B_n = √(2n+1). A + P Pᵀ with P_n = √(n + ½) is normal, so A = V (Λ − P̃ P̃*) V* (DPLR).
* S4 (Gu et al. 2022, "Efficiently Modeling Long Sequences with Structured State Spaces"):
  bilinear discretisation; the kernel's generating function at the L roots of unity is
  2/(1+ω) · [k00 − k01 (1 + k11)⁻¹ k10] with Cauchy sums k_ab = Σ_n a_n b_n / (g(ω) − λ_n),
  g(ω) = (2/Δ)(1−ω)/(1+ω) (Woodbury for the low-rank term); an inverse FFT gives K. C is
  trained as C̃ = C (I − Ā^L), as in the paper.
* S4D (Gu et al. 2022, "On the Parameterization and Initialization of Diagonal SSMs"): diagonal
  complex A (S4D-Lin, S4D-Inv, S4D-LegS), ZOH, Vandermonde kernel: :mod:`kernels.s4d_kernel`.
* S5 (Smith et al. 2023): one MIMO diagonal SSM shared by all H channels, state size P,
  ZOH; here run as its H × H convolution kernel K_k = 2·Re(C Ā^k B̄) by FFT (the outputs equal
  the paper's parallel scan).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from kernels.s4d_kernel import s4d_kernel
from kernels.s4d_kernel.chunk import fft_causal_conv

# --- HiPPO ----------------------------------------------------------------------------------


def hippo_legs(N: int) -> tuple[torch.Tensor, torch.Tensor]:
    """HiPPO-LegS ``(A (N, N), B (N,))`` in float64."""
    q = torch.sqrt(2 * torch.arange(N, dtype=torch.float64) + 1)
    A = -torch.tril(q[:, None] * q[None, :], diagonal=-1) - torch.diag(torch.arange(1, N + 1, dtype=torch.float64))
    return A, q.clone()


def legs_dplr(N: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Diagonal-plus-low-rank HiPPO-LegS in its eigenbasis: ``(Λ, P̃, B̃)``, each (N,) complex128.

    A = V (diag Λ − P̃ P̃*) V*, B̃ = V* B; Re Λ = −½.
    """
    A, B = hippo_legs(N)
    P = torch.sqrt(torch.arange(N, dtype=torch.float64) + 0.5)
    S = A + P[:, None] * P[None, :]  # normal: −½ I + skew-symmetric
    Lam_im, V = torch.linalg.eigh(-1j * (S - S.diagonal().mean() * torch.eye(N, dtype=torch.float64)))  # S = −½ + i·(Hermitian)
    Lam = S.diagonal().mean() + 1j * Lam_im
    Vh = V.conj().T
    return Lam, Vh @ P.to(torch.complex128), Vh @ B.to(torch.complex128)


def s4d_init(kind: str, N: int) -> torch.Tensor:
    """Diagonal A (N,) complex128 for S4D: ``lin`` −½ + iπn, ``inv`` −½ + i(N/π)(N/(2n+1) − 1),
    ``legs`` the eigenvalues of LegS's normal part (the half with Im ≥ 0), ``random`` −U(0.1, 1) + iN·U(0, 1)."""
    n = torch.arange(N, dtype=torch.float64)
    if kind == "lin":
        return -0.5 + 1j * math.pi * n
    if kind == "inv":
        return -0.5 + 1j * (N / math.pi) * (N / (2 * n + 1) - 1)
    if kind == "legs":
        lam = legs_dplr(2 * N)[0]
        return lam[lam.imag.argsort(descending=True)][:N]
    if kind == "random":
        return -(0.1 + 0.9 * torch.rand(N, dtype=torch.float64)) + 1j * N * torch.rand(N, dtype=torch.float64)
    raise ValueError(f"s4d_init: unknown kind {kind!r} (lin, inv, legs, random)")


def _log_dt(H: int, dt_min: float, dt_max: float) -> nn.Parameter:
    return nn.Parameter(torch.rand(H) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))


def _cplx(t: torch.Tensor) -> nn.Parameter:
    """A complex tensor stored as a real (..., 2) parameter (optimisers treat it as two reals)."""
    return nn.Parameter(torch.view_as_real(t.to(torch.complex64)).clone())


def bilinear(A: torch.Tensor, B: torch.Tensor, dt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Bilinear (GBT α = ½) discretisation of dense A (H, N, N), B (H, N) with steps dt (H,):
    Ā = (I − ΔA/2)⁻¹(I + ΔA/2), B̄ = (I − ΔA/2)⁻¹ Δ B."""
    eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    half = dt[:, None, None] / 2 * A
    left = torch.linalg.inv(eye - half)
    return left @ (eye + half), (left @ (dt[:, None] * B)[..., None])[..., 0]


def krylov_kernel(Abar: torch.Tensor, Bbar: torch.Tensor, C: torch.Tensor, L: int) -> torch.Tensor:
    """LSSL's dense-A kernel K_k = C Ā^k B̄, k < L, by doubling: (H, N, N), (H, N), (H, N) -> (H, L).

    [B̄, ĀB̄, …] grows by one matmul with Ā^(2^i) per round: O(N² L + N³ log L) per channel.
    """
    vecs, power = Bbar[..., None], Abar  # (H, N, 1)
    while vecs.shape[-1] < L:
        vecs = torch.cat([vecs, power @ vecs], dim=-1)  # (H, N, k) -> (H, N, 2k)
        power = power @ power
    return (C[:, None, :] @ vecs[..., :L])[:, 0]  # (H, 1, N) @ (H, N, L) -> (H, L)


# --- the three SSM kernels -------------------------------------------------------------------


class S4D(nn.Module):
    """Diagonal SSM over H channels, N complex modes each (conjugates implied): (B, T, H) -> (B, T, H)."""

    def __init__(self, H: int, N: int = 32, *, init: str = "lin", dt_min: float = 1e-3, dt_max: float = 1e-1) -> None:
        super().__init__()
        A = s4d_init(init, N).expand(H, N)
        self.log_dt = _log_dt(H, dt_min, dt_max)
        self.A_re_log = nn.Parameter(torch.log(-A.real).float().clone())
        self.A_im = nn.Parameter(A.imag.float().clone())
        self.B = _cplx(torch.ones(H, N, dtype=torch.complex64))
        self.C = _cplx(torch.randn(H, N, dtype=torch.complex64))  # E|C_n|² = 1
        self.D = nn.Parameter(torch.randn(H))

    def discrete(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(dt (1, H), A, B, C (1, H, N) complex)``: the layout of :func:`kernels.s4d_kernel.s4d_kernel`."""
        A = torch.complex(-torch.exp(self.A_re_log), self.A_im)
        return torch.exp(self.log_dt)[None], A[None], torch.view_as_complex(self.B)[None], torch.view_as_complex(self.C)[None]

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Convolution mode."""
        dt, A, B, C = self.discrete()
        y, _ = s4d_kernel(u[:, :, None], dt, A, B, C, self.D[None])  # (B, T, H) -> (B, T, 1, H)
        return y[:, :, 0]  # (B, T, 1, H) -> (B, T, H)

    def recurrent(self, u: torch.Tensor) -> torch.Tensor:
        """Recurrent mode (the kernel's naive recurrence), for checks and generation."""
        dt, A, B, C = self.discrete()
        y, _ = s4d_kernel(u[:, :, None], dt, A, B, C, self.D[None], backend="naive")  # (B, T, H) -> (B, T, 1, H)
        return y[:, :, 0]


class S4(nn.Module):
    """DPLR SSM (HiPPO-LegS init), bilinear discretisation, Cauchy + Woodbury kernel: (B, T, H) -> (B, T, H).

    Uses all N eigenvalues (conjugate pairs included) and the real part of the kernel.
    """

    def __init__(self, H: int, N: int = 32, *, dt_min: float = 1e-3, dt_max: float = 1e-1) -> None:
        super().__init__()
        Lam, P, B = legs_dplr(N)
        self.log_dt = _log_dt(H, dt_min, dt_max)
        self.Lam_re_log = nn.Parameter(torch.log(-Lam.real).float().expand(H, N).clone())
        self.Lam_im = nn.Parameter(Lam.imag.float().expand(H, N).clone())
        self.P = _cplx(P.expand(H, N))
        self.B = _cplx(B.expand(H, N))
        self.C_tilde = _cplx(torch.randn(H, N, dtype=torch.complex64) * 0.5**0.5)
        self.D = nn.Parameter(torch.randn(H))

    def _params(self) -> tuple[torch.Tensor, ...]:
        Lam = torch.complex(-torch.exp(self.Lam_re_log), self.Lam_im)
        P, B, Ct = (torch.view_as_complex(t) for t in (self.P, self.B, self.C_tilde))
        return torch.exp(self.log_dt), Lam, P, B, Ct

    def kernel(self, L: int) -> torch.Tensor:
        """K (H, L) from the generating function at the L roots of unity."""
        dt, Lam, P, B, Ct = self._params()
        omega = torch.exp(-2j * math.pi * torch.arange(L) / L).to(torch.complex64)  # (L,)
        g = (2.0 / dt)[:, None] * ((1 - omega) / (1 + omega))[None]  # (H, L)
        R = 1.0 / (g[:, :, None] - Lam[:, None, :])  # (H, L, N) Cauchy matrix
        Q = P.conj()
        weights = torch.stack([Ct * B, Ct * P, Q * B, Q * P], dim=-1)  # (H, N, 4)
        k00, k01, k10, k11 = (R @ weights).unbind(-1)  # four Cauchy sums as one matmul: (H, L, 4) -> 4 x (H, L)
        at_roots = (2.0 / (1 + omega))[None] * (k00 - k01 * k10 / (1 + k11))
        return torch.fft.ifft(at_roots, n=L).real  # (H, L)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Convolution mode."""
        K = self.kernel(u.shape[1])
        y = fft_causal_conv(u[:, :, None], K[None])[:, :, 0]  # (B, T, H) -> (B, T, 1, H) -> (B, T, H)
        return y + u * self.D

    @torch.no_grad()
    def dense(self, L: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Bilinear ``(Ā (H, N, N), B̄ (H, N), C (H, N))`` complex128, with C = C̃ (I − Ā^L)⁻¹."""
        dt, Lam, P, B, Ct = (t.to(torch.complex128) for t in self._params())
        N = Lam.shape[-1]
        eye = torch.eye(N, dtype=torch.complex128)
        A = torch.diag_embed(Lam) - P[:, :, None] * P.conj()[:, None, :]  # (H, N, N)
        half = dt.real[:, None, None] / 2 * A
        left = torch.linalg.inv(eye - half)
        Abar = left @ (eye + half)
        Bbar = (left @ (dt[:, None] * B)[..., None])[..., 0]
        C = torch.linalg.solve((eye - torch.linalg.matrix_power(Abar, L)).mT, Ct[..., None])[..., 0]  # C (I − Ā^L)^{-1}
        return Abar, Bbar, C

    @torch.no_grad()
    def recurrent(self, u: torch.Tensor) -> torch.Tensor:
        """Recurrent mode x_k = Ā x_{k−1} + B̄ u_k, y_k = Re(C x_k) + D u_k (dense Ā; checks and generation)."""
        Abar, Bbar, C = self.dense(u.shape[1])
        x = torch.zeros(u.shape[0], *Bbar.shape, dtype=torch.complex128)  # (B, H, N)
        ys = []
        for k in range(u.shape[1]):
            x = (Abar @ x[..., None])[..., 0] + Bbar * u[:, k, :, None].double()
            ys.append((x * C).sum(-1).real)
        return torch.stack(ys, 1).float() + u * self.D  # (B, T, H)


class S5(nn.Module):
    """One MIMO diagonal SSM across all H channels, P complex modes (conjugates implied): (B, T, H) -> (B, T, H)."""

    def __init__(self, H: int, P: int = 32, *, dt_min: float = 1e-3, dt_max: float = 1e-1) -> None:
        super().__init__()
        Lam = s4d_init("legs", P)
        self.log_dt = _log_dt(P, dt_min, dt_max)
        self.Lam_re_log = nn.Parameter(torch.log(-Lam.real).float())
        self.Lam_im = nn.Parameter(Lam.imag.float())
        self.B = _cplx(torch.randn(P, H, dtype=torch.complex64) / math.sqrt(H))
        self.C = _cplx(torch.randn(H, P, dtype=torch.complex64) / math.sqrt(P))
        self.D = nn.Parameter(torch.randn(H))

    def discrete(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """ZOH ``(Ā (P,), B̄ (P, H), C (H, P))`` complex."""
        Lam = torch.complex(-torch.exp(self.Lam_re_log), self.Lam_im)
        dtA = torch.exp(self.log_dt) * Lam
        Abar = torch.exp(dtA)
        Bbar = ((Abar - 1) / Lam)[:, None] * torch.view_as_complex(self.B)
        return Abar, Bbar, torch.view_as_complex(self.C)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """Convolution mode: y = K * u with the (H, H, L) kernel, by FFT."""
        Abar, Bbar, C = self.discrete()
        T = u.shape[1]
        powers = torch.exp(torch.log(Abar)[:, None] * torch.arange(T)[None])  # (P, T) = Ā^k
        K = 2 * torch.einsum("op,pt,pi->oit", C, powers, Bbar).real  # (H_out, H_in, T)
        n = 2 * T
        U = torch.fft.rfft(u.transpose(1, 2), n=n)  # (B, T, H) -> (B, H, T) -> (B, H, n/2+1)
        Y = torch.einsum("bif,oif->bof", U, torch.fft.rfft(K, n=n))
        return torch.fft.irfft(Y, n=n)[..., :T].transpose(1, 2) + u * self.D  # (B, H, T) -> (B, T, H)

    @torch.no_grad()
    def recurrent(self, u: torch.Tensor) -> torch.Tensor:
        """Recurrent mode x_k = Ā ⊙ x_{k−1} + B̄ u_k, y_k = 2·Re(C x_k) + D u_k."""
        Abar, Bbar, C = self.discrete()
        x = torch.zeros(u.shape[0], Abar.shape[0], dtype=torch.complex64)  # (B, P)
        ys = []
        for k in range(u.shape[1]):
            x = Abar * x + u[:, k].to(torch.complex64) @ Bbar.T
            ys.append(2 * (x @ C.T).real)
        return torch.stack(ys, 1) + u * self.D  # (B, T, H)


# --- blocks and a model ----------------------------------------------------------------------


def make_ssm(kind: str, H: int, N: int, *, init: str = "lin", dt_min: float = 1e-3, dt_max: float = 1e-1) -> nn.Module:
    """``kind`` in s4 (DPLR), s4d (diagonal, ``init``), s5 (MIMO, state size N)."""
    if kind == "s4d":
        return S4D(H, N, init=init, dt_min=dt_min, dt_max=dt_max)
    if kind == "s4":
        return S4(H, N, dt_min=dt_min, dt_max=dt_max)
    if kind == "s5":
        return S5(H, N, dt_min=dt_min, dt_max=dt_max)
    raise ValueError(f"make_ssm: unknown kind {kind!r} (s4, s4d, s5)")


class SSMBlock(nn.Module):
    """x + Linear-GLU(GELU(SSM(LayerNorm x))): the S4 paper's residual block."""

    def __init__(self, H: int, N: int, kind: str, **ssm_kwargs) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(H)
        self.ssm = make_ssm(kind, H, N, **ssm_kwargs)
        self.out = nn.Linear(H, 2 * H)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, H) -> (B, T, H)."""
        return x + F.glu(self.out(F.gelu(self.ssm(self.norm(x)))), dim=-1)


class SSMModel(nn.Module):
    """Linear encoder, ``layers`` SSM blocks, LayerNorm, and a head on the last position (``pool="last"``) or the mean."""

    def __init__(self, d_in: int, d_out: int, H: int = 32, N: int = 32, layers: int = 2, *, kind: str = "s4d", pool: str = "last", **ssm_kwargs) -> None:
        super().__init__()
        self.encoder = nn.Linear(d_in, H)
        self.blocks = nn.ModuleList(SSMBlock(H, N, kind, **ssm_kwargs) for _ in range(layers))
        self.norm = nn.LayerNorm(H)
        self.head = nn.Linear(H, d_out)
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, d_in) -> (B, d_out)."""
        h = self.encoder(x)
        for block in self.blocks:
            h = block(h)
        h = self.norm(h)
        return self.head(h[:, -1] if self.pool == "last" else h.mean(1))


def ssm_param_groups(model: nn.Module, lr: float, ssm_lr: float, weight_decay: float = 0.0) -> list[dict]:
    """Optimiser groups: the SSM's A/Λ, Δ and P at ``ssm_lr`` without weight decay (as the S4 papers do), the rest at ``lr``."""
    special = ("log_dt", "A_re_log", "A_im", "Lam_re_log", "Lam_im", ".P")
    ssm, rest = [], []
    for name, p in model.named_parameters():
        (ssm if any(s in name for s in special) else rest).append(p)
    return [{"params": rest, "lr": lr, "weight_decay": weight_decay}, {"params": ssm, "lr": ssm_lr, "weight_decay": 0.0}]
