"""Chunked delta rule in the WY / UT representation: the CPU path, differentiated by autograd.

Within a chunk of C steps starting from state S0, the delta rule's "new values"
u_i = β_i (v_i − Sᵀ_{i-1} k_i) satisfy (I + A) U' = diag(β)(V − K S0) with the strictly lower
A_ij = β_i k_iᵀk_j. With the UT transform Tm = (I + A)^{-1}:

    W = Tm diag(β) K,   U = Tm diag(β) V          (the WY factors, all chunks at once)
    U' = U − W S0                                  (one small matmul per chunk, sequential)
    O  = Q S0 + tril(Q Kᵀ) U'                      (tril keeps the diagonal)
    S1 = S0 + Kᵀ U'

Only the last three lines run chunk by chunk; everything else is batched over all chunks.
Layout as in ``naive.py``; DeltaProduct (n > 1) runs through ``product.expand_queries``.
"""

from __future__ import annotations

import torch

from kernels.delta_rule.product import expand_queries, select_outputs


def chunk_delta_rule(
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
    """Chunk-parallel delta rule (WY/UT form); same signature and results as ``naive_delta_rule``.

    ``chunk_size`` counts Householder steps (sub-tokens), not tokens. Computes in float32
    (float64 for float64 inputs); returns ``(o, final_state)``.
    """
    B, T, H, K = q.shape
    V = v.shape[-1]
    n = n_householder
    out_dtype = v.dtype
    acc = torch.float64 if q.dtype == torch.float64 else torch.float32
    scale = K**-0.5 if scale is None else scale
    q = expand_queries(q.to(acc) * scale, n)  # (B, T*n, H, K)
    k, v, beta = k.to(acc), v.to(acc), beta.to(acc)
    L, C = T * n, chunk_size
    NC = -(-L // C)
    pad = NC * C - L
    if pad:  # zero rows (β = 0, k = 0) leave the state untouched
        q, k, v = (torch.nn.functional.pad(x, (0, 0, 0, 0, 0, pad)) for x in (q, k, v))
        beta = torch.nn.functional.pad(beta, (0, 0, 0, pad))
    # (B, NC*C, H, D) -> (B, H, NC, C, D)
    q, k, v = (x.reshape(B, NC, C, H, -1).permute(0, 3, 1, 2, 4) for x in (q, k, v))
    beta = beta.reshape(B, NC, C, H).permute(0, 3, 1, 2)  # (B, NC*C, H) -> (B, H, NC, C)

    kb = k * beta[..., None]
    A = (kb @ k.transpose(-1, -2)).tril(-1)  # (B, H, NC, C, C), A_ij = β_i k_i·k_j for i > j
    rhs = torch.cat([kb, v * beta[..., None]], dim=-1)  # (B, H, NC, C, K+V)
    WU = torch.linalg.solve_triangular(A, rhs, upper=False, unitriangular=True)  # (I + A)^{-1} rhs
    W, U = WU.split([K, V], dim=-1)
    causal = torch.ones(C, C, dtype=torch.bool, device=q.device).tril()
    attn = (q @ k.transpose(-1, -2)).masked_fill(~causal, 0.0)  # (B, H, NC, C, C)

    S = q.new_zeros(B, H, K, V) if initial_state is None else initial_state.to(acc)
    outs = []
    # unbind, not x[:, :, c] in the loop: indexing's backward allocates a full-size zero tensor
    # per chunk (quadratic in the number of chunks); unbind's backward is one stack
    for q_c, k_c, W_c, U_c, attn_c in zip(*(x.unbind(2) for x in (q, k, W, U, attn))):
        u = U_c - W_c @ S  # (B, H, C, V): the chunk's new values
        outs.append(q_c @ S + attn_c @ u)
        S = S + k_c.transpose(-1, -2) @ u
    o = torch.stack(outs, dim=2)  # (B, H, NC, C, V)
    o = o.permute(0, 2, 3, 1, 4).reshape(B, NC * C, H, V)[:, :L]  # (B, H, NC, C, V) -> (B, L, H, V)
    return select_outputs(o, n).to(out_dtype), S
