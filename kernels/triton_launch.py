"""Launch settings shared by the chunked linear-attention Triton kernels (delta_rule, GLA)."""

from __future__ import annotations

import torch
import triton


def chunk_launch_meta(q: torch.Tensor, K: int, V: int, BT: int) -> dict:
    """Block sizes (powers of two, ≥ 16 so ``tl.dot`` is valid on GPUs), dot precision, warps."""
    return dict(
        K=K, V=V, BT=BT,
        BK=max(16, triton.next_power_of_2(K)), BV=max(16, triton.next_power_of_2(V)),
        PREC="ieee" if q.dtype in (torch.float32, torch.float64) else "tf32",
        num_warps=4 if BT <= 32 else 8,
    )
