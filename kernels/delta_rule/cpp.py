"""Delta rule compiled for the CPU (``recurrence.cpp``): one pass over time per (batch, head) row
with its K × V state in cache, forward and backward.

At short lengths and small heads (the toy shapes of DeltaNet / DeltaProduct workloads) the chunked
WY form spends its time in small batched matmuls and triangular solves; the recurrence does
3·K·V multiply-adds per Householder step and K·V per output. The n steps of a token run in
place (no sub-token query padding). The forward keeps the state before every
``chunk_size // n``-th token; the backward recomputes a chunk's states from it and walks back.
Shapes as in :func:`naive_delta_rule`.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import torch

from kernels.cpu_build import entry, ptr

SOURCE = Path(__file__).with_name("recurrence.cpp")


def library() -> ctypes.CDLL:
    """The compiled delta rule (built on first use; raises CompilerUnavailable when it cannot be)."""
    from kernels.cpu_build import load_library

    return load_library(SOURCE)


def _dims(q: torch.Tensor, V: int, n: int, C: int, scale: float) -> list:
    B, T, H, K = q.shape
    return [ctypes.c_int64(x) for x in (B, T, H, K, V, n, C)] + [
        ctypes.c_double(scale), ctypes.c_int(torch.get_num_threads())]


class _CompiledDeltaRule(torch.autograd.Function):
    """(o, final state) of the delta rule; inputs already contiguous in the compute dtype."""

    @staticmethod
    def forward(ctx, q, k, v, beta, h0, scale, n, C):
        B, T, H, _ = q.shape
        V = v.shape[-1]
        o = torch.empty(B, T, H, V, dtype=q.dtype)
        state = q.new_zeros(B, H, q.shape[-1], V) if h0 is None else h0.clone()  # S_0 in, S_T out
        ck = torch.empty(B, H, -(-T // C), q.shape[-1], V, dtype=q.dtype)  # state before tokens 0, C, 2C, ...
        fwd = entry(SOURCE, "seqlab_delta_fwd", q.dtype)
        fwd(*map(ptr, (q, k, v, beta, o, state, ck)), *_dims(q, V, n, C, scale))
        ctx.save_for_backward(q, k, v, beta, ck)
        ctx.scale, ctx.n, ctx.C, ctx.has_h0 = scale, n, C, h0 is not None
        return o, state

    @staticmethod
    def backward(ctx, do, dST):
        q, k, v, beta, ck = ctx.saved_tensors
        B, T, H, K = q.shape
        V = v.shape[-1]
        do = q.new_zeros(B, T, H, V) if do is None else do.to(q.dtype).contiguous()
        g = q.new_zeros(B, H, K, V) if dST is None else dST.to(q.dtype).contiguous().clone()  # dS_T in, dS_0 out
        dq, dk, dv, dbeta = (torch.empty_like(x) for x in (q, k, v, beta))
        bwd = entry(SOURCE, "seqlab_delta_bwd", q.dtype)
        bwd(*map(ptr, (q, k, v, beta, ck, do, g, dq, dk, dv, dbeta)), *_dims(q, V, ctx.n, ctx.C, ctx.scale))
        return dq, dk, dv, dbeta, (g if ctx.has_h0 else None), None, None, None


def cpp_delta_rule(
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
    """Compiled delta rule; same signature and results as ``naive_delta_rule``.

    ``chunk_size`` counts Householder steps between the states kept for the backward (memory vs
    recompute). Computes in float64 for float64 inputs, else float32; CPU tensors only. Returns
    ``(o, final_state)``: o in v's dtype, the state in the compute dtype.
    """
    if q.device.type != "cpu":
        raise ValueError(f"cpp_delta_rule: tensors must be on the CPU, got {q.device}")
    acc = torch.float64 if q.dtype == torch.float64 else torch.float32
    K = q.shape[-1]
    scale = K**-0.5 if scale is None else float(scale)
    args = [x.to(acc).contiguous() for x in (q, k, v, beta)]
    h0 = None if initial_state is None else initial_state.to(acc).contiguous()
    C = max(1, chunk_size // n_householder)  # tokens between saved states
    o, state = _CompiledDeltaRule.apply(*args, h0, scale, n_householder, C)
    return o.to(v.dtype), state
