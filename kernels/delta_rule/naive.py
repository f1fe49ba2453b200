"""The delta rule as a literal loop over time: the oracle every other backend is checked against.

Shape legend (one layout for every op in ``kernels/``):

    B   batch            T   tokens            H   heads
    K   key/query dim    V   value dim         n   Householder steps per token (n_householder)

    q              [B, T,   H, K]   queries (one per token)
    k              [B, T*n, H, K]   keys, L2-normalised; token t owns rows t*n .. t*n+n-1
    v              [B, T*n, H, V]   values, same interleaving as k
    beta           [B, T*n, H]      step sizes in [0, 1] (or [0, 2]: negative eigenvalues)
    initial_state  [B, H, K, V]     optional state S_0
    o              [B, T,   H, V]   outputs, dtype of v
    final_state    [B, H, K, V]     S_T, float32 (float64 for float64 inputs)

Per token t, for j = 0 .. n-1 (DeltaNet is n = 1, DeltaProduct n > 1):

    S ← (I − β k kᵀ) S + β k vᵀ   with (k, v, β) the token's j-th triple,

then o_t = Sᵀ (scale · q_t), scale defaulting to K ** -0.5.
"""

from __future__ import annotations

import torch


def naive_delta_rule(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    beta: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    n_householder: int = 1,
    chunk_size: int = 64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Literal recurrence, one Python step per Householder step; returns ``(o, final_state)``.

    ``chunk_size`` is accepted for a signature shared with the other backends and ignored.
    Computes in float32 (float64 when the inputs are float64).
    """
    del chunk_size
    B, T, H, K = q.shape
    V = v.shape[-1]
    n = n_householder
    out_dtype = v.dtype
    acc = torch.float64 if q.dtype == torch.float64 else torch.float32
    scale = K**-0.5 if scale is None else scale
    q, k, v, beta = (x.to(acc) for x in (q, k, v, beta))
    if initial_state is None:
        S = q.new_zeros(B, H, K, V)
    else:
        S = initial_state.to(acc)
    outputs = []
    for t in range(T):
        for j in range(n):
            i = t * n + j
            k_i, v_i, b_i = k[:, i], v[:, i], beta[:, i, :, None]  # (B, H, K), (B, H, V), (B, H, 1)
            v_old = torch.einsum("bhk,bhkv->bhv", k_i, S)  # what S currently recalls for k_i
            # (I − β k kᵀ) S + β k vᵀ  ==  S + k (β (v − Sᵀk))ᵀ
            S = S + k_i[..., :, None] * (b_i * (v_i - v_old))[..., None, :]
        outputs.append(torch.einsum("bhk,bhkv->bhv", q[:, t] * scale, S))
    o = torch.stack(outputs, dim=1) if outputs else v.new_zeros(B, 0, H, V)  # (B, T, H, V)
    return o.to(out_dtype), S
