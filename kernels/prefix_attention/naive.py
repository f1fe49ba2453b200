"""Aaren's attention-as-an-RNN, one Python step per token: the oracle.

Shape legend (one layout for every op in ``kernels/``)::

    q      [B, H, K]      one query per head (Aaren: a learned, input-independent query)
    k      [B, T, H, K]   keys
    v      [B, T, H, V]   values
    o      [B, T, H, V]   o_t = softmax over i ≤ t of (q·k_i · scale) applied to v_i
    state  (m [B, H], u [B, H], w [B, H, V])   running max, denominator, numerator

    s_t = scale · q·k_t
    m_t = max(m_{t−1}, s_t)
    u_t = u_{t−1} e^{m_{t−1} − m_t} + e^{s_t − m_t}
    w_t = w_{t−1} e^{m_{t−1} − m_t} + v_t e^{s_t − m_t}
    o_t = w_t / u_t
"""

from __future__ import annotations

import torch

State = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def prefix_attention_step(s_t: torch.Tensor, v_t: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
    """One token: score s_t [B, H], value v_t [B, H, V], state (m, u, w) -> (o_t [B, H, V], new state)."""
    m, u, w = state
    m_new = torch.maximum(m, s_t)
    old, new = torch.exp(m - m_new), torch.exp(s_t - m_new)
    u = u * old + new
    w = w * old.unsqueeze(-1) + v_t * new.unsqueeze(-1)
    return w / u.unsqueeze(-1), (m_new, u, w)


def naive_prefix_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: State | None = None,
    output_final_state: bool = False,
    chunk_size: int = 64,
) -> tuple[torch.Tensor, State | None]:
    """Run the (m, u, w) recurrence token by token in float32 (float64 if given); returns (o, state).

    ``chunk_size`` is accepted for signature parity with the other backends and ignored.
    """
    del chunk_size
    dtype = torch.float64 if k.dtype == torch.float64 else torch.float32
    q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
    batch, T, H, K = k.shape
    scale = K**-0.5 if scale is None else scale
    s = torch.einsum("bthk,bhk->bth", k, q) * scale  # (B, T, H)
    if initial_state is None:
        state = (s.new_full((batch, H), float("-inf")), s.new_zeros(batch, H), v.new_zeros(batch, H, v.shape[-1]))
    else:
        state = tuple(t.to(dtype) for t in initial_state)
    outs = []
    for t in range(T):
        o_t, state = prefix_attention_step(s[:, t], v[:, t], state)
        outs.append(o_t)
    o = torch.stack(outs, dim=1)  # T × (B, H, V) -> (B, T, H, V)
    return o, (state if output_final_state else None)
