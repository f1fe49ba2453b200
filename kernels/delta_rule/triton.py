"""Delta rule in Triton: chunked WY/UT forward and its hand-written backward.

Four kernels, as in fla's layout: the WY work is parallel over chunks, only the state
recurrence is sequential (one program per (batch, head), S [K, V] kept on chip):

    _wy_fwd_kernel        (chunks in parallel) A = tril(diag(β) K Kᵀ, −1); Tm = (I + A)^{-1} by
                          forward substitution; W = Tm diag(β) K; U = Tm diag(β) V
    _delta_rule_fwd_kernel (sequential) U' = U − W S; O = Q S + tril(Q Kᵀ) U'; store S (chunk
                          start); S ← S + Kᵀ U'
    _delta_rule_bwd_state_kernel (sequential, chunks in reverse, dS on chip):
                          dU' = tril(QKᵀ)ᵀ dO + K dS;  dQ = dO Sᵀ + tril(dO U'ᵀ) K;
                          dK₁ = tril(dO U'ᵀ)ᵀ Q + U' dSᵀ;  dS ← Qᵀ dO + dS − Wᵀ dU'
    _wy_bwd_kernel        (chunks in parallel) dW = −dU' Sᵀ; dTm = dW (βK)ᵀ + dU' (βV)ᵀ;
                          dA = −Tmᵀ dTm Tmᵀ (strictly lower); then dK, dV, dβ through
                          W, U and A = tril(βK Kᵀ, −1)

Every ``tl.dot`` has dims ≥ 16 and power-of-two blocks (BT = chunk size, BK/BV = K/V padded
to a power of two ≥ 16, masked), so the kernels are valid on a GPU; under TRITON_INTERPRET=1
they run on CPU. float32 inputs use IEEE-precision dots; half inputs use tf32.
DeltaProduct (n > 1) runs as n sub-tokens (``product.expand_queries``).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from kernels.delta_rule.product import expand_queries, select_outputs
from kernels.triton_launch import STATE_LOOP_STAGES, chunk_launch_meta


@triton.jit
def _load_chunk(a_ptr, k_ptr, c_ptr, d_ptr, i_b, i_h, i_c, L, H, K: tl.constexpr, V: tl.constexpr,
                BT: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr, WU: tl.constexpr = False):
    """Rows of chunk i_c as float32 blocks: (q, k, v, beta), or with WU (q, k, W, U)."""
    o_t = i_c * BT + tl.arange(0, BT)
    o_k = tl.arange(0, BK)
    o_v = tl.arange(0, BV)
    m_t = o_t < L
    row = (i_b * L + o_t) * H + i_h  # flat (b, t, h) index of each row
    m_tk = m_t[:, None] & (o_k[None, :] < K)
    m_tv = m_t[:, None] & (o_v[None, :] < V)
    b_a = tl.load(a_ptr + row[:, None] * K + o_k[None, :], mask=m_tk, other=0.0).to(tl.float32)
    b_k = tl.load(k_ptr + row[:, None] * K + o_k[None, :], mask=m_tk, other=0.0).to(tl.float32)
    if WU:
        b_c = tl.load(c_ptr + row[:, None] * K + o_k[None, :], mask=m_tk, other=0.0).to(tl.float32)
        b_d = tl.load(d_ptr + row[:, None] * V + o_v[None, :], mask=m_tv, other=0.0).to(tl.float32)
    else:
        b_c = tl.load(c_ptr + row[:, None] * V + o_v[None, :], mask=m_tv, other=0.0).to(tl.float32)
        b_d = tl.load(d_ptr + row, mask=m_t, other=0.0).to(tl.float32)
    return b_a, b_k, b_c, b_d


@triton.jit
def _wy_factors(b_k, b_v, b_beta, BT: tl.constexpr, PREC: tl.constexpr):
    """Tm = (I + tril(diag(β) K Kᵀ, −1))^{-1}, and W = Tm diag(β) K, U = Tm diag(β) V."""
    o_t = tl.arange(0, BT)
    b_kb = b_k * b_beta[:, None]
    b_vb = b_v * b_beta[:, None]
    b_A = tl.dot(b_kb, tl.trans(b_k), input_precision=PREC)
    b_N = tl.where(o_t[:, None] > o_t[None, :], -b_A, 0.0)  # N = −A, strictly lower
    # (I − N)^{-1} = I + Y with Y_i = N_i + Σ_{j<i} N_ij Y_j: rows in order (forward substitution)
    for i in range(1, BT):
        sel = o_t == i
        b_row = tl.sum(tl.where(sel[:, None], b_N, 0.0), 0)
        b_row = b_row + tl.sum(b_row[:, None] * b_N, 0) * (o_t < i)
        b_N = tl.where(sel[:, None], b_row[None, :], b_N)
    b_Tm = b_N + (o_t[:, None] == o_t[None, :]).to(tl.float32)
    b_W = tl.dot(b_Tm, b_kb, input_precision=PREC)
    b_U = tl.dot(b_Tm, b_vb, input_precision=PREC)
    return b_A, b_Tm, b_kb, b_vb, b_W, b_U


@triton.jit
def _wy_fwd_kernel(k_ptr, v_ptr, beta_ptr, w_ptr, u_ptr, L, H, K: tl.constexpr, V: tl.constexpr,
                   BT: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr, PREC: tl.constexpr):
    """Grid (chunks, B*H), all chunks in parallel: W = Tm βK and U = Tm βV, stored in float32."""
    i_c = tl.program_id(0)
    i_bh = tl.program_id(1)
    i_b = i_bh // H
    i_h = i_bh % H
    b_q, b_k, b_v, b_beta = _load_chunk(k_ptr, k_ptr, v_ptr, beta_ptr, i_b, i_h, i_c, L, H, K, V, BT, BK, BV)
    b_A, b_Tm, b_kb, b_vb, b_W, b_U = _wy_factors(b_k, b_v, b_beta, BT, PREC)
    o_t = i_c * BT + tl.arange(0, BT)
    o_k = tl.arange(0, BK)
    o_v = tl.arange(0, BV)
    row = (i_b * L + o_t) * H + i_h
    m_t = o_t < L
    tl.store(w_ptr + row[:, None] * K + o_k[None, :], b_W, mask=m_t[:, None] & (o_k[None, :] < K))
    tl.store(u_ptr + row[:, None] * V + o_v[None, :], b_U, mask=m_t[:, None] & (o_v[None, :] < V))


@triton.jit
def _delta_rule_fwd_kernel(q_ptr, k_ptr, w_ptr, u_ptr, h0_ptr, o_ptr, hs_ptr, ht_ptr, scale, L, H, NT,
                           K: tl.constexpr, V: tl.constexpr, BT: tl.constexpr, BK: tl.constexpr,
                           BV: tl.constexpr, HAS_H0: tl.constexpr, PREC: tl.constexpr):
    """Grid (B*H,), chunks in order: U' = U − W S, O = Q S + tril(Q Kᵀ) U', S ← S + Kᵀ U'."""
    i_bh = tl.program_id(0)
    i_b = i_bh // H
    i_h = i_bh % H
    o_t = tl.arange(0, BT)
    o_k = tl.arange(0, BK)
    o_v = tl.arange(0, BV)
    m_kv = (o_k[:, None] < K) & (o_v[None, :] < V)
    p_state = o_k[:, None] * V + o_v[None, :]
    causal = o_t[:, None] >= o_t[None, :]
    if HAS_H0:
        b_S = tl.load(h0_ptr + i_bh * K * V + p_state, mask=m_kv, other=0.0).to(tl.float32)
    else:
        b_S = tl.zeros([BK, BV], dtype=tl.float32)
    for i_c in range(NT):
        tl.store(hs_ptr + (i_bh * NT + i_c) * K * V + p_state, b_S, mask=m_kv)
        b_q, b_k, b_W, b_U = _load_chunk(q_ptr, k_ptr, w_ptr, u_ptr, i_b, i_h, i_c, L, H, K, V, BT, BK, BV,
                                         WU=True)
        b_q = b_q * scale
        b_u = b_U - tl.dot(b_W, b_S, input_precision=PREC)  # new values U'
        b_qk = tl.where(causal, tl.dot(b_q, tl.trans(b_k), input_precision=PREC), 0.0)
        b_o = tl.dot(b_q, b_S, input_precision=PREC) + tl.dot(b_qk, b_u, input_precision=PREC)
        t = i_c * BT + o_t
        row = (i_b * L + t) * H + i_h
        tl.store(o_ptr + row[:, None] * V + o_v[None, :], b_o.to(o_ptr.dtype.element_ty),
                 mask=(t[:, None] < L) & (o_v[None, :] < V))
        b_S = b_S + tl.dot(tl.trans(b_k), b_u, input_precision=PREC)
    tl.store(ht_ptr + i_bh * K * V + p_state, b_S, mask=m_kv)


@triton.jit
def _delta_rule_bwd_state_kernel(q_ptr, k_ptr, w_ptr, u_ptr, hs_ptr, do_ptr, dht_ptr, dq_ptr, dk_ptr, du_ptr,
                                 dh0_ptr, scale, L, H, NT, K: tl.constexpr, V: tl.constexpr, BT: tl.constexpr,
                                 BK: tl.constexpr, BV: tl.constexpr, HAS_DHT: tl.constexpr, PREC: tl.constexpr):
    """Grid (B*H,), chunks in reverse, dS on chip: dq, dU', and dk through Q Kᵀ and Kᵀ U'."""
    i_bh = tl.program_id(0)
    i_b = i_bh // H
    i_h = i_bh % H
    o_t = tl.arange(0, BT)
    o_k = tl.arange(0, BK)
    o_v = tl.arange(0, BV)
    m_kv = (o_k[:, None] < K) & (o_v[None, :] < V)
    p_state = o_k[:, None] * V + o_v[None, :]
    causal = o_t[:, None] >= o_t[None, :]
    if HAS_DHT:
        b_dS = tl.load(dht_ptr + i_bh * K * V + p_state, mask=m_kv, other=0.0).to(tl.float32)
    else:
        b_dS = tl.zeros([BK, BV], dtype=tl.float32)
    for j in range(NT):
        i_c = NT - 1 - j
        b_S = tl.load(hs_ptr + (i_bh * NT + i_c) * K * V + p_state, mask=m_kv, other=0.0)
        b_q, b_k, b_W, b_U = _load_chunk(q_ptr, k_ptr, w_ptr, u_ptr, i_b, i_h, i_c, L, H, K, V, BT, BK, BV,
                                         WU=True)
        b_q = b_q * scale
        t = i_c * BT + o_t
        m_t = t < L
        row = (i_b * L + t) * H + i_h
        m_tk = m_t[:, None] & (o_k[None, :] < K)
        m_tv = m_t[:, None] & (o_v[None, :] < V)
        b_do = tl.load(do_ptr + row[:, None] * V + o_v[None, :], mask=m_tv, other=0.0).to(tl.float32)
        b_u = b_U - tl.dot(b_W, b_S, input_precision=PREC)
        b_qk = tl.where(causal, tl.dot(b_q, tl.trans(b_k), input_precision=PREC), 0.0)
        b_du = tl.dot(tl.trans(b_qk), b_do, input_precision=PREC) + tl.dot(b_k, b_dS, input_precision=PREC)
        b_dqk = tl.where(causal, tl.dot(b_do, tl.trans(b_u), input_precision=PREC), 0.0)
        b_dq = tl.dot(b_do, tl.trans(b_S), input_precision=PREC) + tl.dot(b_dqk, b_k, input_precision=PREC)
        b_dk = tl.dot(tl.trans(b_dqk), b_q, input_precision=PREC) + tl.dot(b_u, tl.trans(b_dS), input_precision=PREC)
        tl.store(dq_ptr + row[:, None] * K + o_k[None, :], (b_dq * scale).to(dq_ptr.dtype.element_ty), mask=m_tk)
        tl.store(dk_ptr + row[:, None] * K + o_k[None, :], b_dk, mask=m_tk)
        tl.store(du_ptr + row[:, None] * V + o_v[None, :], b_du, mask=m_tv)
        b_dS = tl.dot(tl.trans(b_q), b_do, input_precision=PREC) + b_dS - tl.dot(tl.trans(b_W), b_du, input_precision=PREC)
    tl.store(dh0_ptr + i_bh * K * V + p_state, b_dS, mask=m_kv)


@triton.jit
def _wy_bwd_kernel(k_ptr, v_ptr, beta_ptr, hs_ptr, du_ptr, dkp_ptr, dk_ptr, dv_ptr, dbeta_ptr, L, H, NT,
                   K: tl.constexpr, V: tl.constexpr, BT: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
                   PREC: tl.constexpr):
    """Grid (chunks, B*H), in parallel: through U' = U − W S, W = Tm βK, U = Tm βV, Tm = (I + A)^{-1}."""
    i_c = tl.program_id(0)
    i_bh = tl.program_id(1)
    i_b = i_bh // H
    i_h = i_bh % H
    o_t = i_c * BT + tl.arange(0, BT)
    o_k = tl.arange(0, BK)
    o_v = tl.arange(0, BV)
    m_t = o_t < L
    row = (i_b * L + o_t) * H + i_h
    m_tk = m_t[:, None] & (o_k[None, :] < K)
    m_tv = m_t[:, None] & (o_v[None, :] < V)
    m_kv = (o_k[:, None] < K) & (o_v[None, :] < V)
    strict = tl.arange(0, BT)[:, None] > tl.arange(0, BT)[None, :]
    b_q, b_k, b_v, b_beta = _load_chunk(k_ptr, k_ptr, v_ptr, beta_ptr, i_b, i_h, i_c, L, H, K, V, BT, BK, BV)
    b_S = tl.load(hs_ptr + (i_bh * NT + i_c) * K * V + o_k[:, None] * V + o_v[None, :], mask=m_kv, other=0.0)
    b_du = tl.load(du_ptr + row[:, None] * V + o_v[None, :], mask=m_tv, other=0.0)
    b_dk = tl.load(dkp_ptr + row[:, None] * K + o_k[None, :], mask=m_tk, other=0.0)
    b_A, b_Tm, b_kb, b_vb, b_W, b_U = _wy_factors(b_k, b_v, b_beta, BT, PREC)
    b_dW = -tl.dot(b_du, tl.trans(b_S), input_precision=PREC)
    b_dTm = tl.dot(b_dW, tl.trans(b_kb), input_precision=PREC) + tl.dot(b_du, tl.trans(b_vb), input_precision=PREC)
    b_dkb = tl.dot(tl.trans(b_Tm), b_dW, input_precision=PREC)
    b_dvb = tl.dot(tl.trans(b_Tm), b_du, input_precision=PREC)
    b_dA = -tl.dot(tl.dot(tl.trans(b_Tm), b_dTm, input_precision=PREC), tl.trans(b_Tm), input_precision=PREC)
    b_dA = tl.where(strict, b_dA, 0.0)
    # through A = tril(βK Kᵀ, −1)
    b_dkb += tl.dot(b_dA, b_k, input_precision=PREC)
    b_dk += tl.dot(tl.trans(b_dA), b_kb, input_precision=PREC)
    b_dk += b_dkb * b_beta[:, None]
    b_dbeta = tl.sum(b_dkb * b_k, 1) + tl.sum(b_dvb * b_v, 1)
    b_dv = b_dvb * b_beta[:, None]
    tl.store(dk_ptr + row[:, None] * K + o_k[None, :], b_dk.to(dk_ptr.dtype.element_ty), mask=m_tk)
    tl.store(dv_ptr + row[:, None] * V + o_v[None, :], b_dv.to(dv_ptr.dtype.element_ty), mask=m_tv)
    tl.store(dbeta_ptr + row, b_dbeta.to(dbeta_ptr.dtype.element_ty), mask=m_t)


class _DeltaRuleFunction(torch.autograd.Function):
    """Autograd wrapper over the sub-token (n = 1) kernels: inputs [B, L, H, D], L = T*n."""

    @staticmethod
    def forward(ctx, q, k, v, beta, h0, scale, chunk_size):
        B, L, H, K = q.shape
        V = v.shape[-1]
        NT = triton.cdiv(L, chunk_size)
        q, k, v, beta = (x.contiguous() for x in (q, k, v, beta))
        meta = chunk_launch_meta(q, K, V, chunk_size)
        w = torch.empty(B, L, H, K, device=q.device, dtype=torch.float32)  # WY factors
        u = torch.empty(B, L, H, V, device=q.device, dtype=torch.float32)
        _wy_fwd_kernel[(NT, B * H)](k, v, beta, w, u, L, H, **meta)
        o = torch.empty(B, L, H, V, device=q.device, dtype=v.dtype)
        hs = torch.empty(B, H, NT, K, V, device=q.device, dtype=torch.float32)  # chunk-start states
        ht = torch.empty(B, H, K, V, device=q.device, dtype=torch.float32)
        h0c = h0.float().contiguous() if h0 is not None else ht  # dummy pointer when absent
        _delta_rule_fwd_kernel[(B * H,)](q, k, w, u, h0c, o, hs, ht, scale, L, H, NT, HAS_H0=h0 is not None,
                                         num_stages=STATE_LOOP_STAGES, **meta)
        ctx.save_for_backward(q, k, v, beta, w, u, hs)
        ctx.scale, ctx.chunk_size, ctx.h0_dtype = scale, chunk_size, None if h0 is None else h0.dtype
        return o, ht

    @staticmethod
    def backward(ctx, do, dht):
        q, k, v, beta, w, u, hs = ctx.saved_tensors
        B, L, H, K = q.shape
        V = v.shape[-1]
        NT = hs.shape[2]
        meta = chunk_launch_meta(q, K, V, ctx.chunk_size)
        dq = torch.empty_like(q)
        dk_part = torch.empty(B, L, H, K, device=q.device, dtype=torch.float32)  # dk via Q Kᵀ and Kᵀ U'
        du = torch.empty(B, L, H, V, device=q.device, dtype=torch.float32)
        dh0 = torch.empty(B, H, K, V, device=q.device, dtype=torch.float32)
        do = do.contiguous()
        dht_c = dht.float().contiguous() if dht is not None else dh0
        _delta_rule_bwd_state_kernel[(B * H,)](q, k, w, u, hs, do, dht_c, dq, dk_part, du, dh0, ctx.scale, L, H, NT,
                                               HAS_DHT=dht is not None, num_stages=STATE_LOOP_STAGES, **meta)
        dk, dv, dbeta = torch.empty_like(k), torch.empty_like(v), torch.empty_like(beta)
        _wy_bwd_kernel[(NT, B * H)](k, v, beta, hs, du, dk_part, dk, dv, dbeta, L, H, NT, **meta)
        dh0 = None if ctx.h0_dtype is None else dh0.to(ctx.h0_dtype)
        return dq, dk, dv, dbeta, dh0, None, None


def triton_delta_rule(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    beta: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    n_householder: int = 1,
    chunk_size: int = 64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Triton delta rule, forward and backward; same signature and results as ``naive_delta_rule``.

    ``chunk_size`` (sub-tokens per chunk) must be a power of two ≥ 16. Returns
    ``(o, final_state)`` with the final state in float32.
    """
    K = q.shape[-1]
    scale = K**-0.5 if scale is None else scale
    q_sub = expand_queries(q, n_householder)  # (B, T*n, H, K)
    o, ht = _DeltaRuleFunction.apply(q_sub, k, v, beta, initial_state, float(scale), int(chunk_size))
    return select_outputs(o, n_householder), ht
