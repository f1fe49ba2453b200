"""DeltaProduct's n Householder steps per token as n sub-tokens of an n = 1 delta rule.

Keys, values and betas already arrive interleaved, ``[B, T*n, H, D]`` with token t owning rows
t*n .. t*n+n-1. Queries get the same length by putting q_t on the token's LAST sub-row and
zeros on the others; the n = 1 rule then runs over T*n steps and the output is read every n-th
step (rows n-1, 2n-1, ...), which is exactly o_t = Sᵀ q_t after the token's n steps. The extra
rows cost about (n-1)/n of the output work, which the chunked and Triton paths accept for the
sake of one kernel.
"""

from __future__ import annotations

import torch


def expand_queries(q: torch.Tensor, n: int) -> torch.Tensor:
    """``[B, T, H, K]`` queries -> ``[B, T*n, H, K]`` with q_t on row t*n+n-1 and zeros elsewhere."""
    if n == 1:
        return q
    B, T, H, K = q.shape
    q_sub = q.new_zeros(B, T, n, H, K)
    q_sub[:, :, -1] = q
    return q_sub.reshape(B, T * n, H, K)  # (B, T, n, H, K) -> (B, T*n, H, K)


def select_outputs(o: torch.Tensor, n: int) -> torch.Tensor:
    """``[B, T*n, H, V]`` sub-token outputs -> ``[B, T, H, V]``, keeping every n-th (the last) row."""
    if n == 1:
        return o
    B, L, H, V = o.shape
    return o.reshape(B, L // n, n, H, V)[:, :, -1]  # (B, T*n, H, V) -> (B, T, n, H, V) -> (B, T, H, V)
