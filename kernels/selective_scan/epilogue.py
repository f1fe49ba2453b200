"""What every fast selective-scan backend does around its core scan: the compute dtype, the skip
term D ⊙ x and the silu(z) gate (plain autograd), and the (y, final state) return."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """float64 when x is float64, else float32 (half-precision inputs are computed in float32)."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def finish(
    y: torch.Tensor, hT: torch.Tensor, x: torch.Tensor, D: torch.Tensor | None, z: torch.Tensor | None,
    output_final_state: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(y + D ⊙ x) ⊙ silu(z)`` in y's dtype (D and z optional), returned in x's dtype, with the
    final state when asked for."""
    dtype = y.dtype
    if D is not None:
        y = y + D.to(dtype) * x.to(dtype)
    if z is not None:
        y = y * F.silu(z.to(dtype))
    return y.to(x.dtype), (hT if output_final_state else None)
