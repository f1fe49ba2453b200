"""S4D stack with optional (SMA-gated) attention: embedding → [SSMBlock, x + GAU(norm x)] × layers → head."""

from __future__ import annotations

import torch
from torch import nn

from workloads.nn.s4 import SSMBlock
from workloads.nn.sma import SMAGatedGAU


class SeqBoatLM(nn.Module):
    """Logits ``(B, T, vocab)``, the activation mask and the gate probabilities ``(layers, B, T)`` from tokens ``(B, T)``.

    ``variant``: ``ssm`` (pure S4D stack), ``dense`` (attention on every token) or ``seqboat``
    (SMA-gated attention over the activated tokens only).
    """

    def __init__(self, vocab: int, cfg) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, cfg.d_model)
        self.ssms = nn.ModuleList(SSMBlock(cfg.d_model, cfg.state, "s4d") for _ in range(cfg.layers))
        self.attn = nn.ModuleList()
        self.norms = nn.ModuleList()
        if cfg.variant != "ssm":
            dense = cfg.variant == "dense"
            for _ in range(cfg.layers):
                self.norms.append(nn.LayerNorm(cfg.d_model))
                self.attn.append(SMAGatedGAU(cfg.d_model, cfg.dense_window if dense else cfg.window,
                                             temperature=cfg.temperature, gate_bias=cfg.gate_bias, dense=dense))
        self.norm = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, vocab)

    def forward(self, tokens: torch.Tensor, noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(B, T) -> ((B, T, vocab), (layers, B, T) bool, (layers, B, T))``; pure SSM: all off, p = 0.

        ``noise`` ``(layers, B, T)`` uniform: sampled gates (training); None: thresholded gates.
        """
        x = self.embed(tokens)
        active, probs = [], []
        for i, ssm in enumerate(self.ssms):
            x = ssm(x)
            if self.attn:
                y, on, p = self.attn[i](self.norms[i](x), None if noise is None else noise[i])
                x = x + y
            else:
                on, p = torch.zeros(tokens.shape, dtype=torch.bool, device=tokens.device), x.new_zeros(tokens.shape)
            active.append(on)
            probs.append(p)
        return self.head(self.norm(x)), torch.stack(active), torch.stack(probs)
