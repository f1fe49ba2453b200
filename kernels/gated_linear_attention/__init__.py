"""Gated linear attention: S_t = diag(α_t) S_{t−1} + k_t v_tᵀ, o_t = S_tᵀ (scale · q_t).

The gate is given in log space, ``g = log α ≤ 0`` ([B, T, H, K], as in fla's ``chunk_gla``).
Public entry point :func:`gated_linear_attention` validates its arguments and dispatches to
``naive_gated_linear_attention`` (the loop), ``chunk_gated_linear_attention`` (chunked
PyTorch with a safe cumulative log-decay), ``cpp_gated_linear_attention`` (compiled for the
CPU, built on first use) or ``triton_gated_linear_attention``, each imported on first use.
README.md has the layout and chunk sizes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernels.dispatch import lazy_backends
from kernels.validate import check_initial_state

if TYPE_CHECKING:
    import torch

__all__ = [
    "gated_linear_attention",
    "naive_gated_linear_attention",
    "chunk_gated_linear_attention",
    "cpp_gated_linear_attention",
    "triton_gated_linear_attention",
    "CHUNK_SIZES",
]

CHUNK_SIZES = (16, 32, 64, 128)
__getattr__ = lazy_backends(__name__, {
    "naive_gated_linear_attention": "kernels.gated_linear_attention.naive",
    "chunk_gated_linear_attention": "kernels.gated_linear_attention.chunk",
    "cpp_gated_linear_attention": "kernels.gated_linear_attention.cpp",
    "triton_gated_linear_attention": "kernels.gated_linear_attention.triton",
})  # triton imported on first use


def _check(q, k, v, g, initial_state, chunk_size: int) -> None:
    import torch

    op = "gated_linear_attention"
    if chunk_size not in CHUNK_SIZES:
        raise ValueError(f"{op}: chunk_size must be one of {CHUNK_SIZES}, got {chunk_size!r}")
    for name, x in (("q", q), ("k", k), ("v", v), ("g", g)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{op}: {name} must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4:
            raise ValueError(f"{op}: {name} must be [B, T, H, D] (4 dims), got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"{op}: {name} must be floating point, got {x.dtype}")
        if x.dtype != q.dtype:
            raise TypeError(f"{op}: {name} has dtype {x.dtype} but q has {q.dtype}")
        if x.device != q.device:
            raise ValueError(f"{op}: {name} is on {x.device} but q is on {q.device}")
    B, T, H, K = q.shape
    if T == 0 or B == 0 or H == 0:
        raise ValueError(f"{op}: q must have at least one batch row, token and head, got shape {tuple(q.shape)}")
    if k.shape != q.shape:
        raise ValueError(f"{op}: k must have q's shape {tuple(q.shape)}, got {tuple(k.shape)}")
    if g.shape != q.shape:
        raise ValueError(f"{op}: g (log-decay) must have q's shape {tuple(q.shape)}, got {tuple(g.shape)}")
    if tuple(v.shape[:3]) != (B, T, H):
        raise ValueError(f"{op}: v must be [B, T, H, V] with (B, T, H) = {(B, T, H)}, got {tuple(v.shape)}")
    if g.numel() and (bool((g > 0).any()) or not bool(g.isfinite().all())):
        raise ValueError(
            f"{op}: g is the log of the decay and must be finite and <= 0 (decay in (0, 1]), "
            f"got max {g.max().item():.3g}"
        )
    check_initial_state(op, initial_state, (B, H, K, v.shape[-1]), q.device)


def gated_linear_attention(
    q: "torch.Tensor",
    k: "torch.Tensor",
    v: "torch.Tensor",
    g: "torch.Tensor",
    *,
    scale: float | None = None,
    initial_state: "torch.Tensor | None" = None,
    chunk_size: int = 64,
    backend: str | None = None,
) -> "tuple[torch.Tensor, torch.Tensor]":
    """Run gated linear attention; returns ``(o [B, T, H, V], final_state [B, H, K, V])``.

    Args:
        q, k: queries and keys ``[B, T, H, K]``.
        v: values ``[B, T, H, V]``.
        g: log-decay ``[B, T, H, K]``, finite and ≤ 0 (e.g. ``F.logsigmoid(x) / 16``).
        scale: query scale, default ``K ** -0.5``.
        initial_state: optional ``[B, H, K, V]`` state S_0.
        chunk_size: one of ``CHUNK_SIZES``: tokens per chunk (chunk and Triton) or spacing of
            the states the compiled kernel keeps for its backward (cpp); ignored by ``naive``.
        backend: ``"naive"``, ``"chunk"``, ``"cpp"``, ``"triton"`` or None (on CPU the compiled
            kernel when it builds here, else chunk; chunk on CUDA); an explicit backend that
            cannot run raises ``BackendUnavailable``.

    Example:
        >>> import torch
        >>> from kernels.gated_linear_attention import gated_linear_attention
        >>> q, k, v = (torch.randn(1, 8, 2, 16) for _ in range(3))
        >>> g = torch.nn.functional.logsigmoid(torch.randn(1, 8, 2, 16))
        >>> o, S = gated_linear_attention(q, k, v, g, backend="chunk")
        >>> o.shape, S.shape
        (torch.Size([1, 8, 2, 16]), torch.Size([1, 2, 16, 16]))
    """
    from kernels.dispatch import pick_backend
    from kernels.gated_linear_attention.cpp import library

    _check(q, k, v, g, initial_state, chunk_size)
    chosen = pick_backend("gated_linear_attention", backend, q.device.type, compiled_cpu=library)
    fn = __getattr__(f"{chosen}_gated_linear_attention")
    return fn(q, k, v, g, scale=scale, initial_state=initial_state, chunk_size=chunk_size)
