"""Flow-equivariant RNN (FERNN, Keller 2025) on a 1-D ring, and its G-RNN baseline.

The hidden state is lifted over velocities ν ∈ V = {−m, …, m}:

    h_t[ν] = ReLU(conv_u(x_t) + conv_h(roll(h_{t−1}[ν], ν)))

(every ν sees the same input drive; channel ν's state is transported one step along flow ν
before the recurrent convolution; circular convolutions, no bias). The readout transports each channel one more step along its flow (to where its pattern
will be in the next frame), max-pools over ν and decodes with circular convolutions. With V = {0} this is the G-RNN: translation-equivariant
per frame, but not equivariant to moving inputs. Feeding x'_t = roll(x_t, v t) with v ∈ V gives
h'_t[ν] = roll(h_t[ν − v], v t) exactly for every ν with ν − v ∈ V.
"""

from __future__ import annotations

import torch
from torch import nn


def circular_conv(in_ch: int, out_ch: int, kernel: int) -> nn.Conv1d:
    """A same-size circular 1-D convolution without bias (translation-equivariant on the ring)."""
    return nn.Conv1d(in_ch, out_ch, kernel, padding=kernel // 2, padding_mode="circular", bias=False)


class FlowRNN(nn.Module):
    """FERNN (``max_velocity`` > 0) or G-RNN (``max_velocity`` = 0) next-frame predictor.

    Args:
        hidden: hidden channels per velocity.
        kernel: convolution width (odd).
        max_velocity: m; the lifted velocities are −m … m.
    """

    def __init__(self, hidden: int = 16, kernel: int = 5, max_velocity: int = 2) -> None:
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"kernel must be odd, got {kernel}")
        self.velocities = list(range(-max_velocity, max_velocity + 1))
        self.hidden = hidden
        self.conv_u = circular_conv(1, hidden, kernel)
        self.conv_h = circular_conv(hidden, hidden, kernel)
        self.decode = nn.Sequential(circular_conv(hidden, hidden, kernel), nn.ReLU(), circular_conv(hidden, 1, kernel))

    def init_state(self, x: torch.Tensor) -> torch.Tensor:
        """Zero state ``(B, |V|, C, N)`` for frames ``x`` ``(B, N)``."""
        return x.new_zeros(x.shape[0], len(self.velocities), self.hidden, x.shape[-1])

    def transport(self, h: torch.Tensor) -> torch.Tensor:
        """Move channel ν by ν pixels: ``(B, |V|, C, N) -> (B, |V|, C, N)``."""
        return torch.stack([torch.roll(h[:, i], nu, dims=-1) for i, nu in enumerate(self.velocities)], dim=1)

    def cell(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step: frame ``(B, N)`` and state ``(B, |V|, C, N)`` -> new state."""
        B, V, C, N = h.shape
        drive = self.conv_u(x.unsqueeze(1)).unsqueeze(1)  # (B, N) -> (B, 1, C, N), shared by every ν
        rec = self.conv_h(self.transport(h).reshape(B * V, C, N)).view(B, V, C, N)  # (B*V, C, N) -> (B, V, C, N)
        return torch.relu(drive + rec)

    def readout(self, h: torch.Tensor) -> torch.Tensor:
        """Next-frame prediction ``(B, N)`` from a state: each channel moved one step along its
        flow (where its pattern will be next), max over ν, then the decoder."""
        return self.decode(self.transport(h).amax(dim=1)).squeeze(1)  # (B, V, C, N) -> (B, C, N) -> (B, N)

    def forward(self, frames: torch.Tensor, n_out: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Observe ``frames`` ``(B, T_in, N)``, then predict ``n_out`` frames feeding each
        prediction back as the next input. Returns predictions ``(B, n_out, N)`` and the states
        after every observed frame (for the equivariance check)."""
        h = self.init_state(frames[:, 0])
        states = []
        for t in range(frames.shape[1]):
            h = self.cell(frames[:, t], h)
            states.append(h)
        preds = []
        for _ in range(n_out):
            y = self.readout(h)
            preds.append(y)
            h = self.cell(y, h)
        empty = frames.new_zeros(frames.shape[0], 0, frames.shape[-1])  # (B, 0, N) when n_out = 0
        return (torch.stack(preds, dim=1) if preds else empty), states


@torch.no_grad()
def equivariance_error(model: FlowRNN, frames: torch.Tensor, v: int) -> float:
    """Relative error of the hidden states under a flow of velocity ``v``.

    Feeds ``frames`` ``(B, T, N)`` and the moving version x'_t = roll(x_t, v t); returns
    max_t ‖h'_t[ν] − roll(h_t[ν − v], v t)‖ / ‖h_t‖ over the velocity channels where ν − v ∈ V
    (for the G-RNN, V = {0}, ν − v ∉ V for v ≠ 0, so it compares h'_t[0] with roll(h_t[0], v t),
    which the G-RNN does not satisfy).
    """
    T = frames.shape[1]
    moved = torch.stack([torch.roll(frames[:, t], v * t, dims=-1) for t in range(T)], dim=1)  # (B, T, N)
    _, states = model(frames, 0)
    _, states_moved = model(moved, 0)
    vel = model.velocities
    pairs = [(vel.index(nu), vel.index(nu - v)) for nu in vel if nu - v in vel] or [(vel.index(0), vel.index(0))]
    worst = 0.0
    for t in range(T):
        for i, j in pairs:
            expect = torch.roll(states[t][:, j], v * t, dims=-1)  # (B, C, N)
            err = (states_moved[t][:, i] - expect).norm() / states[t].norm().clamp_min(1e-12)
            worst = max(worst, float(err))
    return worst
