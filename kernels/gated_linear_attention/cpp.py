"""Gated linear attention compiled for the CPU (``recurrence.cpp``): one pass over time per
(batch, head) row with its K × V state held in cache, forward and backward.

The forward keeps the state before every ``chunk_size``-th token; the backward recomputes a
chunk's states from it into a (chunk + 1) × K × V buffer and walks back carrying dL/dS:

    dS += q̃_t do_tᵀ,  dq̃_t = S_t do_t,  dk_t = dS v_t,  dv_t = dSᵀ k_t,
    dg_t = α_t ⊙ rowsum(dS ⊙ S_{t−1}),  dS ← diag(α_t) dS            (q̃ = scale · q)

Memory: O(T/chunk · K · V) per row beyond the inputs. Shapes as in :func:`naive_gated_linear_attention`.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import torch

from kernels.cpu_build import entry, ptr

SOURCE = Path(__file__).with_name("recurrence.cpp")


def library() -> ctypes.CDLL:
    """The compiled recurrence (built on first use; raises CompilerUnavailable when it cannot be)."""
    from kernels.cpu_build import load_library

    return load_library(SOURCE)


def _dims(v: torch.Tensor, K: int, scale: float, C: int) -> list:
    batch, T, H, V = v.shape
    return [ctypes.c_double(scale)] + [ctypes.c_int64(x) for x in (batch, T, H, K, V, C)] + [
        ctypes.c_int(torch.get_num_threads())
    ]


class _CompiledGLA(torch.autograd.Function):
    """(o, S_T) from contiguous q, k, v, g (and S_0) of one dtype, float32 or float64."""

    @staticmethod
    def forward(ctx, q, k, v, g, h0, scale, C):
        batch, T, H, K = q.shape
        V = v.shape[-1]
        o = torch.empty_like(v)
        state = q.new_zeros(batch, H, K, V) if h0 is None else h0.clone()  # S_0 in, S_T out
        ck = torch.empty(batch, H, -(-T // C), K, V, dtype=q.dtype)  # state before tokens 0, C, 2C, ...
        fwd = entry(SOURCE, "seqlab_gla_fwd", q.dtype)
        fwd(*map(ptr, (q, k, v, g, o, state, ck)), *_dims(v, K, scale, C))
        ctx.save_for_backward(q, k, v, g, ck)
        ctx.scale, ctx.C, ctx.has_h0 = scale, C, h0 is not None
        return o, state

    @staticmethod
    def backward(ctx, do, dST):
        q, k, v, g, ck = ctx.saved_tensors
        batch, T, H, K = q.shape
        V = v.shape[-1]
        do = torch.zeros_like(v) if do is None else do.contiguous()
        dS = q.new_zeros(batch, H, K, V) if dST is None else dST.contiguous().clone()  # dL/dS_T in, dL/dS_0 out
        dq, dk, dg = torch.empty_like(q), torch.empty_like(k), torch.empty_like(g)
        dv = torch.empty_like(v)
        bwd = entry(SOURCE, "seqlab_gla_bwd", q.dtype)
        bwd(*map(ptr, (q, k, v, g, ck, do, dS, dq, dk, dv, dg)), *_dims(v, K, ctx.scale, ctx.C))
        return dq, dk, dv, dg, (dS if ctx.has_h0 else None), None, None


def cpp_gated_linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    chunk_size: int = 64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """GLA by the compiled CPU kernel; same signature and results as ``naive_gated_linear_attention``.

    ``chunk_size`` is the spacing of the states kept for the backward (memory vs recompute).
    Computes in float64 when q is float64, else float32; returns o in v's dtype and the final
    state in the compute dtype. CPU tensors only.
    """
    named = {"q": q, "k": k, "v": v, "g": g, "initial_state": initial_state}
    for name, x in named.items():
        if x is not None and x.device.type != "cpu":
            raise ValueError(f"cpp_gated_linear_attention: tensors must be on the CPU, got {name} on {x.device}")
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"cpp_gated_linear_attention: chunk_size must be a positive int, got {chunk_size!r}")
    dtype = torch.float64 if q.dtype == torch.float64 else torch.float32
    scale = q.shape[-1] ** -0.5 if scale is None else float(scale)
    cast = [x.to(dtype).contiguous() for x in (q, k, v, g)]
    h0 = None if initial_state is None else initial_state.to(dtype).contiguous()
    o, state = _CompiledGLA.apply(*cast, h0, scale, chunk_size)
    return o.to(v.dtype), state
