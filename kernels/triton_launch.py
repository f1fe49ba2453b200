"""Launch settings shared by the chunked linear-attention Triton kernels (delta_rule, GLA)."""

from __future__ import annotations

import os

import torch
import triton

F32_DOT_PRECISIONS = ("tf32x3", "ieee", "tf32")

STATE_LOOP_STAGES = 2
"""Software-pipelining depth of the kernels that carry the state through a loop over chunks.

Triton's default on NVIDIA is 3: each stage buffers every tile the loop loads (q, k, v or W/U,
dO and the saved state: five or six BT × 64 float32 tiles at D = 64). At 3 stages the delta rule's
backward state kernel needs 262,144 B of shared memory per block (278,528 B on the lent H200
with triton 3.6), over the 232,448 B an sm_90 card allows; at 2 it needs 163,840 B, under the
A100's 166,912 B too. Measured by ``python -m kernels.gpu_resources``, which compiles for the
card on any machine.
"""


def dot_precision(dtype: torch.dtype) -> str:
    """``tl.dot``'s input precision for inputs of ``dtype``.

    float32: "tf32x3", three TF32 tensor-core products that keep about float32's accuracy.
    "ieee" (FMA on the CUDA cores) is what float32 used until 2026-11-28; compiled for sm_90, it
    left the state-carrying kernels at 32 registers with 20–75 KB of spill traffic per thread
    (``python -m kernels.gpu_resources``), the likely reason GLA's Triton path ran 3.1× slower
    than chunk on the lent H200. float64 has only "ieee"; for 16-bit inputs the setting is unused.
    ``SEQLAB_TRITON_F32_DOT`` (ieee, tf32x3 or tf32) overrides the float32 choice, so a GPU check
    can time both (``benchmarks/gpu_check.sh``).
    """
    if dtype == torch.float32:
        chosen = os.environ.get("SEQLAB_TRITON_F32_DOT", "tf32x3")
        if chosen not in F32_DOT_PRECISIONS:
            raise ValueError(f"SEQLAB_TRITON_F32_DOT must be one of {', '.join(F32_DOT_PRECISIONS)}, got {chosen!r}")
        return chosen
    return "ieee" if dtype == torch.float64 else "tf32"


def chunk_launch_meta(q: torch.Tensor, K: int, V: int, BT: int) -> dict:
    """Block sizes (powers of two, ≥ 16 so ``tl.dot`` is valid on GPUs), dot precision, warps."""
    return dict(
        K=K, V=V, BT=BT,
        BK=max(16, triton.next_power_of_2(K)), BV=max(16, triton.next_power_of_2(V)),
        PREC=dot_precision(q.dtype),
        num_warps=4 if BT <= 32 else 8,
    )
