"""LSTM encoder-decoder pieces shared by workloads: encoder, decoder, additive attention, search.

Sutskever et al. (2014) for the encoder-decoder, Bahdanau et al. (2015) for the additive score
u_ij = vᵀ tanh(W1 e_j + W2 d_i), which Pointer Networks (Vinyals et al., 2015) use directly as
the output distribution over input positions.

Layout: every tensor is batch-first. Sequences are ``(B, T)`` token ids or ``(B, T, F)``
features; LSTM states are ``(h, c)``, each ``(layers, B, H)`` as ``nn.LSTM`` returns them.

Search lives in :mod:`workloads.nn.decoding`, over a *step function*; :func:`lstm_step` builds
the step function of an :class:`LSTMDecoder`, and a pointer network writes its own in a few
lines. The search functions are importable from here too, as before.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from workloads.nn.decoding import StepFn


def uniform_init_(module: nn.Module, scale: float = 0.08) -> None:
    """Every parameter ~ U(−scale, scale), Sutskever et al.'s initialisation."""
    for p in module.parameters():
        nn.init.uniform_(p, -scale, scale)


def lstm_gate_bias_(lstm: nn.LSTM, init: str, t_max: int) -> None:
    """Set every layer's gate biases: ``unit_forget`` forget bias 1 (Jozefowicz et al. 2015);
    ``chrono`` (Tallec & Ollivier 2018) forget bias log U(1, t_max − 1) and input bias its negative,
    so the initial memory timescales spread up to ``t_max``; ``default`` leaves PyTorch's.
    PyTorch's gate order is (i, f, g, o) and b_ih + b_hh is the bias, so b_ih carries the set
    slices and b_hh's are zeroed."""
    if init == "default":
        return
    H = lstm.hidden_size
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("bias_ih"):
                if init == "unit_forget":
                    p[H : 2 * H] = 1.0
                else:
                    forget = torch.log(torch.empty(H).uniform_(1.0, t_max - 1.0))
                    p[H : 2 * H], p[:H] = forget, -forget
            elif name.startswith("bias_hh"):
                p[H : 2 * H] = 0.0
                if init == "chrono":
                    p[:H] = 0.0


def _input_layer(vocab: int | None, in_features: int | None, emb: int) -> nn.Module:
    if (vocab is None) == (in_features is None):
        raise ValueError("give exactly one of vocab (token inputs) or in_features (feature inputs)")
    return nn.Embedding(vocab, emb) if vocab is not None else nn.Linear(in_features, emb)


class LastStateLSTM(nn.Module):
    """The LSTM baseline of the sequence classifiers and regressors: a multi-layer LSTM over
    ``(B, T, in_features)`` and a linear head on the last position's output -> ``(B, out_features)``."""

    def __init__(self, in_features: int, hidden: int, layers: int, out_features: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_features, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, in_features) -> (B, out_features)."""
        return self.head(self.lstm(x)[0][:, -1])


class LSTMEncoder(nn.Module):
    """Embedding (token ids) or a linear projection (feature vectors), then a multi-layer LSTM.

    Args:
        hidden: LSTM width H.
        layers: stacked LSTM layers L.
        vocab: input vocabulary, for ``(B, S)`` token ids; or
        in_features: feature size F, for ``(B, S, F)`` float inputs.
        emb: embedding width.
        dropout: between LSTM layers (as ``nn.LSTM``).
    """

    def __init__(
        self,
        hidden: int,
        layers: int = 1,
        *,
        vocab: int | None = None,
        in_features: int | None = None,
        emb: int = 64,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.embed = _input_layer(vocab, in_features, emb)
        self.lstm = nn.LSTM(emb, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Returns outputs ``(B, S, H)`` (top layer) and the final ``(h, c)``, each ``(L, B, H)``."""
        return self.lstm(self.embed(x))


class AdditiveAttention(nn.Module):
    """Bahdanau's score u_ij = vᵀ tanh(W1 e_j + W2 d_i) between queries d and memory e.

    Args:
        key_dim: width of the memory vectors e_j.
        query_dim: width of the queries d_i.
        attn_dim: width of the tanh layer.
    """

    def __init__(self, key_dim: int, query_dim: int, attn_dim: int) -> None:
        super().__init__()
        self.w1 = nn.Linear(key_dim, attn_dim, bias=False)
        self.w2 = nn.Linear(query_dim, attn_dim, bias=True)
        self.v = nn.Linear(attn_dim, 1, bias=False)

    def keys(self, memory: torch.Tensor) -> torch.Tensor:
        """W1 e for every memory vector, computed once per source: ``(B, S, K) -> (B, S, A)``."""
        return self.w1(memory)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Scores ``(B, T, S)`` for queries ``(B, T, Q)`` against ``keys = self.keys(memory)``.

        ``mask`` is ``(B, S)`` or ``(B, T, S)``, True where a position may be attended; the
        others get −inf.
        """
        # (B, T, 1, A) + (B, 1, S, A) -> (B, T, S, A) -> (B, T, S)
        scores = self.v(torch.tanh(self.w2(query).unsqueeze(2) + keys.unsqueeze(1))).squeeze(-1)
        if mask is not None:
            allowed = mask.unsqueeze(1) if mask.dim() == 2 else mask  # (B, S) -> (B, 1, S)
            scores = scores.masked_fill(~allowed, float("-inf"))
        return scores


class LSTMDecoder(nn.Module):
    """A multi-layer LSTM decoder: input embedding, LSTM, optional attention, output layer.

    Without attention it is Sutskever et al.'s decoder, started from the encoder's final state.
    With attention, the top LSTM output d_t attends over the encoder outputs with
    :class:`AdditiveAttention`, and the output is W_o tanh(W_c [d_t; c_t]) (Luong et al.'s
    placement, so teacher-forced training runs the LSTM over the whole target in one call).

    Args:
        hidden: LSTM width H (must match the encoder when started from its state).
        layers: stacked LSTM layers.
        n_out: output classes per step.
        vocab / in_features: the input tokens' vocabulary, or the feature size of float inputs.
        emb: input embedding width.
        attention: attend over encoder outputs (``memory`` must be given).
        memory_dim: width of the encoder outputs (defaults to ``hidden``).
        attn_dim: width of the additive attention's tanh layer (defaults to ``hidden``).
        dropout: between LSTM layers.
    """

    def __init__(
        self,
        hidden: int,
        layers: int,
        n_out: int,
        *,
        vocab: int | None = None,
        in_features: int | None = None,
        emb: int = 64,
        attention: bool = False,
        memory_dim: int | None = None,
        attn_dim: int | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.embed = _input_layer(vocab, in_features, emb)
        self.lstm = nn.LSTM(emb, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        memory_dim = memory_dim or hidden
        self.attn = AdditiveAttention(memory_dim, hidden, attn_dim or hidden) if attention else None
        self.combine = nn.Linear(hidden + memory_dim, hidden) if attention else None
        self.out = nn.Linear(hidden, n_out)

    def run(self, y_in: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None) -> tuple[torch.Tensor, Any]:
        """Embedding and LSTM only: top-layer outputs ``(B, T, H)`` and the new ``(h, c)``."""
        return self.lstm(self.embed(y_in), state)

    def forward(
        self,
        y_in: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor] | None,
        memory: torch.Tensor | None = None,
        keys: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Logits ``(B, T, n_out)`` for inputs ``(B, T)`` (or ``(B, T, F)``) and the new state.

        ``memory`` ``(B, S, M)`` are the encoder outputs, ``keys`` their precomputed
        ``self.attn.keys(memory)`` (computed here when None), ``mask`` ``(B, S)`` True where valid.
        """
        d, state = self.run(y_in, state)  # (B, T, H)
        if self.attn is not None:
            if memory is None:
                raise ValueError("this decoder attends: pass the encoder outputs as memory")
            keys = self.attn.keys(memory) if keys is None else keys
            weights = self.attn(d, keys, mask).softmax(dim=-1)  # (B, T, S)
            context = weights @ memory  # (B, T, S) @ (B, S, M) -> (B, T, M)
            d = torch.tanh(self.combine(torch.cat([d, context], dim=-1)))  # (B, T, H)
        return self.out(d), state


# -- decoding --------------------------------------------------------------------------------


def lstm_state(
    hc: tuple[torch.Tensor, torch.Tensor],
    memory: torch.Tensor | None = None,
    keys: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
) -> tuple:
    """The batch-first decoding state of :func:`lstm_step` from an encoder's ``(h, c)``.

    ``(L, B, H) -> (B, L, H)`` for h and c, so search can index the batch on dim 0.
    """
    h, c = hc
    return (h.transpose(0, 1), c.transpose(0, 1), memory, keys, mask)


def lstm_step(decoder: LSTMDecoder) -> StepFn:
    """The step function of an :class:`LSTMDecoder` over the state built by :func:`lstm_state`."""

    def step(tokens: torch.Tensor, state: tuple) -> tuple[torch.Tensor, tuple]:
        h, c, memory, keys, mask = state
        # (B, L, H) -> (L, B, H), as nn.LSTM wants
        hc = (h.transpose(0, 1).contiguous(), c.transpose(0, 1).contiguous())
        logits, (h, c) = decoder(tokens.unsqueeze(1), hc, memory, keys, mask)  # (N, 1, V)
        return F.log_softmax(logits.squeeze(1), dim=-1), (h.transpose(0, 1), c.transpose(0, 1), memory, keys, mask)

    return step
