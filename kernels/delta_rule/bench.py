"""Inputs for the shared kernel benchmark: ``make_inputs(B, T, H, D) -> kwargs`` for every backend."""

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
    n_householder: int = 1,
    allow_negative_eigenvalues: bool = False,
) -> dict:
    """Keyword arguments for ``delta_rule`` (and each backend): q, k (L2-normalised), v, beta.

    K = V = D. beta is a sigmoid in [0, 1] (times 2 with ``allow_negative_eigenvalues``), keys
    are unit vectors, so the state stays bounded at every length. ``n_householder`` > 1 gives
    DeltaProduct inputs (k, v, beta with T*n rows).
    """
    g = torch.Generator().manual_seed(seed)
    L = T * n_householder
    q = torch.randn(B, T, H, D, generator=g)
    k = torch.nn.functional.normalize(torch.randn(B, L, H, D, generator=g), dim=-1)
    v = torch.randn(B, L, H, D, generator=g)
    beta = torch.rand(B, L, H, generator=g) * (2.0 if allow_negative_eigenvalues else 1.0)
    out = {}
    for name, x in (("q", q), ("k", k), ("v", v), ("beta", beta)):
        out[name] = x.to(device=device, dtype=dtype).requires_grad_(requires_grad)
    if n_householder != 1:  # the default stays out, so every value is a tensor for n = 1
        out["n_householder"] = n_householder
    return out
