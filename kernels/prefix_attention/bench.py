"""Benchmark inputs for prefix_attention: one query per head, K = V = D."""

from __future__ import annotations

import torch


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
    """Keyword arguments for ``prefix_attention``: q ``[B, H, D]``, k and v ``[B, T, H, D]``."""
    g = torch.Generator().manual_seed(seed)
    inputs = {
        "q": torch.randn(B, H, D, generator=g),
        "k": torch.randn(B, T, H, D, generator=g),
        "v": torch.randn(B, T, H, D, generator=g),
    }
    return {k: v.to(device=device, dtype=dtype).requires_grad_(requires_grad) for k, v in inputs.items()}
