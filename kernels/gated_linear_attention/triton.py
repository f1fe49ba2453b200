"""Gated linear attention in Triton: chunked forward and hand-written backward.

The intra-chunk terms run in parallel over chunks (grid (chunks, B*H)); only the state
recurrence is sequential (one program per (batch, head), S [K, V] on chip). Within a chunk,
b = cumsum(g) (≤ 0); every exponent the kernels evaluate is ≤ 0:

    forward:   o = (q ⊙ e^{b}) S + Σ_{j ≤ i} (Σ_k q_ik k_jk e^{b_ik − b_jk}) v_j
               S ← e^{b_C} ⊙ S + (k ⊙ e^{b_C − b})ᵀ v
    backward (chunks in reverse, dS on chip, S re-read from the stored chunk starts):
               dq = (do Sᵀ) ⊙ e^{b} + intra,   dk = (v dSᵀ) ⊙ e^{b_C − b} + intra,
               dv = intra + (k ⊙ e^{b_C − b}) dS,   dS ← e^{b_C} ⊙ dS + (q ⊙ e^{b})ᵀ do

The intra-chunk terms loop over the chunk's columns j (pairwise e^{b_i − b_j} masked to i ≥ j
before exp, as fla does for its 16-row diagonal blocks), so they need no [C, C, K] tensor.
The gate's gradient follows from the others without another pass (fla's identity): with
β = the global cumulative log-decay, ∂L/∂β_t = q_t ⊙ dq_t − k_t ⊙ dk_t (+ S_T ⊙ dS_T summed
over V at t = T), and dg_t = Σ_{s ≥ t} ∂L/∂β_s, a reverse cumsum in PyTorch.

``tl.dot`` dims are ≥ 16 with power-of-two blocks (BT = chunk size, BK/BV = K/V padded to a
power of two ≥ 16, masked), so the kernels are valid on a GPU; under TRITON_INTERPRET=1
they run on CPU.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from kernels.triton_launch import STATE_LOOP_STAGES, chunk_launch_meta


@triton.jit
def _load_chunk(q_ptr, k_ptr, v_ptr, g_ptr, i_b, i_h, i_c, T, H, K: tl.constexpr, V: tl.constexpr,
                BT: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr):
    o_t = i_c * BT + tl.arange(0, BT)
    o_k = tl.arange(0, BK)
    o_v = tl.arange(0, BV)
    row = (i_b * T + o_t) * H + i_h  # flat (b, t, h) index of each row
    m_tk = (o_t[:, None] < T) & (o_k[None, :] < K)
    m_tv = (o_t[:, None] < T) & (o_v[None, :] < V)
    b_q = tl.load(q_ptr + row[:, None] * K + o_k[None, :], mask=m_tk, other=0.0).to(tl.float32)
    b_k = tl.load(k_ptr + row[:, None] * K + o_k[None, :], mask=m_tk, other=0.0).to(tl.float32)
    b_v = tl.load(v_ptr + row[:, None] * V + o_v[None, :], mask=m_tv, other=0.0).to(tl.float32)
    b_g = tl.load(g_ptr + row[:, None] * K + o_k[None, :], mask=m_tk, other=0.0).to(tl.float32)
    return b_q, b_k, b_v, b_g, row, m_tk, m_tv


@triton.jit
def _row(x, sel):
    """Row ``sel`` (a one-hot row mask) of a 2-D block, as a 1-D vector."""
    return tl.sum(tl.where(sel[:, None], x, 0.0), 0)


@triton.jit
def _gla_intra_fwd_kernel(q_ptr, k_ptr, v_ptr, g_ptr, o_ptr, scale, T, H, K: tl.constexpr, V: tl.constexpr,
                          BT: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr):
    """Grid (chunks, B*H), in parallel: o_i = Σ_{j ≤ i} (Σ_k q_ik k_jk e^{b_ik − b_jk}) v_j (float32)."""
    i_c = tl.program_id(0)
    i_bh = tl.program_id(1)
    i_b = i_bh // H
    i_h = i_bh % H
    o_t = tl.arange(0, BT)
    o_v = tl.arange(0, BV)
    b_q, b_k, b_v, b_g, row, m_tk, m_tv = _load_chunk(q_ptr, k_ptr, v_ptr, g_ptr, i_b, i_h, i_c, T, H,
                                                       K, V, BT, BK, BV)
    b_q = b_q * scale
    b_b = tl.cumsum(b_g, axis=0)  # within-chunk cumulative log-decay (padded rows add 0)
    b_o = tl.zeros([BT, BV], dtype=tl.float32)
    for j in range(BT):
        sel = o_t == j
        b_kj = _row(b_k, sel)
        b_bj = _row(b_b, sel)
        b_vj = _row(b_v, sel)
        b_e = tl.exp(tl.where(o_t[:, None] >= j, b_b - b_bj[None, :], float("-inf")))  # ≤ 1
        b_a = tl.sum(b_q * b_kj[None, :] * b_e, 1)  # column j of the intra-chunk scores
        b_o += b_a[:, None] * b_vj[None, :]
    tl.store(o_ptr + row[:, None] * V + o_v[None, :], b_o, mask=m_tv)


@triton.jit
def _gla_fwd_kernel(q_ptr, k_ptr, v_ptr, g_ptr, h0_ptr, oi_ptr, o_ptr, hs_ptr, ht_ptr, scale, T, H, NT,
                    K: tl.constexpr, V: tl.constexpr, BT: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
                    HAS_H0: tl.constexpr, PREC: tl.constexpr):
    """Grid (B*H,), chunks in order: o = o_intra + (q ⊙ e^b) S, S ← e^{b_C} ⊙ S + (k ⊙ e^{b_C − b})ᵀ v."""
    i_bh = tl.program_id(0)
    i_b = i_bh // H
    i_h = i_bh % H
    o_k = tl.arange(0, BK)
    o_v = tl.arange(0, BV)
    m_kv = (o_k[:, None] < K) & (o_v[None, :] < V)
    p_state = o_k[:, None] * V + o_v[None, :]
    if HAS_H0:
        b_S = tl.load(h0_ptr + i_bh * K * V + p_state, mask=m_kv, other=0.0).to(tl.float32)
    else:
        b_S = tl.zeros([BK, BV], dtype=tl.float32)
    for i_c in range(NT):
        tl.store(hs_ptr + (i_bh * NT + i_c) * K * V + p_state, b_S, mask=m_kv)
        b_q, b_k, b_v, b_g, row, m_tk, m_tv = _load_chunk(q_ptr, k_ptr, v_ptr, g_ptr, i_b, i_h, i_c, T, H,
                                                           K, V, BT, BK, BV)
        b_b = tl.cumsum(b_g, axis=0)
        b_last = tl.sum(b_g, axis=0)  # b at the chunk's last row
        b_o = tl.load(oi_ptr + row[:, None] * V + o_v[None, :], mask=m_tv, other=0.0)
        b_o += tl.dot(b_q * scale * tl.exp(b_b), b_S, input_precision=PREC)
        tl.store(o_ptr + row[:, None] * V + o_v[None, :], b_o.to(o_ptr.dtype.element_ty), mask=m_tv)
        b_kd = b_k * tl.exp(b_last[None, :] - b_b)  # decayed to the chunk end, exponent ≤ 0
        b_S = tl.exp(b_last)[:, None] * b_S + tl.dot(tl.trans(b_kd), b_v, input_precision=PREC)
    tl.store(ht_ptr + i_bh * K * V + p_state, b_S, mask=m_kv)


@triton.jit
def _gla_bwd_state_kernel(q_ptr, k_ptr, v_ptr, g_ptr, hs_ptr, do_ptr, dht_ptr, dq_ptr, dk_ptr, dv_ptr, dh0_ptr,
                          scale, T, H, NT, K: tl.constexpr, V: tl.constexpr, BT: tl.constexpr, BK: tl.constexpr,
                          BV: tl.constexpr, HAS_DHT: tl.constexpr, PREC: tl.constexpr):
    """Grid (B*H,), chunks in reverse, dS on chip: the inter-chunk parts of dq, dk, dv (float32)."""
    i_bh = tl.program_id(0)
    i_b = i_bh // H
    i_h = i_bh % H
    o_k = tl.arange(0, BK)
    o_v = tl.arange(0, BV)
    m_kv = (o_k[:, None] < K) & (o_v[None, :] < V)
    p_state = o_k[:, None] * V + o_v[None, :]
    if HAS_DHT:
        b_dS = tl.load(dht_ptr + i_bh * K * V + p_state, mask=m_kv, other=0.0).to(tl.float32)
    else:
        b_dS = tl.zeros([BK, BV], dtype=tl.float32)
    for jj in range(NT):
        i_c = NT - 1 - jj
        b_S = tl.load(hs_ptr + (i_bh * NT + i_c) * K * V + p_state, mask=m_kv, other=0.0)
        b_q, b_k, b_v, b_g, row, m_tk, m_tv = _load_chunk(q_ptr, k_ptr, v_ptr, g_ptr, i_b, i_h, i_c, T, H,
                                                           K, V, BT, BK, BV)
        b_q = b_q * scale
        b_do = tl.load(do_ptr + row[:, None] * V + o_v[None, :], mask=m_tv, other=0.0).to(tl.float32)
        b_b = tl.cumsum(b_g, axis=0)
        b_last = tl.sum(b_g, axis=0)
        b_eb = tl.exp(b_b)
        b_kdecay = tl.exp(b_last[None, :] - b_b)
        b_dq = tl.dot(b_do, tl.trans(b_S), input_precision=PREC) * b_eb
        b_dk = tl.dot(b_v, tl.trans(b_dS), input_precision=PREC) * b_kdecay
        b_dv = tl.dot(b_k * b_kdecay, b_dS, input_precision=PREC)
        tl.store(dq_ptr + row[:, None] * K + o_k[None, :], b_dq, mask=m_tk)
        tl.store(dk_ptr + row[:, None] * K + o_k[None, :], b_dk, mask=m_tk)
        tl.store(dv_ptr + row[:, None] * V + o_v[None, :], b_dv, mask=m_tv)
        b_dS = tl.exp(b_last)[:, None] * b_dS + tl.dot(tl.trans(b_q * b_eb), b_do, input_precision=PREC)
    tl.store(dh0_ptr + i_bh * K * V + p_state, b_dS, mask=m_kv)


@triton.jit
def _gla_intra_bwd_kernel(q_ptr, k_ptr, v_ptr, g_ptr, do_ptr, dq_ptr, dk_ptr, dv_ptr, scale, T, H,
                          K: tl.constexpr, V: tl.constexpr, BT: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr):
    """Grid (chunks, B*H), in parallel: adds the intra-chunk parts to dq, dk, dv (in place, float32)."""
    i_c = tl.program_id(0)
    i_bh = tl.program_id(1)
    i_b = i_bh // H
    i_h = i_bh % H
    o_t = tl.arange(0, BT)
    o_k = tl.arange(0, BK)
    o_v = tl.arange(0, BV)
    b_q, b_k, b_v, b_g, row, m_tk, m_tv = _load_chunk(q_ptr, k_ptr, v_ptr, g_ptr, i_b, i_h, i_c, T, H,
                                                       K, V, BT, BK, BV)
    b_q = b_q * scale
    b_do = tl.load(do_ptr + row[:, None] * V + o_v[None, :], mask=m_tv, other=0.0).to(tl.float32)
    b_dq = tl.load(dq_ptr + row[:, None] * K + o_k[None, :], mask=m_tk, other=0.0)
    b_dk = tl.load(dk_ptr + row[:, None] * K + o_k[None, :], mask=m_tk, other=0.0)
    b_dv = tl.load(dv_ptr + row[:, None] * V + o_v[None, :], mask=m_tv, other=0.0)
    b_b = tl.cumsum(b_g, axis=0)
    for j in range(BT):
        sel = o_t == j
        b_kj = _row(b_k, sel)
        b_bj = _row(b_b, sel)
        b_vj = _row(b_v, sel)
        b_e = tl.exp(tl.where(o_t[:, None] >= j, b_b - b_bj[None, :], float("-inf")))  # [BT, BK], ≤ 1
        b_a = tl.sum(b_q * b_kj[None, :] * b_e, 1)  # A[:, j]
        b_da = tl.sum(b_do * b_vj[None, :], 1) * (o_t >= j)  # dA[:, j]
        b_dq += b_da[:, None] * b_kj[None, :] * b_e
        b_dkj = tl.sum(b_da[:, None] * b_q * b_e, 0)  # [BK]
        b_dvj = tl.sum(b_a[:, None] * b_do, 0)  # [BV]
        b_dk += tl.where(sel[:, None], b_dkj[None, :], 0.0)
        b_dv += tl.where(sel[:, None], b_dvj[None, :], 0.0)
    tl.store(dq_ptr + row[:, None] * K + o_k[None, :], b_dq * scale, mask=m_tk)
    tl.store(dk_ptr + row[:, None] * K + o_k[None, :], b_dk, mask=m_tk)
    tl.store(dv_ptr + row[:, None] * V + o_v[None, :], b_dv, mask=m_tv)


class _GLAFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, g, h0, scale, chunk_size):
        B, T, H, K = q.shape
        V = v.shape[-1]
        NT = triton.cdiv(T, chunk_size)
        q, k, v, g = (x.contiguous() for x in (q, k, v, g))
        meta = chunk_launch_meta(q, K, V, chunk_size)
        prec = meta.pop("PREC")
        o_intra = torch.empty(B, T, H, V, device=q.device, dtype=torch.float32)
        _gla_intra_fwd_kernel[(NT, B * H)](q, k, v, g, o_intra, scale, T, H, **meta)
        o = torch.empty(B, T, H, V, device=q.device, dtype=v.dtype)
        hs = torch.empty(B, H, NT, K, V, device=q.device, dtype=torch.float32)  # chunk-start states
        ht = torch.empty(B, H, K, V, device=q.device, dtype=torch.float32)
        h0c = h0.float().contiguous() if h0 is not None else ht  # dummy pointer when absent
        _gla_fwd_kernel[(B * H,)](q, k, v, g, h0c, o_intra, o, hs, ht, scale, T, H, NT,
                                  HAS_H0=h0 is not None, PREC=prec, num_stages=STATE_LOOP_STAGES, **meta)
        ctx.save_for_backward(q, k, v, g, hs, ht)
        ctx.scale, ctx.chunk_size, ctx.h0_dtype = scale, chunk_size, None if h0 is None else h0.dtype
        return o, ht

    @staticmethod
    def backward(ctx, do, dht):
        q, k, v, g, hs, ht = ctx.saved_tensors
        B, T, H, K = q.shape
        V = v.shape[-1]
        NT = hs.shape[2]
        meta = chunk_launch_meta(q, K, V, ctx.chunk_size)
        prec = meta.pop("PREC")
        dq = torch.empty(B, T, H, K, device=q.device, dtype=torch.float32)
        dk = torch.empty(B, T, H, K, device=q.device, dtype=torch.float32)
        dv = torch.empty(B, T, H, V, device=q.device, dtype=torch.float32)
        dh0 = torch.empty(B, H, K, V, device=q.device, dtype=torch.float32)
        do = do.contiguous()
        dht_c = dht.float().contiguous() if dht is not None else dh0
        _gla_bwd_state_kernel[(B * H,)](q, k, v, g, hs, do, dht_c, dq, dk, dv, dh0, ctx.scale, T, H, NT,
                                        HAS_DHT=dht is not None, PREC=prec, num_stages=STATE_LOOP_STAGES, **meta)
        _gla_intra_bwd_kernel[(NT, B * H)](q, k, v, g, do, dq, dk, dv, ctx.scale, T, H, **meta)
        # dg_t = Σ_{s ≥ t} (q_s dq_s − k_s dk_s) + Σ_v S_T dS_T   (all in float32)
        dlogdecay = q.float() * dq - k.float() * dk  # (B, T, H, K)
        dg = dlogdecay.flip(1).cumsum(1).flip(1)
        if dht is not None:
            dg = dg + (ht * dht.float()).sum(-1)[:, None]  # (B, H, K) -> (B, 1, H, K)
        dh0 = None if ctx.h0_dtype is None else dh0.to(ctx.h0_dtype)
        return dq.to(q.dtype), dk.to(k.dtype), dv.to(v.dtype), dg.to(g.dtype), dh0, None, None


def triton_gated_linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    chunk_size: int = 64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Triton GLA, forward and backward; same signature and results as the naive loop.

    ``chunk_size`` must be a power of two ≥ 16. Returns ``(o, final_state)``, the final
    state in float32.
    """
    K = q.shape[-1]
    scale = K**-0.5 if scale is None else scale
    return _GLAFunction.apply(q, k, v, g, initial_state, float(scale), int(chunk_size))
