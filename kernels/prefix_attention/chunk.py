"""Prefix attention by chunks: every output at once, stable without a sequential scan.

All weights are taken against the running max r_t = max(m0, max_{i ≤ t} s_i), which only
grows, so every exponent below is ≤ 0 (nothing overflows):

1. r = cummax(s) (detached: o_t is invariant to the reference, so gradients stay exact).
2. Inside a chunk: P_{t,i} = exp(s_i − r_t) for i ≤ t, numerator P v, denominator P 1.
3. Chunk summaries against the chunk's last reference e_c: S_c = Σ exp(s_i − e_c) v_i, Z_c.
4. States entering chunk c (reference e_{c−1}): W_c = Σ_{c' < c} exp(e_{c'} − e_{c−1}) S_{c'}
   (+ the initial state), one [nc, nc] matrix product.
5. o_t = (P v + exp(e_{c−1} − r_t) W_c) / (P 1 + exp(e_{c−1} − r_t) U_c).

The final state (m, u, w) is re-attached to the differentiable max so its gradients are exact too.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from kernels.prefix_attention.naive import State


def chunk_prefix_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: State | None = None,
    output_final_state: bool = False,
    chunk_size: int = 64,
) -> tuple[torch.Tensor, State | None]:
    """Chunked prefix attention (shapes as in :func:`naive_prefix_attention`); returns (o, state)."""
    dtype = torch.float64 if k.dtype == torch.float64 else torch.float32
    q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
    batch, T, H, K = k.shape
    V = v.shape[-1]
    L = chunk_size
    scale = K**-0.5 if scale is None else scale
    s = torch.einsum("bthk,bhk->bht", k, q) * scale  # (B, H, T)
    if initial_state is None:
        m0, u0, w0 = s[..., 0].detach(), s.new_zeros(batch, H), s.new_zeros(batch, H, V)
    else:
        m0, u0, w0 = (t.to(dtype) for t in initial_state)
    pad = (-T) % L
    nc = (T + pad) // L
    s = F.pad(s, (0, pad), value=float("-inf"))  # a padded token has zero weight
    vc = F.pad(v, (0, 0, 0, 0, 0, pad)).permute(0, 2, 1, 3).reshape(batch, H, nc, L, V)  # (B, T, H, V) -> (B, H, nc, L, V)
    r = torch.maximum(torch.cummax(s.detach(), dim=-1).values, m0.detach().unsqueeze(-1))  # (B, H, T + pad)
    sc, rc = s.view(batch, H, nc, L), r.view(batch, H, nc, L)  # (B, H, T + pad) -> (B, H, nc, L)
    # 2. within chunks
    causal = torch.ones(L, L, dtype=torch.bool, device=k.device).tril()
    logits = (sc.unsqueeze(-2) - rc.unsqueeze(-1)).masked_fill(~causal, float("-inf"))  # (B, H, nc, L_t, L_i)
    P = torch.exp(logits)
    num = P @ vc  # (B, H, nc, L, V)
    den = P.sum(-1)  # (B, H, nc, L)
    # 3. chunk summaries against each chunk's last reference
    end = rc[..., -1]  # (B, H, nc)
    e = torch.exp(sc - end.unsqueeze(-1))  # (B, H, nc, L)
    S = (e.unsqueeze(-1) * vc).sum(-2)  # (B, H, nc, V)
    Z = e.sum(-1)  # (B, H, nc)
    # 4. states entering each chunk, against the previous chunk's reference (m0 for the first)
    start = torch.cat([m0.detach().unsqueeze(-1), end[..., :-1]], dim=-1)  # (B, H, nc)
    earlier = torch.ones(nc, nc, dtype=torch.bool, device=k.device).tril(-1)
    G = torch.exp((end.unsqueeze(-2) - start.unsqueeze(-1)).masked_fill(~earlier, float("-inf")))  # (B, H, nc_c, nc_c')
    carry = torch.exp(m0.unsqueeze(-1) - start)  # (B, H, nc): the initial state seen from each chunk's start
    W = G @ S + carry.unsqueeze(-1) * w0.unsqueeze(-2)  # (B, H, nc, V)
    U = (G @ Z.unsqueeze(-1)).squeeze(-1) + carry * u0.unsqueeze(-1)  # (B, H, nc)
    # 5. combine
    decay = torch.exp(start.unsqueeze(-1) - rc)  # (B, H, nc, L)
    o = (num + decay.unsqueeze(-1) * W.unsqueeze(-2)) / (den + decay * U.unsqueeze(-1)).unsqueeze(-1)
    o = o.reshape(batch, H, nc * L, V)[:, :, :T].permute(0, 2, 1, 3)  # (B, H, nc, L, V) -> (B, T, H, V)
    if not output_final_state:
        return o, None
    last = end[..., -1]  # (B, H) reference after the last token
    tail = torch.exp(end - last.unsqueeze(-1))  # (B, H, nc)
    w_end = (tail.unsqueeze(-1) * S).sum(-2) + torch.exp(m0 - last).unsqueeze(-1) * w0
    u_end = (tail * Z).sum(-1) + torch.exp(m0 - last) * u0
    m_end = s[..., :T].max(-1).values  # differentiable; equals `last`
    if initial_state is not None:
        m_end = torch.maximum(m0, m_end)
    rescale = torch.exp(last - m_end)  # 1 in value, carries d/dm
    return o, (m_end, u_end * rescale, w_end * rescale.unsqueeze(-1))
