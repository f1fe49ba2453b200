"""The GPU check shared by sweep trials and pipeline ranks: a GPU torch cannot see is an error.

Training on the CPU instead would be silent, and a sweep on a GPU cluster would report CPU
timings as if nothing were wrong.
"""

from __future__ import annotations


class NoVisibleGPU(RuntimeError):
    """Ray gave the trial a GPU that torch cannot see: training on the CPU instead would be silent."""


def require_visible_gpu(given: str) -> None:
    """Raise :class:`NoVisibleGPU` unless torch sees a GPU; ``given`` says what was handed out."""
    import torch

    if not torch.cuda.is_available():
        raise NoVisibleGPU(
            f"{given} but torch {torch.__version__} sees no GPU (CUDA build: {torch.version.cuda or 'none'}): "
            "install a CUDA build of torch on the GPU nodes, or set resources.gpu: 0"
        )
