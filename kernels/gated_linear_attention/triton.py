"""Gated linear attention in Triton: chunked forward and hand-written backward.

The intra-chunk terms run in parallel over 16-row sub-blocks of the chunks (grid
(chunks × BT/16, B*H)); only the state
recurrence is sequential (one program per (batch, head), S [K, V] on chip). Within a chunk,
b = cumsum(g) (≤ 0); every exponent the kernels evaluate is ≤ 0:

    forward:   o = (q ⊙ e^{b}) S + Σ_{j ≤ i} (Σ_k q_ik k_jk e^{b_ik − b_jk}) v_j
               S ← e^{b_C} ⊙ S + (k ⊙ e^{b_C − b})ᵀ v
    backward (chunks in reverse, dS on chip, S re-read from the stored chunk starts):
               dq = (do Sᵀ) ⊙ e^{b} + intra,   dk = (v dSᵀ) ⊙ e^{b_C − b} + intra,
               dv = intra + (k ⊙ e^{b_C − b}) dS,   dS ← e^{b_C} ⊙ dS + (q ⊙ e^{b})ᵀ do

Intra-chunk, as in fla's chunk_gla: b is the within-chunk cumsum (``_chunk_cumsum``, one
PyTorch pass). Between sub-blocks I > J the scores are one tl.dot,
A_IJ = (q_I ⊙ e^{b_I − b_r})(k_J ⊙ e^{b_r − b_J})ᵀ, with the reference row r between them so both
exponents are ≤ 0; on the diagonal a loop over its 16 columns masks e^{b_i − b_j} to i ≥ j before
exp. No [C, C, K] tensor. (The first version looped over all 64 columns of a chunk with
elementwise products and ran 3.1× slower than the chunked PyTorch path on an H200.)
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

SUB_BLOCK = 16  # rows of the intra-chunk sub-blocks: tl.dot between sub-blocks, a loop on the diagonal
SUB_BLOCK_WARPS = 4  # a 16 × 64 float32 block over 128 threads


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
def _sub_block(x_ptr, i_b, i_h, t0, T, H, D: tl.constexpr, BC: tl.constexpr, BD: tl.constexpr):
    """Rows t0 .. t0 + BC − 1 of one (batch, head) of an [B, T, H, D] tensor as a float32 block."""
    o_t = t0 + tl.arange(0, BC)
    o_d = tl.arange(0, BD)
    row = (i_b * T + o_t) * H + i_h
    mask = (o_t[:, None] < T) & (o_d[None, :] < D)
    return tl.load(x_ptr + row[:, None] * D + o_d[None, :], mask=mask, other=0.0).to(tl.float32)


@triton.jit
def _row_at(x_ptr, i_b, i_h, t, T, H, D: tl.constexpr, BD: tl.constexpr):
    """Row t of one (batch, head) of an [B, T, H, D] tensor as a float32 vector (0 past T)."""
    o_d = tl.arange(0, BD)
    o_t = t + 0 * o_d  # t as a vector, so the mask is a boolean tensor
    return tl.load(x_ptr + ((i_b * T + t) * H + i_h) * D + o_d, mask=(o_d < D) & (o_t < T), other=0.0).to(tl.float32)


@triton.jit
def _gla_intra_fwd_kernel(q_ptr, k_ptr, v_ptr, b_ptr, o_ptr, scale, T, H, K: tl.constexpr, V: tl.constexpr,
                          BT: tl.constexpr, BC: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr,
                          PREC: tl.constexpr):
    """Grid (chunks × BT/BC, B*H): rows of one BC-row sub-block I of a chunk,
    o_I = Σ_{J<I} A_IJ v_J + (diagonal), A_IJ = (q_I ⊙ e^{b_I − b_r})(k_J ⊙ e^{b_r − b_J})ᵀ by tl.dot with
    r = I's first row (both exponents ≤ 0); the diagonal block loops over its BC columns."""
    NC: tl.constexpr = BT // BC
    i_c = tl.program_id(0) // NC
    i_i = tl.program_id(0) % NC
    i_bh = tl.program_id(1)
    i_b = i_bh // H
    i_h = i_bh % H
    t0 = i_c * BT + i_i * BC
    if t0 >= T:
        return
    o_r = tl.arange(0, BC)
    o_v = tl.arange(0, BV)
    b_q = _sub_block(q_ptr, i_b, i_h, t0, T, H, K, BC, BK) * scale
    b_b = _sub_block(b_ptr, i_b, i_h, t0, T, H, K, BC, BK)
    b_br = _row_at(b_ptr, i_b, i_h, t0, T, H, K, BK)
    b_qg = b_q * tl.exp(b_b - b_br[None, :])
    b_o = tl.zeros([BC, BV], dtype=tl.float32)
    for i_j in range(0, i_i):  # earlier sub-blocks: whole, all rows < t0 < T
        s0 = i_c * BT + i_j * BC
        b_kg = _sub_block(k_ptr, i_b, i_h, s0, T, H, K, BC, BK)
        b_kg = b_kg * tl.exp(b_br[None, :] - _sub_block(b_ptr, i_b, i_h, s0, T, H, K, BC, BK))
        b_a = tl.dot(b_qg, tl.trans(b_kg), input_precision=PREC)  # (BC, BC)
        b_o += tl.dot(b_a, _sub_block(v_ptr, i_b, i_h, s0, T, H, V, BC, BV), input_precision=PREC)
    for j in range(BC):  # the diagonal block, column by column, e^{b_i − b_j} masked to i ≥ j
        b_kj = _row_at(k_ptr, i_b, i_h, t0 + j, T, H, K, BK)
        b_bj = _row_at(b_ptr, i_b, i_h, t0 + j, T, H, K, BK)
        b_vj = _row_at(v_ptr, i_b, i_h, t0 + j, T, H, V, BV)
        b_e = tl.exp(tl.where(o_r[:, None] >= j, b_b - b_bj[None, :], float("-inf")))  # ≤ 1
        b_o += tl.sum(b_q * b_kj[None, :] * b_e, 1)[:, None] * b_vj[None, :]
    o_t = t0 + o_r
    row = (i_b * T + o_t) * H + i_h
    tl.store(o_ptr + row[:, None] * V + o_v[None, :], b_o, mask=(o_t[:, None] < T) & (o_v[None, :] < V))


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
def _gla_intra_bwd_kernel(q_ptr, k_ptr, v_ptr, b_ptr, do_ptr, dq_ptr, dk_ptr, dv_ptr, scale, T, H,
                          K: tl.constexpr, V: tl.constexpr, BT: tl.constexpr, BC: tl.constexpr, BK: tl.constexpr,
                          BV: tl.constexpr, PREC: tl.constexpr):
    """Grid (chunks × BT/BC, B*H): adds the intra-chunk parts to dq, dk, dv of sub-block I (in place,
    float32). As rows, I takes dq from J ≤ I (reference r = I's first row); as columns, dk and dv
    from I' ≥ I (reference r' = I's last row); exponents ≤ 0 throughout."""
    NC: tl.constexpr = BT // BC
    i_c = tl.program_id(0) // NC
    i_i = tl.program_id(0) % NC
    i_bh = tl.program_id(1)
    i_b = i_bh // H
    i_h = i_bh % H
    t0 = i_c * BT + i_i * BC
    if t0 >= T:
        return
    o_r = tl.arange(0, BC)
    o_k = tl.arange(0, BK)
    o_v = tl.arange(0, BV)
    b_k = _sub_block(k_ptr, i_b, i_h, t0, T, H, K, BC, BK)
    b_v = _sub_block(v_ptr, i_b, i_h, t0, T, H, V, BC, BV)
    b_b = _sub_block(b_ptr, i_b, i_h, t0, T, H, K, BC, BK)
    b_do = _sub_block(do_ptr, i_b, i_h, t0, T, H, V, BC, BV)
    o_t = t0 + o_r
    row = (i_b * T + o_t) * H + i_h
    m_tk = (o_t[:, None] < T) & (o_k[None, :] < K)
    m_tv = (o_t[:, None] < T) & (o_v[None, :] < V)
    b_dq = tl.load(dq_ptr + row[:, None] * K + o_k[None, :], mask=m_tk, other=0.0)
    b_dk = tl.load(dk_ptr + row[:, None] * K + o_k[None, :], mask=m_tk, other=0.0)
    b_dv = tl.load(dv_ptr + row[:, None] * V + o_v[None, :], mask=m_tv, other=0.0)
    # rows of I against earlier sub-blocks J: dA_IJ = do_I v_Jᵀ, dq_I += (dA_IJ (k_J ⊙ e^{b_r − b_J})) ⊙ e^{b_I − b_r}
    b_br = _row_at(b_ptr, i_b, i_h, t0, T, H, K, BK)
    b_dqi = tl.zeros([BC, BK], dtype=tl.float32)
    for i_j in range(0, i_i):
        s0 = i_c * BT + i_j * BC
        b_kg = _sub_block(k_ptr, i_b, i_h, s0, T, H, K, BC, BK)
        b_kg = b_kg * tl.exp(b_br[None, :] - _sub_block(b_ptr, i_b, i_h, s0, T, H, K, BC, BK))
        b_da = tl.dot(b_do, tl.trans(_sub_block(v_ptr, i_b, i_h, s0, T, H, V, BC, BV)), input_precision=PREC)
        b_dqi += tl.dot(b_da, b_kg, input_precision=PREC)
    b_dq += b_dqi * tl.exp(b_b - b_br[None, :])
    # columns of I against later sub-blocks I' (those that start before T): A = (q' ⊙ e^{b' − b_r'})(k_I ⊙ e^{b_r' − b_I})ᵀ
    t_last = tl.minimum(t0 + BC, T) - 1
    b_br2 = _row_at(b_ptr, i_b, i_h, t_last, T, H, K, BK)
    b_kdec = tl.exp(b_br2[None, :] - b_b)  # (BC, BK), ≤ 1 for the rows of I
    b_kg2 = b_k * b_kdec
    b_dki = tl.zeros([BC, BK], dtype=tl.float32)
    n_sub = tl.minimum(NC, tl.cdiv(T - i_c * BT, BC))
    for i_l in range(i_i + 1, n_sub):
        s0 = i_c * BT + i_l * BC
        b_ql = _sub_block(q_ptr, i_b, i_h, s0, T, H, K, BC, BK) * scale
        b_ql = b_ql * tl.exp(_sub_block(b_ptr, i_b, i_h, s0, T, H, K, BC, BK) - b_br2[None, :])
        b_ql = tl.where((s0 + o_r < T)[:, None], b_ql, 0.0)  # rows past T: b = 0 there, e^{−b_r'} may be inf
        b_dol = _sub_block(do_ptr, i_b, i_h, s0, T, H, V, BC, BV)
        b_a = tl.dot(b_ql, tl.trans(b_kg2), input_precision=PREC)  # (BC of I', BC of I)
        b_da = tl.dot(b_dol, tl.trans(b_v), input_precision=PREC)
        b_dki += tl.dot(tl.trans(b_da), b_ql, input_precision=PREC)
        b_dv += tl.dot(tl.trans(b_a), b_dol, input_precision=PREC)
    b_dk += b_dki * b_kdec
    # the diagonal block: step m is column m (for dq) and row m (for dk, dv)
    for m in range(BC):
        b_km = _row_at(k_ptr, i_b, i_h, t0 + m, T, H, K, BK)
        b_vm = _row_at(v_ptr, i_b, i_h, t0 + m, T, H, V, BV)
        b_qm = _row_at(q_ptr, i_b, i_h, t0 + m, T, H, K, BK) * scale
        b_dom = _row_at(do_ptr, i_b, i_h, t0 + m, T, H, V, BV)
        b_bm = _row_at(b_ptr, i_b, i_h, t0 + m, T, H, K, BK)
        b_e_col = tl.exp(tl.where(o_r[:, None] >= m, b_b - b_bm[None, :], float("-inf")))  # rows i ≥ m
        b_da_col = tl.sum(b_do * b_vm[None, :], 1) * (o_r >= m)  # dA[i, m]
        b_dq += b_da_col[:, None] * b_km[None, :] * b_e_col
        in_row = (o_r[:, None] <= m) & (t0 + m < T)
        b_e_row = tl.exp(tl.where(in_row, b_bm[None, :] - b_b, float("-inf")))  # columns j ≤ m
        b_a_row = tl.sum(b_k * b_qm[None, :] * b_e_row, 1)  # A[m, j]
        b_da_row = tl.sum(b_v * b_dom[None, :], 1) * (o_r <= m)  # dA[m, j]
        b_dk += b_da_row[:, None] * b_qm[None, :] * b_e_row
        b_dv += b_a_row[:, None] * b_dom[None, :]
    tl.store(dq_ptr + row[:, None] * K + o_k[None, :], b_dq * scale, mask=m_tk)
    tl.store(dk_ptr + row[:, None] * K + o_k[None, :], b_dk, mask=m_tk)
    tl.store(dv_ptr + row[:, None] * V + o_v[None, :], b_dv, mask=m_tv)


def _chunk_cumsum(g: torch.Tensor, BT: int) -> torch.Tensor:
    """b = cumulative sum of g within each chunk of BT steps, float32, same [B, T, H, K] layout."""
    B, T, H, K = g.shape
    NT = triton.cdiv(T, BT)
    padded = torch.nn.functional.pad(g.float(), (0, 0, 0, 0, 0, NT * BT - T))  # (B, NT*BT, H, K)
    return padded.view(B, NT, BT, H, K).cumsum(2).view(B, NT * BT, H, K)[:, :T].contiguous()


class _GLAFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q, k, v, g, h0, scale, chunk_size):
        B, T, H, K = q.shape
        V = v.shape[-1]
        NT = triton.cdiv(T, chunk_size)
        q, k, v, g = (x.contiguous() for x in (q, k, v, g))
        meta = chunk_launch_meta(q, K, V, chunk_size)
        prec = meta.pop("PREC")
        BC = min(SUB_BLOCK, chunk_size)
        o_intra = torch.empty(B, T, H, V, device=q.device, dtype=torch.float32)
        _gla_intra_fwd_kernel[(NT * (chunk_size // BC), B * H)](q, k, v, _chunk_cumsum(g, chunk_size), o_intra, scale,
                                                                  T, H, BC=BC, PREC=prec,
                                                                  **{**meta, "num_warps": SUB_BLOCK_WARPS})
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
        BC = min(SUB_BLOCK, ctx.chunk_size)
        _gla_intra_bwd_kernel[(NT * (ctx.chunk_size // BC), B * H)](
            q, k, v, _chunk_cumsum(g, ctx.chunk_size), do, dq, dk, dv, ctx.scale, T, H, BC=BC, PREC=prec,
            **{**meta, "num_warps": SUB_BLOCK_WARPS})
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
