"""The field's reference kernels, timed beside ours on a GPU when they are installed.

fla (fla-org/flash-linear-attention, the ``fla-core`` wheel: pure Python over Triton) has the
chunked GLA and delta-rule kernels that ours follow. Its ops take our layout (``[B, T, H, D]``
inputs, ``[B, H, K, V]`` states, scale ``K ** -0.5`` by default) and return ``(o, final_state)``
as ours do; its naive recurrences agree with our oracles to float32 rounding (checked on CPU
2026-12-03 against fla-core 0.6.0). Its chunked ops autotune through a GPU driver, so they run
on CUDA only. mamba_ssm's selective scan is a CUDA extension with no wheel on the package index
(it builds from source with nvcc for many minutes), so it is not among these.

The GPU machine cannot reach a package index: ``bash benchmarks/gpu_wheels.sh`` downloads the
wheels here into ``.gpu-wheels/`` (git-ignored), the device call carries that folder, and
``benchmarks/gpu_check.sh`` installs them before timing.
"""

from __future__ import annotations

import importlib
from typing import Callable

REFERENCES = {
    "gated_linear_attention": ("fla", "fla.ops.gla", "chunk_gla"),
    "delta_rule": ("fla", "fla.ops.delta_rule", "chunk_delta_rule"),
}
"""op -> (backend name, module, function) of the reference implementation."""


def reference_backends(op: str) -> list[str]:
    """Names of the reference backends known for ``op`` (installed or not)."""
    return [REFERENCES[op][0]] if op in REFERENCES else []


def reference_fn(op: str, backend: str) -> Callable | None:
    """The reference ``backend`` of ``op`` called with our keyword inputs, or None when it is not
    known for the op or its library is not installed."""
    if REFERENCES.get(op, (None,))[0] != backend:
        return None
    _, module, name = REFERENCES[op]
    try:
        fn = getattr(importlib.import_module(module), name)
    except ImportError:
        return None

    def call(**inputs):
        return fn(**inputs, output_final_state=True)

    return call
