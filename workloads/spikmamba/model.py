"""SpikMamba-lite, its non-spiking twin, and a spiking CNN, over event frames (B, T, 2, S, S).

Shared stem, per frame: conv 3×3 (2 → c) + BatchNorm → act → 2×2 avg-pool → conv 3×3 (c → d)
+ BatchNorm → act → 2×2 avg-pool, leaving (S/4)² patch tokens of width d per frame. "act" is a
LIF neuron over the T frames (spiking) or a ReLU (ANN).

* ``spikmamba``: a patch embedding (conv 2×2 stride 2 + BatchNorm on the stem's spikes) turns each frame into
  (S/8)² tokens (8×8-pixel patches); the T·(S/8)² tokens, time-major, go through Mamba blocks
  (:class:`workloads.nn.ssm.MambaBlock` on ``kernels/selective_scan``) with a membrane
  shortcut: x ← x + Mamba(LIF(RMSNorm(x))), so every block reads spikes (LIF over the T frames)
  while the residual stream stays real-valued (MS-ResNet style); RMSNorm → mean-pool over tokens → linear.
* ``ann_mamba``: the same with ReLU in the stem and pre-norm residual blocks x ← x + Mamba(RMSNorm(x)) (no LIF).
* ``scnn``: the spiking stem + one more spiking conv; temporal mean-pooling of the spike maps
  (a bag of frames) → linear on the flattened map.

Every model returns logits (B, classes) and the list of its spike tensors (empty for the ANN).
"""

from __future__ import annotations

import torch
from torch import nn

from workloads.nn.spiking import LIF
from workloads.nn.ssm import MambaBlock


class _Act(nn.Module):
    """LIF over dim 1 (spiking) or ReLU; records its spikes in ``sink``."""

    def __init__(self, spiking: bool, lif_kwargs: dict) -> None:
        super().__init__()
        self.lif = LIF(**lif_kwargs) if spiking else None

    def forward(self, x: torch.Tensor, sink: list) -> torch.Tensor:
        """(B, T, ...) -> (B, T, ...)."""
        if self.lif is None:
            return torch.relu(x)
        s = self.lif(x)
        sink.append(s)
        return s


class Stem(nn.Module):
    """Two conv + norm + act + pool stages per frame: (B, T, 2, S, S) -> (B, T, d, S/4, S/4)."""

    def __init__(self, c: int, d: int, spiking: bool, lif_kwargs: dict) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(2, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, d, 3, padding=1, bias=False), nn.BatchNorm2d(d)
        self.act1, self.act2 = _Act(spiking, lif_kwargs), _Act(spiking, lif_kwargs)
        self.pool = nn.AvgPool2d(2)

    def forward(self, x: torch.Tensor, sink: list) -> torch.Tensor:
        """(B, T, 2, S, S) -> (B, T, d, S/4, S/4)."""
        B, T = x.shape[:2]
        h = self.bn1(self.conv1(x.flatten(0, 1)))  # (B, T, 2, S, S) -> (B·T, c, S, S)
        h = self.act1(h.unflatten(0, (B, T)), sink)  # (B·T, c, S, S) -> (B, T, c, S, S)
        h = self.pool(h.flatten(0, 1))  # (B·T, c, S/2, S/2)
        h = self.bn2(self.conv2(h))  # (B·T, d, S/2, S/2)
        h = self.act2(h.unflatten(0, (B, T)), sink)  # (B, T, d, S/2, S/2)
        return self.pool(h.flatten(0, 1)).unflatten(0, (B, T))  # (B, T, d, S/4, S/4)


class SpikMamba(nn.Module):
    """Stem → Mamba blocks over the T·P tokens (LIF after each block if spiking) → mean-pool → linear."""

    def __init__(self, classes: int, c: int, d: int, layers: int, d_state: int, spiking: bool, lif_kwargs: dict, chunk_size: int = 64) -> None:
        super().__init__()
        self.spiking = spiking
        self.stem = Stem(c, d, spiking, lif_kwargs)
        self.embed, self.bn_embed = nn.Conv2d(d, d, 2, stride=2, bias=False), nn.BatchNorm2d(d)
        self.norms = nn.ModuleList(nn.RMSNorm(d) for _ in range(layers))
        self.blocks = nn.ModuleList(MambaBlock(d, d_state, expand=2, chunk_size=chunk_size) for _ in range(layers))
        self.acts = nn.ModuleList(_Act(True, lif_kwargs) for _ in range(layers)) if spiking else None
        self.norm_f = nn.RMSNorm(d)
        self.head = nn.Linear(d, classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(B, T, 2, S, S) -> logits (B, classes), spikes."""
        sink: list[torch.Tensor] = []
        h = self.stem(x, sink)  # (B, T, d, S/4, S/4)
        B, T, d = h.shape[:3]
        h = self.bn_embed(self.embed(h.flatten(0, 1)))  # (B·T, d, S/4, S/4) -> (B·T, d, P', P'), P' = S/8
        h = h.unflatten(0, (B, T))  # (B·T, d, P', P') -> (B, T, d, P', P'): the residual stream starts here
        h = h.flatten(3).transpose(2, 3)  # (B, T, d, P', P') -> (B, T, P, d), P = P'²
        P = h.shape[2]
        h = h.reshape(B, T * P, d)  # (B, T, P, d) -> (B, T·P, d), time-major tokens
        for i, (norm, block) in enumerate(zip(self.norms, self.blocks)):
            u = norm(h)
            if self.spiking:
                u = self.acts[i](u.reshape(B, T, P, d), sink).reshape(B, T * P, d)  # LIF over the T frames
            h = h + block(u)
        return self.head(self.norm_f(h).mean(1)), sink


class SpikingCNN(nn.Module):
    """Spiking stem + spiking conv 3×3 (d → d); mean over time, flatten, linear."""

    def __init__(self, classes: int, c: int, d: int, side: int, lif_kwargs: dict) -> None:
        super().__init__()
        self.stem = Stem(c, d, True, lif_kwargs)
        self.conv3, self.bn3 = nn.Conv2d(d, d, 3, padding=1, bias=False), nn.BatchNorm2d(d)
        self.act3 = _Act(True, lif_kwargs)
        self.head = nn.Linear(d * (side // 4) ** 2, classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(B, T, 2, S, S) -> logits (B, classes), spikes."""
        sink: list[torch.Tensor] = []
        h = self.stem(x, sink)  # (B, T, d, S/4, S/4)
        B, T = h.shape[:2]
        h = self.bn3(self.conv3(h.flatten(0, 1)))  # (B·T, d, S/4, S/4)
        h = self.act3(h.unflatten(0, (B, T)), sink)  # (B, T, d, S/4, S/4)
        return self.head(h.mean(1).flatten(1)), sink  # (B, d, S/4, S/4) -> (B, d·(S/4)²)
