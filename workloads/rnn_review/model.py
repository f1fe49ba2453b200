"""Vanilla RNN / GRU / LSTM, uni- or bidirectional, with a sequence or per-step readout.

h_t = tanh(W_x x_t + W_h h_{t−1} + b) (RNN); LSTM gates i, f, o with c_t = f⊙c_{t−1} + i⊙g,
h_t = o⊙tanh(c_t); a BRNN runs a second RNN right-to-left and concatenates the two states.
"""

from __future__ import annotations

import torch
from torch import nn

_CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class RecurrentNet(nn.Module):
    """Embedding or features → RNN → linear head.

    Args:
        cell: "rnn" (tanh), "gru" or "lstm".
        hidden: units per direction.
        layers: stacked layers.
        bidirectional: add a right-to-left RNN.
        n_out: outputs per readout.
        in_features: feature size for float inputs ``(B, T, F)``; or
        vocab: vocabulary for token inputs ``(B, T)``.
        per_step: read out at every step ``(B, T, n_out)``; else once per sequence ``(B, n_out)``
            from the final state(s).
        forget_bias: LSTM forget-gate bias at init (split over b_ih and b_hh).
    """

    def __init__(
        self, cell: str, hidden: int, layers: int, bidirectional: bool, n_out: int, *,
        in_features: int | None = None, vocab: int | None = None, per_step: bool = False, forget_bias: float = 1.0,
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden) if vocab is not None else None
        width = hidden if vocab is not None else in_features
        self.rnn = _CELLS[cell](width, hidden, layers, batch_first=True, bidirectional=bidirectional)
        if cell == "lstm":
            for name, p in self.rnn.named_parameters():
                if name.startswith("bias"):
                    with torch.no_grad():  # gate order i, f, g, o: the second quarter is f
                        p[hidden : 2 * hidden].fill_(forget_bias / 2)
        self.per_step = per_step
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T[, F]) -> (B, T, n_out)`` per step, else ``(B, n_out)``."""
        if self.embed is not None:
            x = self.embed(x)  # (B, T) -> (B, T, H)
        out, _ = self.rnn(x)  # (B, T, dirs*H)
        if self.per_step:
            return self.head(out)
        H = self.rnn.hidden_size
        if self.rnn.bidirectional:  # forward direction's last step, backward direction's first
            last = torch.cat([out[:, -1, :H], out[:, 0, H:]], dim=-1)  # (B, 2H)
        else:
            last = out[:, -1]  # (B, H)
        return self.head(last)
