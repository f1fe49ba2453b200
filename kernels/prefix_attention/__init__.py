"""Prefix attention (Aaren, "Attention as an RNN"): causal softmax attention of one query per head.

Public entry point :func:`prefix_attention`; backends ``naive_prefix_attention`` (the (m, u, w)
recurrence, the oracle) and ``chunk_prefix_attention`` (chunked, stable, CPU and GPU);
:func:`prefix_attention_step` is the O(1)-memory update for stateful inference. No Triton
kernel yet. Shapes and math: README.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernels.dispatch import BackendUnavailable, pick_backend
from kernels.prefix_attention.chunk import chunk_prefix_attention
from kernels.prefix_attention.naive import naive_prefix_attention, prefix_attention_step

if TYPE_CHECKING:
    import torch

__all__ = ["prefix_attention", "naive_prefix_attention", "chunk_prefix_attention", "prefix_attention_step"]

_FLOATS = ("torch.float16", "torch.bfloat16", "torch.float32", "torch.float64")


def _shape(name: str, t, expected: tuple[int, ...], legend: str) -> None:
    if tuple(t.shape) != expected:
        raise ValueError(f"prefix_attention: {name} must have shape {legend} = {expected}, got {tuple(t.shape)}")


def prefix_attention(
    q: "torch.Tensor",
    k: "torch.Tensor",
    v: "torch.Tensor",
    *,
    scale: float | None = None,
    initial_state: "tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None" = None,
    output_final_state: bool = False,
    chunk_size: int = 64,
    backend: str | None = None,
):
    """o_t = Σ_{i ≤ t} softmax_i(scale · q·k_i) v_i for every t; returns ``(o, final_state)``.

    Args:
        q: ``[B, H, K]`` one query per head (expand a learned ``[H, K]`` query over the batch).
        k: ``[B, T, H, K]`` keys.
        v: ``[B, T, H, V]`` values.
        scale: score scale, default ``K ** -0.5``.
        initial_state: optional ``(m [B, H], u [B, H], w [B, H, V])`` from an earlier call
            (u > 0); the new tokens then attend over the old ones too.
        output_final_state: also return the state after the last token.
        chunk_size: tokens per chunk, a power of two in [1, 1024] (memory grows with B·H·T·chunk).
        backend: ``"naive"``, ``"chunk"`` or None (chunk). ``"triton"`` raises BackendUnavailable.
    """
    if k.dim() != 4:
        raise ValueError(f"prefix_attention: k must be [B, T, H, K], got {k.dim()} dims {tuple(k.shape)}")
    batch, T, H, K = k.shape
    if T < 1:
        raise ValueError("prefix_attention: k has no time steps (T = 0)")
    _shape("q", q, (batch, H, K), "[B, H, K]")
    if v.dim() != 4 or v.shape[:3] != (batch, T, H):
        raise ValueError(f"prefix_attention: v must have shape [B, T, H, V] = ({batch}, {T}, {H}, V), got {tuple(v.shape)}")
    V = v.shape[3]
    named = {"q": q, "k": k, "v": v}
    if initial_state is not None:
        if not isinstance(initial_state, (tuple, list)) or len(initial_state) != 3:
            raise ValueError("prefix_attention: initial_state must be a tuple (m, u, w)")
        m0, u0, w0 = initial_state
        _shape("initial_state m", m0, (batch, H), "[B, H]")
        _shape("initial_state u", u0, (batch, H), "[B, H]")
        _shape("initial_state w", w0, (batch, H, V), "[B, H, V]")
        named.update({"initial_state m": m0, "initial_state u": u0, "initial_state w": w0})
    for name, t in named.items():
        if str(t.dtype) not in _FLOATS:
            raise TypeError(f"prefix_attention: {name} must be a real floating tensor, got {t.dtype}")
        if t.device != k.device:
            raise ValueError(f"prefix_attention: {name} is on {t.device} but k is on {k.device}")
    if scale is not None and not scale > 0:
        raise ValueError(f"prefix_attention: scale must be > 0, got {scale!r}")
    if not isinstance(chunk_size, int) or not 1 <= chunk_size <= 1024 or chunk_size & (chunk_size - 1):
        raise ValueError(f"prefix_attention: chunk_size must be a power of two in [1, 1024], got {chunk_size!r}")
    if backend == "triton":
        raise BackendUnavailable("prefix_attention: there is no Triton backend yet; use 'chunk' (runs on CUDA too)")
    choice = pick_backend("prefix_attention", backend, k.device.type)
    fn = naive_prefix_attention if choice == "naive" else chunk_prefix_attention  # automatic "triton" means chunk
    return fn(q, k, v, scale=scale, initial_state=initial_state, output_final_state=output_final_state, chunk_size=chunk_size)
