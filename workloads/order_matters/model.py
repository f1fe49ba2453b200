"""Read-Process-Write (Vinyals, Bengio and Kudlur 2016, §4.2) and an LSTM-encoder pointer network.

* Read: each element is embedded on its own, m_i = MLP(x_i).
* Process: an LSTM with no input runs ``P`` steps of content attention over the memories,
  q_t = LSTM(q*_{t−1}), a_t = softmax_i ⟨m_i, q_t⟩, r_t = Σ_i a_{i,t} m_i, q*_t = [q_t; r_t].
  Nothing depends on the order of the memories, so q*_P is permutation invariant.
* Write: an LSTM pointer decoder, started from q*_P, points at memories (u_i = vᵀ tanh(W₁m_i + W₂h));
  its input at each step is the memory it pointed at last. As in the paper, elements already
  pointed at stay available unless ``mask_chosen`` (with the mask, "point at the smallest unused
  element" sorts any set and the encoder has nothing left to contribute).

The baseline reads the set with an LSTM in the order given (Ptr-Net, "P = 0" in the paper's table):
its memories are the LSTM outputs, and its decoder starts from the LSTM's final state.
"""

from __future__ import annotations

import torch
from torch import nn


class SetPointer(nn.Module):
    """``encoder='rpw'`` (Read-Process-Write with ``process_steps``) or ``'lstm'`` (Ptr-Net)."""

    def __init__(self, hidden: int, encoder: str, process_steps: int, mask_chosen: bool = False) -> None:
        super().__init__()
        self.hidden, self.encoder, self.process_steps, self.mask_chosen = hidden, encoder, process_steps, mask_chosen
        self.read = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
        if encoder == "lstm":
            self.enc_lstm = nn.LSTM(hidden, hidden, batch_first=True)
        else:
            self.process = nn.LSTMCell(hidden, hidden)  # input r_{t−1}, state q_{t−1}: together q*_{t−1}
            self.init_h = nn.Linear(2 * hidden, hidden)  # q*_P -> decoder state
        self.dec = nn.LSTMCell(hidden, hidden)
        self.start = nn.Parameter(torch.zeros(hidden))
        self.w_mem = nn.Linear(hidden, hidden, bias=False)
        self.w_dec = nn.Linear(hidden, hidden)
        self.v = nn.Linear(hidden, 1, bias=False)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """``x (B, N)`` -> memories ``(B, N, H)`` and the decoder's initial ``(h, c)``."""
        B, N = x.shape
        m = self.read(x.unsqueeze(-1))  # (B, N, 1) -> (B, N, H)
        if self.encoder == "lstm":
            m, (h, c) = self.enc_lstm(m)
            return m, (h[0], c[0])
        q = m.new_zeros(B, self.hidden)
        cell = m.new_zeros(B, self.hidden)
        r = m.new_zeros(B, self.hidden)
        for _ in range(self.process_steps):
            q, cell = self.process(r, (q, cell))
            a = torch.einsum("bnh,bh->bn", m, q).softmax(-1)  # (B, N) content attention
            r = torch.einsum("bn,bnh->bh", a, m)
        h0 = torch.tanh(self.init_h(torch.cat([q, r], -1)))  # q*_P = [q; r] -> (B, H)
        return m, (h0, torch.zeros_like(h0))

    def forward(self, x: torch.Tensor, targets: torch.Tensor | None = None, steps: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Pointer logits ``(B, steps, N)`` and the chosen indices ``(B, steps)``.

        With ``targets (B, steps)`` the decoder is teacher-forced; otherwise it decodes greedily.
        With ``mask_chosen``, already-chosen elements are masked to −inf.
        """
        B, N = x.shape
        steps = targets.shape[1] if targets is not None else (steps or N)
        m, (h, c) = self.encode(x)
        keys = self.w_mem(m)  # (B, N, H)
        inp = self.start.expand(B, -1)
        used = torch.zeros(B, N, dtype=torch.bool, device=x.device)
        logits, chosen = [], []
        rows = torch.arange(B, device=x.device)
        for t in range(steps):
            h, c = self.dec(inp, (h, c))
            u = self.v(torch.tanh(keys + self.w_dec(h).unsqueeze(1))).squeeze(-1)  # (B, N)
            if self.mask_chosen:
                u = u.masked_fill(used, float("-inf"))
            pick = targets[:, t] if targets is not None else u.argmax(-1)
            logits.append(u)
            chosen.append(pick)
            used = used.clone()
            used[rows, pick] = True
            inp = m[rows, pick]  # (B, H): the memory just pointed at
        return torch.stack(logits, 1), torch.stack(chosen, 1)
