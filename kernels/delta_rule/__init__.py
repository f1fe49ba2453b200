"""Delta rule (DeltaNet, and DeltaProduct with n Householder steps per token).

    S ← (I − β k kᵀ) S + β k vᵀ   (n times per token),   o_t = Sᵀ (scale · q_t)

Public entry point :func:`delta_rule` validates its arguments and dispatches to
``naive_delta_rule`` (the loop), ``chunk_delta_rule`` (chunked PyTorch, WY/UT form),
``cpp_delta_rule`` (the recurrence compiled for the CPU, built on first use) or
``triton_delta_rule`` (Triton forward and backward). Layout and chunk sizes: README.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernels.dispatch import lazy_backends
from kernels.validate import check_initial_state

if TYPE_CHECKING:
    import torch

__all__ = ["delta_rule", "naive_delta_rule", "chunk_delta_rule", "cpp_delta_rule", "triton_delta_rule", "CHUNK_SIZES"]

CHUNK_SIZES = (16, 32, 64, 128)
__getattr__ = lazy_backends(__name__, {
    "naive_delta_rule": "kernels.delta_rule.naive",
    "chunk_delta_rule": "kernels.delta_rule.chunk",
    "cpp_delta_rule": "kernels.delta_rule.cpp",
    "triton_delta_rule": "kernels.delta_rule.triton",
})  # triton imported on first use


def _check(q, k, v, beta, initial_state, n_householder: int, chunk_size: int) -> None:
    import torch

    if not isinstance(n_householder, int) or n_householder < 1:
        raise ValueError(f"delta_rule: n_householder must be an int >= 1, got {n_householder!r}")
    if chunk_size not in CHUNK_SIZES:
        raise ValueError(f"delta_rule: chunk_size must be one of {CHUNK_SIZES}, got {chunk_size!r}")
    for name, x, nd in (("q", q, 4), ("k", k, 4), ("v", v, 4), ("beta", beta, 3)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"delta_rule: {name} must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != nd:
            raise ValueError(f"delta_rule: {name} must have {nd} dims, got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"delta_rule: {name} must be floating point, got {x.dtype}")
        if x.dtype != q.dtype:
            raise TypeError(f"delta_rule: {name} has dtype {x.dtype} but q has {q.dtype}")
        if x.device != q.device:
            raise ValueError(f"delta_rule: {name} is on {x.device} but q is on {q.device}")
    B, T, H, K = q.shape
    if T == 0 or B == 0 or H == 0:
        raise ValueError(f"delta_rule: q must have at least one batch row, token and head, got shape {tuple(q.shape)}")
    L = T * n_householder
    if tuple(k.shape) != (B, L, H, K):
        raise ValueError(
            f"delta_rule: k must be [B, T*n_householder, H, K] = {(B, L, H, K)}, got {tuple(k.shape)}"
        )
    if tuple(v.shape[:3]) != (B, L, H):
        raise ValueError(f"delta_rule: v must be [B, T*n_householder, H, V] with (B, T*n, H) = {(B, L, H)}, "
                         f"got {tuple(v.shape)}")
    if tuple(beta.shape) != (B, L, H):
        raise ValueError(f"delta_rule: beta must be [B, T*n_householder, H] = {(B, L, H)}, got {tuple(beta.shape)}")
    if beta.numel() and (bool((beta < 0).any()) or bool((beta > 2).any()) or not bool(beta.isfinite().all())):
        raise ValueError(
            f"delta_rule: beta must lie in [0, 2] ([0, 1] for DeltaNet, [0, 2] for negative eigenvalues), "
            f"got range [{beta.min().item():.3g}, {beta.max().item():.3g}]"
        )
    check_initial_state("delta_rule", initial_state, (B, H, K, v.shape[-1]), q.device)


def delta_rule(
    q: "torch.Tensor",
    k: "torch.Tensor",
    v: "torch.Tensor",
    beta: "torch.Tensor",
    *,
    scale: float | None = None,
    initial_state: "torch.Tensor | None" = None,
    n_householder: int = 1,
    chunk_size: int = 64,
    use_qk_l2norm: bool = False,
    backend: str | None = None,
) -> "tuple[torch.Tensor, torch.Tensor]":
    """Run the delta rule; returns ``(o [B, T, H, V], final_state [B, H, K, V])``.

    Args:
        q: queries ``[B, T, H, K]``.
        k: keys ``[B, T*n, H, K]``, L2-normalised (or pass ``use_qk_l2norm=True``); token t
            owns rows ``t*n .. t*n+n-1`` (n = ``n_householder``).
        v: values ``[B, T*n, H, V]``, interleaved like ``k``.
        beta: step sizes ``[B, T*n, H]`` in [0, 1], or [0, 2] for negative eigenvalues.
        scale: query scale, default ``K ** -0.5``.
        initial_state: optional ``[B, H, K, V]`` state S_0.
        n_householder: Householder steps per token (1 = DeltaNet, > 1 = DeltaProduct).
        chunk_size: sub-tokens per chunk, one of ``CHUNK_SIZES`` (ignored by ``naive``).
        use_qk_l2norm: L2-normalise q and k over K before the recurrence (differentiable).
        backend: ``"naive"``, ``"chunk"``, ``"cpp"``, ``"triton"`` or None (on CPU the
            compiled kernel when it builds here, else chunk; chunk on CUDA until the Triton path
            is timed there); an explicit backend that cannot run raises ``BackendUnavailable``.

    Example:
        >>> import torch
        >>> from kernels.delta_rule import delta_rule
        >>> q = torch.randn(1, 8, 2, 16); v = torch.randn(1, 8, 2, 16)
        >>> k = torch.nn.functional.normalize(torch.randn(1, 8, 2, 16), dim=-1)
        >>> o, S = delta_rule(q, k, v, torch.rand(1, 8, 2), backend="chunk")
        >>> o.shape, S.shape
        (torch.Size([1, 8, 2, 16]), torch.Size([1, 2, 16, 16]))
    """
    from kernels.delta_rule.cpp import library
    from kernels.dispatch import pick_backend

    _check(q, k, v, beta, initial_state, n_householder, chunk_size)
    chosen = pick_backend("delta_rule", backend, q.device.type, compiled_cpu=library)
    if use_qk_l2norm:
        import torch.nn.functional as F

        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
    fn = __getattr__(f"{chosen}_delta_rule")
    return fn(q, k, v, beta, scale=scale, initial_state=initial_state, n_householder=n_householder,
              chunk_size=chunk_size)
