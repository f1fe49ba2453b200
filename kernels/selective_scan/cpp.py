"""Selective scan compiled for the CPU (``scan.cpp``): one pass over time per (batch, head) row
with its N × P state held in cache, forward and backward.

The PyTorch chunk path does the same O(T·N·P) elementwise work but in about 25 full-size passes
over memory; here each token touches its state once forward and twice backward (recompute, then
reverse). The forward keeps the state before every ``chunk_size``-th token; the backward
recomputes a chunk's states from it into a (chunk + 1) × N × P buffer and walks back. Memory:
O(T/chunk · N · P) per row beyond the inputs. Shapes as in :func:`naive_selective_scan`.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import torch

from kernels.cpu_build import entry, ptr
from kernels.selective_scan.epilogue import compute_dtype, finish

SOURCE = Path(__file__).with_name("scan.cpp")


def library() -> ctypes.CDLL:
    """The compiled scan (built on first use; raises CompilerUnavailable when it cannot be)."""
    from kernels.cpu_build import load_library

    return load_library(SOURCE)


def _dims(x: torch.Tensor, N: int, K: int) -> list:
    batch, T, H, P = x.shape
    return [ctypes.c_int64(v) for v in (batch, T, H, P, N, K)] + [ctypes.c_int(torch.get_num_threads())]


class _CompiledScan(torch.autograd.Function):
    """Core y = C·h (no D, no gate) and the final state; D and z are applied by plain autograd."""

    @staticmethod
    def forward(ctx, x, delta, A, Bm, C, h0, K):
        batch, T, H, P = x.shape
        N = A.shape[-1]
        At = A.transpose(-1, -2).contiguous()  # (H, P, N) -> (H, N, P)
        y = torch.empty_like(x)
        state = x.new_zeros(batch, H, N, P) if h0 is None else h0.clone()  # h0 in, final state out
        ck = torch.empty(batch, H, -(-T // K), N, P, dtype=x.dtype)  # state before tokens 0, K, 2K, ...
        fwd = entry(SOURCE, "seqlab_scan_fwd", x.dtype)
        fwd(*map(ptr, (x, delta, At, Bm, C, y, state, ck)), *_dims(x, N, K))
        ctx.save_for_backward(x, delta, At, Bm, C, ck)
        ctx.K, ctx.has_h0 = K, h0 is not None
        return y, state

    @staticmethod
    def backward(ctx, gy, ghT):
        x, delta, At, Bm, C, ck = ctx.saved_tensors
        batch, T, H, P = x.shape
        N = At.shape[1]
        gy = torch.zeros_like(x) if gy is None else gy.contiguous()
        g = x.new_zeros(batch, H, N, P) if ghT is None else ghT.contiguous().clone()  # dL/dh_T in, dL/dh0 out
        dx, dd = torch.empty_like(x), torch.empty_like(delta)
        dB, dC = torch.empty_like(Bm), torch.empty_like(C)
        dAt = torch.empty(batch, H, N, P, dtype=x.dtype)  # per batch row, summed below
        bwd = entry(SOURCE, "seqlab_scan_bwd", x.dtype)
        bwd(*map(ptr, (x, delta, At, Bm, C, ck, gy, g, dx, dd, dB, dC, dAt)), *_dims(x, N, ctx.K))
        dA = dAt.sum(0).transpose(-1, -2)  # Σ_b (B, H, N, P) -> (H, N, P) -> (H, P, N)
        return dx, dd, dA, dB, dC, (g if ctx.has_h0 else None), None


def cpp_selective_scan(
    x: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    z: torch.Tensor | None = None,
    *,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    chunk_size: int = 32,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Selective scan by the compiled CPU kernel (shapes as in :func:`naive_selective_scan`).

    ``chunk_size`` is the spacing of the states kept for the backward (memory vs recompute).
    Computes in float64 when x is float64, else float32; CPU tensors only.
    """
    if x.device.type != "cpu":
        raise ValueError(f"cpp_selective_scan: tensors must be on the CPU, got {x.device}")
    dtype = compute_dtype(x)
    cast = [t.to(dtype).contiguous() for t in (x, delta, A, B, C)]
    h0 = None if initial_state is None else initial_state.to(dtype).contiguous()
    y, hT = _CompiledScan.apply(*cast, h0, int(chunk_size))
    return finish(y, hT, x, D, z, output_final_state)
