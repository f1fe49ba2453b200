"""Benchmark inputs for selective_scan: Mamba-like values (S4D-real A, Δ in [1e-3, 1e-1], N = 16)."""

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
    """Keyword arguments for ``selective_scan`` with x ``[B, T, H, D]`` and a gate z (D = channels per head)."""
    g = torch.Generator().manual_seed(seed)
    N = D_STATE
    log_dt = torch.rand(B, T, H, D, generator=g) * (math.log(1e-1) - math.log(1e-3)) + math.log(1e-3)
    A = -torch.arange(1, N + 1, dtype=torch.float32).expand(H, D, N).contiguous()  # S4D-real init
    inputs = {
        "x": torch.randn(B, T, H, D, generator=g),
        "delta": log_dt.exp(),
        "A": A,
        "B": torch.randn(B, T, H, N, generator=g),
        "C": torch.randn(B, T, H, N, generator=g),
        "D": torch.randn(H, D, generator=g),
        "z": torch.randn(B, T, H, D, generator=g),
    }
    return {k: v.to(device=device, dtype=dtype).requires_grad_(requires_grad) for k, v in inputs.items()}
