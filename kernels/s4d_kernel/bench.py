"""Benchmark inputs for s4d_kernel: S4D-Lin A, B = 1, random complex C, Δ in [1e-3, 1e-1], N = 16."""

from __future__ import annotations

import math

import torch

D_STATE = 16


def make_inputs(
    B: int,
    T: int,
    H: int,
    D: int,
    *,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
    requires_grad: bool = True,
    seed: int = 0,
) -> dict:
    """Keyword arguments for ``s4d_kernel`` with u ``[B, T, H, D]``; complex tensors follow ``dtype``'s precision."""
    g = torch.Generator().manual_seed(seed)
    N = D_STATE
    cplx = torch.complex128 if dtype == torch.float64 else torch.complex64
    log_dt = torch.rand(H, D, generator=g) * (math.log(1e-1) - math.log(1e-3)) + math.log(1e-3)
    A = torch.complex(torch.full((H, D, N), -0.5), math.pi * torch.arange(N, dtype=torch.float32).expand(H, D, N))
    C = torch.complex(torch.randn(H, D, N, generator=g), torch.randn(H, D, N, generator=g)) * math.sqrt(0.5)
    inputs = {
        "u": torch.randn(B, T, H, D, generator=g).to(dtype),
        "dt": log_dt.exp().to(dtype),
        "A": A.to(cplx),
        "B": torch.ones(H, D, N, dtype=cplx),
        "C": C.to(cplx),
        "D": torch.randn(H, D, generator=g).to(dtype),
    }
    return {k: v.to(device).requires_grad_(requires_grad) for k, v in inputs.items()}
