"""S4D: Vandermonde kernel K_k = 2·Re(C diag(exp(ΔA))^k B̄), causal FFT convolution y = K * u, and a recurrent step.

Public entry point :func:`s4d_kernel` (backends ``naive_s4d_kernel``, the recurrence, and
``chunk_s4d_kernel``, the FFT path used on CPU and GPU); helpers :func:`s4d_vandermonde`,
:func:`fft_causal_conv` and :func:`s4d_step` (stateful inference). There is no Triton kernel:
the FFT path is already O(T log T) on cuFFT. Shapes and math: README.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernels.dispatch import BackendUnavailable, pick_backend
from kernels.s4d_kernel.chunk import chunk_s4d_kernel, fft_causal_conv, s4d_step, s4d_vandermonde
from kernels.s4d_kernel.naive import naive_s4d_kernel

if TYPE_CHECKING:
    import torch

__all__ = ["s4d_kernel", "naive_s4d_kernel", "chunk_s4d_kernel", "s4d_vandermonde", "fft_causal_conv", "s4d_step"]

_REAL = ("torch.float16", "torch.bfloat16", "torch.float32", "torch.float64")
_COMPLEX = ("torch.complex64", "torch.complex128")


def _shape(name: str, t, expected: tuple[int, ...], legend: str) -> None:
    if tuple(t.shape) != expected:
        raise ValueError(f"s4d_kernel: {name} must have shape {legend} = {expected}, got {tuple(t.shape)}")


def s4d_kernel(
    u: "torch.Tensor",
    dt: "torch.Tensor",
    A: "torch.Tensor",
    B: "torch.Tensor",
    C: "torch.Tensor",
    D: "torch.Tensor | None" = None,
    *,
    initial_state: "torch.Tensor | None" = None,
    output_final_state: bool = False,
    backend: str | None = None,
) -> "tuple[torch.Tensor, torch.Tensor | None]":
    """S4D layer core; returns ``(y, final_state)`` (``final_state`` None unless asked).

    Args:
        u: ``[B, T, H, P]`` real input.
        dt: ``[H, P]`` step sizes Δ > 0 (e.g. ``exp(log_dt)``).
        A: ``[H, P, N]`` complex, Re(A) < 0 (S4D-Lin: ``-0.5 + 1j·π·n``).
        B, C: ``[H, P, N]`` complex.
        D: optional ``[H, P]`` real skip.
        initial_state: optional ``[B, H, N, P]`` complex state.
        output_final_state: also return the ``[B, H, N, P]`` complex state after the last token.
        backend: ``"naive"``, ``"chunk"`` or None (chunk). ``"triton"`` raises BackendUnavailable.
    """
    if u.dim() != 4:
        raise ValueError(f"s4d_kernel: u must be [B, T, H, P], got {u.dim()} dims {tuple(u.shape)}")
    batch, T, H, P = u.shape
    if T < 1:
        raise ValueError("s4d_kernel: u has no time steps (T = 0)")
    if A.dim() != 3 or A.shape[:2] != (H, P):
        raise ValueError(f"s4d_kernel: A must have shape [H, P, N] = ({H}, {P}, N), got {tuple(A.shape)}")
    N = A.shape[2]
    _shape("dt", dt, (H, P), "[H, P]")
    _shape("B", B, (H, P, N), "[H, P, N]")
    _shape("C", C, (H, P, N), "[H, P, N]")
    if D is not None:
        _shape("D", D, (H, P), "[H, P]")
    if initial_state is not None:
        _shape("initial_state", initial_state, (batch, H, N, P), "[B, H, N, P]")
    kinds = {"u": (u, _REAL), "dt": (dt, _REAL), "A": (A, _COMPLEX), "B": (B, _COMPLEX), "C": (C, _COMPLEX),
             "D": (D, _REAL), "initial_state": (initial_state, _COMPLEX)}
    for name, (t, allowed) in kinds.items():
        if t is None:
            continue
        if str(t.dtype) not in allowed:
            kind = "real floating" if allowed is _REAL else "complex"
            raise TypeError(f"s4d_kernel: {name} must be a {kind} tensor, got {t.dtype}")
        if t.device != u.device:
            raise ValueError(f"s4d_kernel: {name} is on {t.device} but u is on {u.device}")
    if backend == "triton":
        raise BackendUnavailable("s4d_kernel: there is no Triton backend; the FFT path ('chunk') is the GPU path")
    choice = pick_backend("s4d_kernel", backend, u.device.type)
    fn = naive_s4d_kernel if choice == "naive" else chunk_s4d_kernel  # automatic "triton" on CUDA means FFT
    return fn(u, dt, A, B, C, D, initial_state=initial_state, output_final_state=output_final_state)
