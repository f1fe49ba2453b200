"""Chunked gated linear attention with a numerically safe cumulative log-decay: the CPU path.

Inside a chunk, b_i = g_1 + … + g_i (≤ 0, decreasing). The textbook factorisation
(q_i e^{b_i})·(k_j e^{−b_j}) overflows once −b_j passes ~88 in float32 (a strong gate over a
long chunk). Every exponent used here is ≤ 0 instead:

* inter-chunk:   o_i += (q_i ⊙ e^{b_i}) S0,     S1 = e^{b_C} ⊙ S0 + Σ_j (k_j ⊙ e^{b_C − b_j}) v_jᵀ
* intra-chunk, by recursive halving (fla's GLA uses one level of such secondary chunking
  and a pairwise diagonal; halving all the way down avoids the pairwise [C, C, K] tensor):
  for the rows of an upper half against the columns of its lower half, a reference r = b at
  the first upper row sits between them, so (q_i e^{b_i − r})·(k_j e^{r − b_j}) has both
  factors ≤ 1. Blocks of one row are plain q_i·k_i. log2(C) levels, each O(T K) work.

The chunk states are a short loop (one multiply-add per chunk); everything else is batched
over all chunks; autograd differentiates it. Layout as in ``naive.py``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _intra_chunk_scores(q: torch.Tensor, k: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """A_ij = Σ_k q_ik k_jk e^{b_ik − b_jk} for j ≤ i (0 above), with every exponent ≤ 0.

    Halves the block recursively (both halves batched together): rows of the upper half
    against columns of the lower half use the reference r = b at the first upper row, so
    q e^{b − r} and k e^{r − b} are both ≤ 1; blocks of one row are just q_i · k_i.
    ``q, k, b``: ``(..., n, K)`` with n a power of two; returns ``(..., n, n)``.
    """
    n = q.shape[-2]
    if n == 1:
        return (q * k).sum(-1, keepdim=True)  # (..., 1, K) -> (..., 1, 1)
    m = n // 2
    r = b[..., m : m + 1, :]  # (..., 1, K), first row of the upper half
    q_r = q[..., m:, :] * (b[..., m:, :] - r).exp()  # (..., m, K), exponent ≤ 0
    k_r = k[..., :m, :] * (r - b[..., :m, :]).exp()  # (..., m, K), exponent ≤ 0
    if m >= 8:
        off = q_r @ k_r.transpose(-1, -2)  # (..., m, m)
    else:  # tiny blocks: a broadcast product beats millions of tiny matmuls
        off = (q_r[..., :, None, :] * k_r[..., None, :, :]).sum(-1)
    halves = [x.reshape(*x.shape[:-2], 2, m, x.shape[-1]) for x in (q, k, b)]  # (..., n, K) -> (..., 2, m, K)
    diag = _intra_chunk_scores(*halves)  # (..., 2, m, m)
    upper = torch.cat([diag[..., 0, :, :], torch.zeros_like(off)], dim=-1)  # (..., m, n)
    lower = torch.cat([off, diag[..., 1, :, :]], dim=-1)  # (..., m, n)
    return torch.cat([upper, lower], dim=-2)  # (..., n, n)


def chunk_gated_linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    chunk_size: int = 64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Chunk-parallel GLA; same signature and results as ``naive_gated_linear_attention``."""
    B, T, H, K = q.shape
    V = v.shape[-1]
    out_dtype = v.dtype
    acc = torch.float64 if q.dtype == torch.float64 else torch.float32
    scale = K**-0.5 if scale is None else scale
    q, k, v, g = q.to(acc) * scale, k.to(acc), v.to(acc), g.to(acc)
    C = chunk_size
    NC = -(-T // C)
    pad = NC * C - T
    if pad:  # padded rows: k = v = 0 adds nothing, g = 0 decays nothing
        q, k, v, g = (F.pad(x, (0, 0, 0, 0, 0, pad)) for x in (q, k, v, g))
    # (B, NC*C, H, D) -> (B, H, NC, C, D)
    q, k, v, g = (x.reshape(B, NC, C, H, -1).permute(0, 3, 1, 2, 4) for x in (q, k, v, g))
    b = g.cumsum(dim=-2)  # (B, H, NC, C, K), within-chunk cumulative log-decay
    b_last = b[..., -1:, :]  # (B, H, NC, 1, K)

    # inter-chunk: state recurrence over chunks (a multiply-add each)
    k_to_end = k * (b_last - b).exp()  # (B, H, NC, C, K), exponent ≤ 0
    contrib = k_to_end.transpose(-1, -2) @ v  # (B, H, NC, K, V)
    decay = b_last.squeeze(-2).exp()[..., None]  # (B, H, NC, K, 1)
    S = q.new_zeros(B, H, K, V) if initial_state is None else initial_state.to(acc)
    starts = []
    # unbind, not indexing in the loop: the backward of x[:, :, i] allocates a full-size zero
    # tensor per chunk (quadratic in the number of chunks); unbind's backward is one stack
    for decay_i, contrib_i in zip(decay.unbind(2), contrib.unbind(2)):
        starts.append(S)
        S = decay_i * S + contrib_i
    S0 = torch.stack(starts, dim=2)  # (B, H, NC, K, V)
    o = (q * b.exp()) @ S0  # (B, H, NC, C, V)

    A = _intra_chunk_scores(q, k, b)  # (B, H, NC, C, C)
    o = o + A @ v
    o = o.permute(0, 2, 3, 1, 4).reshape(B, NC * C, H, V)[:, :T]  # (B, H, NC, C, V) -> (B, T, H, V)
    return o.to(out_dtype), S
