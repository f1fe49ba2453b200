"""Hydra (Hwang et al. 2024, "Hydra: Bidirectional State Space Models Through Generalized Matrix
Mixers") and the bidirectional baselines it is compared with, as one block with a ``mixer`` switch.

A sequence mixer is Y = M X. The causal SSD of Mamba-2 is a semiseparable M,
M_ij = C_iᵀ B_j ∏_{k=j+1..i} a_k (i ≥ j), with a_k = exp(Δ_k A) one scalar per head. Run here on
:func:`kernels.selective_scan.selective_scan` (SSD is S6 with Δ shared by a head's P channels
and one A per head). Mixers (``mixer=``):

* ``causal``: SS(X) + D ⊙ X, a Mamba-2 style causal mixer (the sanity baseline).
* ``add``: SS_f(X) + flip(SS_b(flip X)), two SSMs with their own Δ, B, C, each with a skip D.
* ``concat``: W [SS_f(X); flip(SS_b(flip X))], the two directions concatenated and projected.
* ``hydra``: the quasiseparable mixer QS(X) = shift(SS(X)) + flip(shift(SS(flip X))) + D(X) ⊙ X,
  B and C shared by the two directions, a Δ per direction, shift = one step (strictly lower and
  upper parts), and a data-dependent diagonal D(X) = W_D x + d (goombalab/hydra's
  ``hydra.py``).
* ``toeplitz``: a data-independent mixer, M_ij = t_{h, i−j} learned per head for |i − j| < T
  (a bidirectional long convolution), materialised as a (H, T, T) matrix.

Every SSD runs either on the kernel (``backend="scan"``) or, the fast CPU path at toy lengths, as
its materialised matrix (``backend="quadratic"``, :func:`ssd_quadratic`); the two agree to rounding.

Block (Mamba-2 / Hydra layout): in_proj → (z, x, B, C, Δ) ; depthwise conv over (x, B, C) (centred
for the bidirectional mixers, causal for ``causal``) → SiLU ; mixer ; ⊙ SiLU(z) ; RMSNorm ;
out_proj. B and C have one group shared by every head, as in Mamba-2's default.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from kernels.selective_scan import selective_scan

MIXERS = ("causal", "add", "concat", "hydra", "toeplitz")


def _dt_bias(n: int, dt_min: float = 1e-3, dt_max: float = 1e-1) -> torch.Tensor:
    """Bias b with softplus(b) log-uniform in [dt_min, dt_max]."""
    dt = torch.exp(torch.rand(n) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)).clamp(min=1e-4)
    return dt + torch.log(-torch.expm1(-dt))  # inverse of softplus


def ssd(x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor, chunk_size: int = 32,
        backend: str = "scan") -> torch.Tensor:
    """Causal SSD y_i = Σ_{j ≤ i} C_iᵀ B_j ∏_{k=j+1..i} exp(Δ_k A_h) Δ_j x_j through selective_scan.

    x (B, T, H, P); dt (B, T, H) > 0; A (H,) < 0; B, C (B, T, N), one group for every head.
    Returns (B, T, H, P). ``backend="quadratic"`` uses :func:`ssd_quadratic` instead of the kernel.
    """
    if backend == "quadratic":
        return ssd_quadratic(x, dt, A, B, C)
    if backend != "scan":
        raise ValueError(f"ssd: unknown backend {backend!r} (scan, quadratic)")
    batch, T, H, P = x.shape
    N = B.shape[-1]
    y, _ = selective_scan(
        x,
        dt[..., None].expand(batch, T, H, P),  # one Δ per head: (B, T, H) -> (B, T, H, P)
        A[:, None, None].expand(H, P, N),  # one decay per head: (H,) -> (H, P, N)
        B[:, :, None].expand(batch, T, H, N),  # (B, T, N) -> (B, T, H, N)
        C[:, :, None].expand(batch, T, H, N),
        chunk_size=chunk_size,
    )
    return y


def ssd_quadratic(x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """The same causal SSD as :func:`ssd`, by materialising M per head (Mamba-2's quadratic form).

    M_ij = C_iᵀB_j · exp(Σ_{k=j+1..i} Δ_k A_h) · Δ_j for i ≥ j, from cumulative log-decays (exact).
    O(T²) memory per head; at the toy's T ≤ 128 it is 5-8x faster on CPU than the chunked scan,
    whose Mamba-1 form cannot use matmuls (see README). Shapes as :func:`ssd`.
    """
    T = x.shape[1]
    logdecay = (dt * A).cumsum(1)  # (B, T, H)
    seg = logdecay[:, :, None] - logdecay[:, None]  # (B, T, T, H): Σ_{k=j+1..i} Δ_k A at [i, j]
    causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()[None, :, :, None]
    decay = torch.exp(seg.masked_fill(~causal, float("-inf")))  # 0 above the diagonal
    M = torch.einsum("bin,bjn->bij", C, B)[..., None] * decay * dt[:, None]  # (B, T, T, H)
    return torch.einsum("bijh,bjhp->bihp", M, x)


def shift_right(y: torch.Tensor) -> torch.Tensor:
    """y'_t = y_{t−1}, y'_0 = 0 along dim 1: makes the SSD's matrix strictly lower triangular."""
    return F.pad(y[:, :-1], (0, 0, 0, 0, 1, 0))  # (B, T−1, H, P) -> (B, T, H, P)


class MixerBlock(nn.Module):
    """One matrix-mixer block: (B, T, d_model) -> (B, T, d_model).

    Args:
        d_model: width. mixer: one of :data:`MIXERS`.
        d_state: N, SSD state size. expand: d_inner = expand · d_model. headdim: P channels per head.
        d_conv: width of the depthwise convolution. seq_len: the longest T (``toeplitz`` only).
        chunk_size: the kernel's chunk size. backend: ``"scan"`` (:func:`kernels.selective_scan.selective_scan`,
            its automatic backend: the compiled kernel on CPU, Triton on CUDA) or ``"quadratic"`` (:func:`ssd_quadratic`).
    """

    def __init__(self, d_model: int, mixer: str = "hydra", *, d_state: int = 16, expand: int = 2, headdim: int = 16,
                 d_conv: int = 3, seq_len: int = 64, chunk_size: int = 16, backend: str = "scan") -> None:
        super().__init__()
        if mixer not in MIXERS:
            raise ValueError(f"MixerBlock: unknown mixer {mixer!r} ({', '.join(MIXERS)})")
        d_inner = expand * d_model
        if d_inner % headdim:
            raise ValueError(f"d_inner = {d_inner} is not divisible by headdim = {headdim}")
        self.mixer, self.d_inner, self.N, self.P, self.H = mixer, d_inner, d_state, headdim, d_inner // headdim
        self.chunk_size, self.d_conv, self.backend = chunk_size, d_conv, backend
        n_dirs = 2 if mixer in ("add", "concat") else 1  # separate B, C per direction
        n_dt = {"causal": 1, "toeplitz": 0}.get(mixer, 2)
        self.n_bc = 0 if mixer == "toeplitz" else 2 * d_state * n_dirs
        self.in_proj = nn.Linear(d_model, 2 * d_inner + self.n_bc + n_dt * self.H, bias=False)
        conv_ch = d_inner + self.n_bc
        self.conv = nn.Conv1d(conv_ch, conv_ch, d_conv, groups=conv_ch, padding=0)
        if n_dt:
            self.dt_bias = nn.Parameter(_dt_bias(n_dt * self.H))
            n_A = self.H if mixer == "hydra" else n_dt * self.H  # Hydra shares A between directions
            self.A_log = nn.Parameter(torch.log(torch.rand(n_A) * 15 + 1))  # A in −[1, 16], Mamba-2's range
        self.D = nn.Parameter(torch.ones(2 if mixer == "add" else 1, self.H))
        if mixer == "hydra":
            self.fc_D = nn.Linear(d_inner, self.H, bias=False)  # the data-dependent diagonal D(X)
        if mixer == "concat":
            self.merge = nn.Linear(2 * d_inner, d_inner, bias=False)
        if mixer == "toeplitz":
            self.toeplitz = nn.Parameter(torch.randn(self.H, 2 * seq_len - 1) / math.sqrt(seq_len))
        self.norm = nn.RMSNorm(d_inner)
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)

    def _conv(self, xbc: torch.Tensor) -> torch.Tensor:
        """Depthwise conv over time, centred (bidirectional) or causal: (B, T, C) -> (B, T, C)."""
        left = self.d_conv - 1 if self.mixer == "causal" else (self.d_conv - 1) // 2
        padded = F.pad(xbc.transpose(1, 2), (left, self.d_conv - 1 - left))  # (B, T, C) -> (B, C, T + d_conv − 1)
        return F.silu(self.conv(padded).transpose(1, 2))  # (B, C, T) -> (B, T, C)

    def matrix(self, T: int) -> torch.Tensor:
        """The Toeplitz mixer's (H, T, T) matrix M_ij = t_{i−j}."""
        idx = torch.arange(T)
        L = (self.toeplitz.shape[1] + 1) // 2
        return self.toeplitz[:, idx[:, None] - idx[None, :] + L - 1]  # (H, T, T)

    def mix(self, x: torch.Tensor, bc: torch.Tensor, dt_raw: torch.Tensor) -> torch.Tensor:
        """The sequence mixer alone: x (B, T, H, P), bc (B, T, n_bc), Δ logits (B, T, n_dt·H) -> (B, T, H, P)."""
        H, N = self.H, self.N
        if self.mixer == "toeplitz":
            return torch.einsum("hij,bjhp->bihp", self.matrix(x.shape[1]), x) + self.D[0][:, None] * x
        dt = F.softplus(dt_raw + self.dt_bias)
        A = -torch.exp(self.A_log)
        flip = lambda t: t.flip(1)  # noqa: E731  (reverse time)
        if self.mixer == "causal":
            B, C = bc.split(N, dim=-1)
            return ssd(x, dt, A, B, C, self.chunk_size, self.backend) + self.D[0][:, None] * x
        if self.mixer == "hydra":
            B, C = bc.split(N, dim=-1)
            # both directions in one scan: the batch holds x and flip(x), Δ per direction, A shared
            y = ssd(
                torch.cat([x, flip(x)]), torch.cat([dt[..., :H], flip(dt[..., H:])]),
                A, torch.cat([B, flip(B)]), torch.cat([C, flip(C)]), self.chunk_size, self.backend,
            )  # (2B, T, H, P)
            y_f, y_b = shift_right(y).chunk(2)
            diag = self.fc_D(x.flatten(2)) + self.D[0]  # (B, T, H): D(X)
            return y_f + flip(y_b) + diag[..., None] * x
        Bf, Cf, Bb, Cb = bc.split(N, dim=-1)
        y_f = ssd(x, dt[..., :H], A[:H], Bf, Cf, self.chunk_size, self.backend) + self.D[0][:, None] * x
        y_b = flip(ssd(flip(x), flip(dt[..., H:]), A[H:], flip(Bb), flip(Cb), self.chunk_size, self.backend)) + self.D[-1][:, None] * x
        if self.mixer == "add":
            return y_f + y_b
        both = torch.cat([y_f, y_b], dim=-1).flatten(2)  # (B, T, H, 2P) -> (B, T, H·2P)
        return self.merge(both).view_as(x)  # (B, T, d_inner) -> (B, T, H, P)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """(B, T, d_model) -> (B, T, d_model)."""
        batch, T, _ = u.shape
        z, xbc, dt_raw = self.in_proj(u).split([self.d_inner, self.d_inner + self.n_bc, self.in_proj.out_features - 2 * self.d_inner - self.n_bc], dim=-1)
        xbc = self._conv(xbc)
        x, bc = xbc.split([self.d_inner, self.n_bc], dim=-1)
        y = self.mix(x.reshape(batch, T, self.H, self.P), bc, dt_raw)  # (B, T, d_inner) -> (B, T, H, P)
        y = y.reshape(batch, T, self.d_inner) * F.silu(z)  # (B, T, H, P) -> (B, T, d_inner)
        return self.out_proj(self.norm(y))


class MixerModel(nn.Module):
    """Embedding, ``n_layers`` pre-norm residual :class:`MixerBlock` s, RMSNorm, per-position head: (B, T) -> (B, T, n_out)."""

    def __init__(self, vocab: int, n_out: int, d_model: int = 32, n_layers: int = 2, **block_kwargs) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.norms = nn.ModuleList(nn.RMSNorm(d_model) for _ in range(n_layers))
        self.blocks = nn.ModuleList(MixerBlock(d_model, **block_kwargs) for _ in range(n_layers))
        self.norm_f = nn.RMSNorm(d_model)
        self.head = nn.Linear(d_model, n_out)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) token ids -> (B, T, n_out) logits."""
        h = self.embed(tokens)
        for norm, block in zip(self.norms, self.blocks):
            h = h + block(norm(h))
        return self.head(self.norm_f(h))
