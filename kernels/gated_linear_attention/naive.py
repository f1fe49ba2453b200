"""Gated linear attention as a literal loop over time: the oracle for the other backends.

Shape legend (one layout for every op in ``kernels/``):

    B   batch      T   tokens      H   heads      K   key/query dim      V   value dim

    q              [B, T, H, K]   queries
    k              [B, T, H, K]   keys
    v              [B, T, H, V]   values
    g              [B, T, H, K]   log-decay, g ≤ 0 (the gate is α_t = exp(g_t) ∈ (0, 1])
    initial_state  [B, H, K, V]   optional state S_0
    o              [B, T, H, V]   outputs, dtype of v
    final_state    [B, H, K, V]   S_T, float32 (float64 for float64 inputs)

    S_t = diag(α_t) S_{t−1} + k_t v_tᵀ,      o_t = S_tᵀ (scale · q_t),  scale = K ** -0.5
"""

from __future__ import annotations

import torch


def naive_gated_linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    chunk_size: int = 64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Literal recurrence, one Python step per token; returns ``(o, final_state)``.

    ``chunk_size`` is accepted for a signature shared with the other backends and ignored.
    """
    del chunk_size
    B, T, H, K = q.shape
    V = v.shape[-1]
    out_dtype = v.dtype
    acc = torch.float64 if q.dtype == torch.float64 else torch.float32
    scale = K**-0.5 if scale is None else scale
    q, k, v, g = (x.to(acc) for x in (q, k, v, g))
    S = q.new_zeros(B, H, K, V) if initial_state is None else initial_state.to(acc)
    outputs = []
    for t in range(T):
        S = g[:, t].exp()[..., None] * S + k[:, t, :, :, None] * v[:, t, :, None, :]  # (B, H, K, V)
        outputs.append(torch.einsum("bhk,bhkv->bhv", q[:, t] * scale, S))
    o = torch.stack(outputs, dim=1) if outputs else v.new_zeros(B, 0, H, V)  # (B, T, H, V)
    return o.to(out_dtype), S
