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
    gate_normalizer: float = 16.0,
) -> dict:
    """Keyword arguments for ``gated_linear_attention`` (and each backend): q, k, v, g.

    K = V = D. ``g = logsigmoid(x) / gate_normalizer`` as in GLA (fla's default normaliser
    is 16), so the decay per step is close to 1 and the state carries over many chunks.
    """
    gen = torch.Generator().manual_seed(seed)
    q, k, v = (torch.randn(B, T, H, D, generator=gen) for _ in range(3))
    g = torch.nn.functional.logsigmoid(torch.randn(B, T, H, D, generator=gen)) / gate_normalizer
    return {
        name: x.to(device=device, dtype=dtype).requires_grad_(requires_grad)
        for name, x in (("q", q), ("k", k), ("v", v), ("g", g))
    }


def random_case(
    B: int,
    T: int,
    H: int,
    K: int,
    V: int,
    *,
    gate_scale: float = 1.0,
    with_h0: bool = False,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
) -> dict:
    """Leaf inputs that require grad, for the tests: q, k [B, T, H, K], v [B, T, H, V],
    g = gate_scale · logsigmoid(x) (larger = stronger decay), and initial_state [B, H, K, V]
    when ``with_h0``."""
    gen = torch.Generator().manual_seed(seed)
    xs = {
        "q": torch.randn(B, T, H, K, generator=gen),
        "k": torch.randn(B, T, H, K, generator=gen),
        "v": torch.randn(B, T, H, V, generator=gen),
        "g": gate_scale * torch.nn.functional.logsigmoid(torch.randn(B, T, H, K, generator=gen)),
    }
    if with_h0:
        xs["initial_state"] = torch.randn(B, H, K, V, generator=gen)
    return {name: x.to(dtype).requires_grad_() for name, x in xs.items()}
