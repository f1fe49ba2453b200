"""Argument checks shared by the ops' public functions (each error names the op and the tensor)."""

from __future__ import annotations


def check_initial_state(op: str, state, shape: tuple[int, ...], device) -> None:
    """``state`` is None or a floating-point tensor of ``shape`` (``[B, H, K, V]``) on ``device``."""
    if state is None:
        return
    import torch

    if not isinstance(state, torch.Tensor) or tuple(state.shape) != tuple(shape):
        got = tuple(state.shape) if isinstance(state, torch.Tensor) else type(state).__name__
        raise ValueError(f"{op}: initial_state must be [B, H, K, V] = {tuple(shape)}, got {got}")
    if not state.is_floating_point() or state.device != device:
        raise ValueError(f"{op}: initial_state must be floating point on {device}, got {state.dtype} on {state.device}")
