"""Selective scan (Mamba's S6): h_t = exp(Δ_t A) ⊙ h_{t−1} + Δ_t B_t x_t, y_t = C_t · h_t + D x_t.

Public entry point :func:`selective_scan`; backends ``naive_selective_scan`` (the oracle),
``chunk_selective_scan`` (PyTorch, any device), ``cpp_selective_scan`` (compiled for the CPU,
built on first use) and ``triton_selective_scan`` (GPU; imported on first use so
that importing this package does not import Triton). Shapes and math: README.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernels.dispatch import lazy_backends, pick_backend
from kernels.selective_scan.chunk import chunk_selective_scan
from kernels.selective_scan.cpp import cpp_selective_scan, library
from kernels.selective_scan.naive import naive_selective_scan

if TYPE_CHECKING:
    import torch

__all__ = [
    "selective_scan", "naive_selective_scan", "chunk_selective_scan", "cpp_selective_scan", "triton_selective_scan",
]

_FLOATS = ("torch.float16", "torch.bfloat16", "torch.float32", "torch.float64")


__getattr__ = lazy_backends(__name__, {"triton_selective_scan": "kernels.selective_scan.triton"})  # imports triton


def _check_shape(name: str, t, expected: tuple[int, ...], legend: str) -> None:
    if tuple(t.shape) != expected:
        raise ValueError(f"selective_scan: {name} must have shape {legend} = {expected}, got {tuple(t.shape)}")


def selective_scan(
    x: "torch.Tensor",
    delta: "torch.Tensor",
    A: "torch.Tensor",
    B: "torch.Tensor",
    C: "torch.Tensor",
    D: "torch.Tensor | None" = None,
    z: "torch.Tensor | None" = None,
    *,
    initial_state: "torch.Tensor | None" = None,
    output_final_state: bool = False,
    chunk_size: int = 32,
    backend: str | None = None,
) -> "tuple[torch.Tensor, torch.Tensor | None]":
    """Mamba's selective scan; returns ``(y, final_state)`` (``final_state`` is None unless asked).

    Args:
        x: ``[B, T, H, P]`` input channels, P per head.
        delta: ``[B, T, H, P]`` step sizes, > 0 (apply softplus before calling).
        A: ``[H, P, N]`` diagonal state matrix, negative entries (Mamba: ``-exp(A_log)``).
        B: ``[B, T, H, N]`` input-dependent input projection.
        C: ``[B, T, H, N]`` input-dependent output projection.
        D: optional ``[H, P]`` skip connection.
        z: optional ``[B, T, H, P]`` gate, ``y ← y ⊙ silu(z)``.
        initial_state: optional ``[B, H, N, P]`` state before the first token.
        output_final_state: also return the ``[B, H, N, P]`` state after the last token.
        chunk_size: tokens per chunk (chunk path) or per saved state (cpp and Triton backward);
            a power of two in [1, 1024].
        backend: ``"naive"``, ``"chunk"``, ``"cpp"``, ``"triton"`` or None (Triton on CUDA; on
            CPU the compiled kernel when it builds here, else chunk).
    """
    if x.dim() != 4:
        raise ValueError(f"selective_scan: x must be [B, T, H, P], got {x.dim()} dims {tuple(x.shape)}")
    batch, T, H, P = x.shape
    if T < 1:
        raise ValueError("selective_scan: x has no time steps (T = 0)")
    if A.dim() != 3 or A.shape[:2] != (H, P):
        raise ValueError(f"selective_scan: A must have shape [H, P, N] = ({H}, {P}, N), got {tuple(A.shape)}")
    N = A.shape[2]
    _check_shape("delta", delta, (batch, T, H, P), "[B, T, H, P]")
    _check_shape("B", B, (batch, T, H, N), "[B, T, H, N]")
    _check_shape("C", C, (batch, T, H, N), "[B, T, H, N]")
    if D is not None:
        _check_shape("D", D, (H, P), "[H, P]")
    if z is not None:
        _check_shape("z", z, (batch, T, H, P), "[B, T, H, P]")
    if initial_state is not None:
        _check_shape("initial_state", initial_state, (batch, H, N, P), "[B, H, N, P]")
    named = {"x": x, "delta": delta, "A": A, "B": B, "C": C, "D": D, "z": z, "initial_state": initial_state}
    for name, t in named.items():
        if t is None:
            continue
        if str(t.dtype) not in _FLOATS:
            raise TypeError(f"selective_scan: {name} must be a real floating tensor, got {t.dtype}")
        if t.device != x.device:
            raise ValueError(f"selective_scan: {name} is on {t.device} but x is on {x.device}")
    if not isinstance(chunk_size, int) or not 1 <= chunk_size <= 1024 or chunk_size & (chunk_size - 1):
        raise ValueError(f"selective_scan: chunk_size must be a power of two in [1, 1024], got {chunk_size!r}")
    choice = pick_backend("selective_scan", backend, x.device.type, compiled_cpu=library)
    if choice == "naive":
        fn = naive_selective_scan
    elif choice == "chunk":
        fn = chunk_selective_scan
    elif choice == "cpp":
        fn = cpp_selective_scan
    else:
        from kernels.selective_scan.triton import triton_selective_scan as fn
    return fn(
        x, delta, A, B, C, D, z,
        initial_state=initial_state, output_final_state=output_final_state, chunk_size=chunk_size,
    )
