"""Mamba (Gu & Dao 2023): the selective-SSM block, on the kernels' selective_scan, and a tiny LM.

Block (paper Fig. 3): in_proj → (x, z); x → causal depthwise conv1d → SiLU → S6; y ⊙ SiLU(z)
(the gate is fused into the kernel call) → out_proj. S6 per channel:

    Δ_t = softplus(W_Δ x_t + b),  B_t = W_B x_t,  C_t = W_C x_t,  A = −exp(A_log)
    h_t = exp(Δ_t A) ⊙ h_{t−1} + Δ_t B_t x_t,      y_t = C_t · h_t + D x_t

With ``selective=False`` Δ, B and C are parameters, the same at every position: a linear
time-invariant (S4D-real-like) SSM inside the same block, the paper's "S4 in the Mamba block"
baseline. ``backend`` is handed to :func:`kernels.selective_scan.selective_scan`.

Training-free knobs for length extrapolation (Stuffed Mamba, Chen et al. 2024), all off by
default: ``delta_scale`` multiplies Δ (forget more), ``window`` restarts the scan so that each
position sees only the last ``window``..``2·window − 1`` SSM inputs, and ``keep_state`` stores
the state after the last token in ``last_state``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from kernels.selective_scan import selective_scan


def _dt_bias(d_inner: int, dt_min: float, dt_max: float) -> torch.Tensor:
    """Bias b with softplus(b) log-uniform in [dt_min, dt_max] (Mamba's Δ initialisation)."""
    dt = torch.exp(torch.rand(d_inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)).clamp(min=1e-4)
    return dt + torch.log(-torch.expm1(-dt))  # inverse of softplus


class MambaBlock(nn.Module):
    """One Mamba mixer: (B, T, d_model) -> (B, T, d_model).

    Args:
        d_model: width.
        d_state: N, state size per channel.
        expand: d_inner = expand · d_model channels in the SSM.
        d_conv: width of the causal depthwise convolution.
        heads: kernel heads (d_inner channels split into ``heads`` groups of P); B and C are
            shared by every channel as in Mamba-1, so this only changes the kernel's layout.
        selective: True for S6 (input-dependent Δ, B, C); False for the LTI variant.
        backend: selective_scan backend ("naive", "chunk", "cpp", "triton" or None for automatic:
            Triton on CUDA, the compiled kernel on CPU).
        chunk_size: the kernel's chunk size.
        dt_min, dt_max: range of the initial Δ.

    Attributes set after construction (eval-time, training-free; defaults leave the block as is):
        delta_scale: Δ ← delta_scale · Δ before the scan (1.0: off).
        window: if > 0, a block-restart window: the sequence is cut into blocks of ``window``
            tokens and each block is scanned from a zero state at the start of the block before
            it, so the state at t holds only inputs from the last window..2·window − 1 tokens.
        keep_state: if True, ``last_state`` holds the (B, H, N, P) state after the last token
            (of the last window when ``window`` > 0).
    """

    def __init__(
        self,
        d_model: int,
        d_state: int = 16,
        expand: int = 2,
        d_conv: int = 4,
        *,
        heads: int = 1,
        selective: bool = True,
        backend: str | None = None,
        chunk_size: int = 32,
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
    ) -> None:
        super().__init__()
        d_inner = expand * d_model
        if d_inner % heads:
            raise ValueError(f"d_inner = {d_inner} is not divisible by heads = {heads}")
        self.d_inner, self.d_state, self.heads = d_inner, d_state, heads
        self.selective, self.backend, self.chunk_size = selective, backend, chunk_size
        self.dt_rank = math.ceil(d_model / 16)
        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=False)
        self.conv = nn.Conv1d(d_inner, d_inner, d_conv, groups=d_inner, padding=d_conv - 1)
        if selective:
            self.x_proj = nn.Linear(d_inner, self.dt_rank + 2 * d_state, bias=False)
            self.dt_proj = nn.Linear(self.dt_rank, d_inner)
            nn.init.uniform_(self.dt_proj.weight, -self.dt_rank**-0.5, self.dt_rank**-0.5)
            with torch.no_grad():
                self.dt_proj.bias.copy_(_dt_bias(d_inner, dt_min, dt_max))
        else:
            self.dt_bias = nn.Parameter(_dt_bias(d_inner, dt_min, dt_max))
            self.B = nn.Parameter(torch.randn(d_state) / math.sqrt(d_state))
            self.C = nn.Parameter(torch.randn(d_state) / math.sqrt(d_state))
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(d_inner, 1))
        self.D = nn.Parameter(torch.ones(d_inner))
        self.out_proj = nn.Linear(d_inner, d_model, bias=False)
        self.delta_scale, self.window, self.keep_state = 1.0, 0, False
        self.last_state: torch.Tensor | None = None

    def ssm_inputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Δ (B, T, d_inner) and B, C (B, T, N) for the conv-activated x (B, T, d_inner)."""
        batch, T, _ = x.shape
        if not self.selective:
            delta = F.softplus(self.dt_bias).expand(batch, T, -1)
            return delta, self.B.expand(batch, T, -1), self.C.expand(batch, T, -1)
        dt, Bt, Ct = self.x_proj(x).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        return F.softplus(self.dt_proj(dt)), Bt, Ct

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """(B, T, d_model) -> (B, T, d_model), causal."""
        batch, T, _ = u.shape
        H, P, N = self.heads, self.d_inner // self.heads, self.d_state
        x, z = self.in_proj(u).chunk(2, dim=-1)  # (B, T, d_inner) each
        x = self.conv(x.transpose(1, 2))[..., :T].transpose(1, 2)  # (B, T, d_inner) -> (B, d_inner, T) and back
        x = F.silu(x)
        delta, Bt, Ct = self.ssm_inputs(x)
        if self.delta_scale != 1.0:
            delta = delta * self.delta_scale
        # (B, T, d_inner) -> (B, T, H, P); (B, T, N) -> (B, T, H, N) shared by every head
        args = (
            x.reshape(batch, T, H, P),
            delta.reshape(batch, T, H, P),
            -torch.exp(self.A_log).view(H, P, N),  # (d_inner, N) -> (H, P, N)
            Bt[:, :, None].expand(batch, T, H, N),
            Ct[:, :, None].expand(batch, T, H, N),
        )
        if self.window and T > self.window:
            y = self._windowed_scan(*args, z.reshape(batch, T, H, P))
        else:
            y, state = selective_scan(
                *args, self.D.view(H, P), z.reshape(batch, T, H, P),
                output_final_state=self.keep_state, chunk_size=self.chunk_size, backend=self.backend,
            )
            if self.keep_state:
                self.last_state = state.detach()
        return self.out_proj(y.reshape(batch, T, self.d_inner))  # (B, T, H, P) -> (B, T, d_inner)

    def _windowed_scan(self, x, delta, A, Bt, Ct, z) -> torch.Tensor:
        """The scan restarted every ``window`` tokens with one block of warm-up; (B, T, H, P) out.

        Blocks k = 0..nb−1 of r tokens are scanned as windows [(k−1)r, (k+1)r) from a zero state
        (a zero-padded front block has Δ = 0: a no-op step); the second half of each is kept.
        """
        r, (batch, T, H, P) = self.window, x.shape
        nb = -(-T // r)

        def windows(t: torch.Tensor) -> torch.Tensor:
            t = F.pad(t, (0, 0, 0, 0, r, nb * r - T))  # (B, T, H, F) -> (B, (nb + 1)·r, H, F)
            t = t.unfold(1, 2 * r, r)  # -> (B, nb, H, F, 2r)
            return t.permute(0, 1, 4, 2, 3).reshape(batch * nb, 2 * r, H, t.shape[3])  # -> (B·nb, 2r, H, F)

        y, state = selective_scan(
            windows(x), windows(delta), A, windows(Bt), windows(Ct),
            output_final_state=self.keep_state, chunk_size=self.chunk_size, backend=self.backend,
        )
        if self.keep_state:
            self.last_state = state.view(batch, nb, *state.shape[1:])[:, -1].detach()  # (B·nb, H, N, P) -> last window's
        y = y.view(batch, nb, 2 * r, H, P)[:, :, r:].reshape(batch, nb * r, H, P)[:, :T]  # second halves, in order
        y = y + self.D.view(H, P) * x
        return y * F.silu(z)


class ResidualMamba(nn.Module):
    """x + MambaBlock(RMSNorm(x))."""

    def __init__(self, d_model: int, **block_kwargs) -> None:
        super().__init__()
        self.norm = nn.RMSNorm(d_model)
        self.mixer = MambaBlock(d_model, **block_kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mixer(self.norm(x))


class MambaLM(nn.Module):
    """Token embedding + ``n_layers`` residual Mamba blocks + RMSNorm + linear head.

    Args:
        vocab: input vocabulary size.
        d_model: width.
        n_layers: number of blocks.
        n_out: output classes per position (defaults to ``vocab``).
        **block_kwargs: passed to :class:`MambaBlock` (d_state, expand, d_conv, heads,
            selective, backend, chunk_size, dt_min, dt_max).
    """

    def __init__(self, vocab: int, d_model: int = 64, n_layers: int = 2, *, n_out: int | None = None, **block_kwargs) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.layers = nn.ModuleList(ResidualMamba(d_model, **block_kwargs) for _ in range(n_layers))
        self.norm_f = nn.RMSNorm(d_model)
        self.head = nn.Linear(d_model, n_out or vocab)

    def hidden(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) token ids -> (B, T, d_model) final hidden states."""
        x = self.embed(tokens)
        for layer in self.layers:
            x = layer(x)
        return self.norm_f(x)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) token ids -> (B, T, n_out) logits."""
        return self.head(self.hidden(tokens))
