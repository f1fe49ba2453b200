"""Leaky integrate-and-fire (LIF) neurons with a surrogate gradient (SpikMamba, SpikeGPT).

Over the time axis (dim 1) of a current I (B, T, ...):

    v_t = τ · v_{t−1} · (1 − s_{t−1}) + I_t      (decay, hard reset after a spike)
    s_t = H(v_t − V_th)

The Heaviside step H has zero gradient almost everywhere; its backward pass uses a surrogate,
the derivative of a sigmoid (``"sigmoid"``: α·σ(αx)(1 − σ(αx))) or of an arctangent
(``"atan"``: α / (2(1 + (π/2 · αx)²))), with slope α. The time loop is over the T frames of an
event stream (16 here): the reset makes it non-linear, so no scan kernel covers it.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class _SpikeFn(torch.autograd.Function):
    """Heaviside forward, surrogate-derivative backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float, kind: str) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.alpha, ctx.kind = alpha, kind
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        a = ctx.alpha
        if ctx.kind == "sigmoid":
            sig = torch.sigmoid(a * x)
            d = a * sig * (1 - sig)
        else:
            d = a / (2 * (1 + (math.pi / 2 * a * x) ** 2))
        return grad * d, None, None


def spike(x: torch.Tensor, alpha: float = 4.0, surrogate: str = "sigmoid") -> torch.Tensor:
    """H(x) with the ``surrogate`` gradient of slope ``alpha``; same shape as ``x``."""
    if surrogate not in ("sigmoid", "atan"):
        raise ValueError(f"unknown surrogate {surrogate!r}")
    return _SpikeFn.apply(x, alpha, surrogate)


class LIF(nn.Module):
    """LIF neurons over dim 1 of (B, T, ...): currents in, binary spikes out (same shape).

    Args:
        tau: membrane decay per time step (0 < τ ≤ 1).
        v_th: firing threshold.
        alpha: surrogate slope.
        surrogate: ``"sigmoid"`` or ``"atan"``.
        detach_reset: stop the gradient through the reset (common SNN practice).
    """

    def __init__(self, tau: float = 0.5, v_th: float = 1.0, alpha: float = 4.0, surrogate: str = "sigmoid", detach_reset: bool = True) -> None:
        super().__init__()
        self.tau, self.v_th, self.alpha, self.surrogate, self.detach_reset = tau, v_th, alpha, surrogate, detach_reset

    def forward(self, current: torch.Tensor) -> torch.Tensor:
        """(B, T, ...) currents -> (B, T, ...) spikes in {0, 1}."""
        v = torch.zeros_like(current[:, 0])
        s = torch.zeros_like(v)
        out = []
        for t in range(current.shape[1]):
            keep = 1 - (s.detach() if self.detach_reset else s)
            v = self.tau * v * keep + current[:, t]
            s = spike(v - self.v_th, self.alpha, self.surrogate)
            out.append(s)
        return torch.stack(out, dim=1)


def firing_rate(spikes: list[torch.Tensor]) -> float:
    """Fraction of neuron-steps that fired, over every spike tensor in ``spikes``."""
    total = sum(float(s.detach().sum()) for s in spikes)
    count = sum(s.numel() for s in spikes)
    return total / max(count, 1)
