"""Selective scan in Triton, forward and backward (one program per (batch·head, block of channels)).

Each program keeps its ``[N, BLOCK_P]`` slice of the state in registers and walks the sequence
(as Mamba's CUDA kernel does per channel block). The forward saves the state every
``chunk_size`` tokens; the backward walks the chunks in reverse, recomputes a chunk's states
from its checkpoint into a scratch buffer, then runs dL/dh backwards through it:

    dH_t = C_t ⊗ gy_t + exp(Δ_{t+1} A) ⊙ dH_{t+1}
    dΔ_t = Σ_n dH_t h_{t−1} a_t A + Σ_n dH_t B_t x_t,   dx_t = Δ_t Σ_n dH_t B_t,
    dB_t = Σ_p dH_t Δ_t x_t,  dC_t = Σ_p gy_t h_t,  dA = Σ_t dH_t h_{t−1} a_t Δ_t.

No ``tl.dot``: the contractions are over N or one channel block, so any block size is valid on
a GPU. D and the gate z are applied outside by PyTorch autograd.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from kernels.selective_scan.epilogue import finish


@triton.jit
def _fwd_kernel(
    x_ptr, dt_ptr, a_ptr, b_ptr, c_ptr, h0_ptr, y_ptr, ht_ptr, ck_ptr,
    T, H, P, N, NCK,
    CHUNK: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_N: tl.constexpr, HAS_H0: tl.constexpr,
):
    pid_bh = tl.program_id(0)
    pid_p = tl.program_id(1)
    b = pid_bh // H
    hh = pid_bh % H
    offs_p = pid_p * BLOCK_P + tl.arange(0, BLOCK_P)
    offs_n = tl.arange(0, BLOCK_N)
    mp = offs_p < P
    mn = offs_n < N
    m2 = mn[:, None] & mp[None, :]
    at = tl.load(a_ptr + hh * P * N + offs_p[None, :] * N + offs_n[:, None], mask=m2, other=0.0).to(tl.float32)
    st = pid_bh * N * P + offs_n[:, None] * P + offs_p[None, :]  # (b, h, n, p) in [B, H, N, P]
    if HAS_H0:
        h = tl.load(h0_ptr + st, mask=m2, other=0.0).to(tl.float32)
    else:
        h = tl.zeros((BLOCK_N, BLOCK_P), dtype=tl.float32)
    for c in range(0, NCK):
        tl.store(ck_ptr + (pid_bh * NCK + c) * N * P + offs_n[:, None] * P + offs_p[None, :], h, mask=m2)
        t_end = tl.minimum(c * CHUNK + CHUNK, T)
        for t in range(c * CHUNK, t_end):
            row = (b * T + t) * H + hh
            xt = tl.load(x_ptr + row * P + offs_p, mask=mp, other=0.0).to(tl.float32)
            dtt = tl.load(dt_ptr + row * P + offs_p, mask=mp, other=0.0).to(tl.float32)
            bt = tl.load(b_ptr + row * N + offs_n, mask=mn, other=0.0).to(tl.float32)
            ct = tl.load(c_ptr + row * N + offs_n, mask=mn, other=0.0).to(tl.float32)
            h = tl.exp(dtt[None, :] * at) * h + bt[:, None] * (dtt * xt)[None, :]
            yt = tl.sum(ct[:, None] * h, axis=0)
            tl.store(y_ptr + row * P + offs_p, yt, mask=mp)
    tl.store(ht_ptr + st, h, mask=m2)


@triton.jit
def _bwd_kernel(
    x_ptr, dt_ptr, a_ptr, b_ptr, c_ptr, ck_ptr, gy_ptr, ght_ptr, buf_ptr,
    dx_ptr, ddt_ptr, da_ptr, db_ptr, dc_ptr, dh0_ptr,
    T, H, P, N, NCK, NPB,
    CHUNK: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_N: tl.constexpr, HAS_GHT: tl.constexpr,
):
    pid_bh = tl.program_id(0)
    pid_p = tl.program_id(1)
    b = pid_bh // H
    hh = pid_bh % H
    offs_p = pid_p * BLOCK_P + tl.arange(0, BLOCK_P)
    offs_n = tl.arange(0, BLOCK_N)
    mp = offs_p < P
    mn = offs_n < N
    m2 = mn[:, None] & mp[None, :]
    tile = offs_n[:, None] * P + offs_p[None, :]
    at = tl.load(a_ptr + hh * P * N + offs_p[None, :] * N + offs_n[:, None], mask=m2, other=0.0).to(tl.float32)
    st = pid_bh * N * P + tile
    if HAS_GHT:
        dh = tl.load(ght_ptr + st, mask=m2, other=0.0).to(tl.float32)
    else:
        dh = tl.zeros((BLOCK_N, BLOCK_P), dtype=tl.float32)
    da_acc = tl.zeros((BLOCK_N, BLOCK_P), dtype=tl.float32)
    buf = buf_ptr + (pid_bh * NPB + pid_p) * CHUNK * BLOCK_N * BLOCK_P
    btile = offs_n[:, None] * BLOCK_P + tl.arange(0, BLOCK_P)[None, :]
    for ci in range(0, NCK):
        c = NCK - 1 - ci
        t0 = c * CHUNK
        t1 = tl.minimum(t0 + CHUNK, T)
        ck = ck_ptr + (pid_bh * NCK + c) * N * P + tile
        h = tl.load(ck, mask=m2, other=0.0)
        for t in range(t0, t1):  # recompute this chunk's states into the scratch buffer
            row = (b * T + t) * H + hh
            xt = tl.load(x_ptr + row * P + offs_p, mask=mp, other=0.0).to(tl.float32)
            dtt = tl.load(dt_ptr + row * P + offs_p, mask=mp, other=0.0).to(tl.float32)
            bt = tl.load(b_ptr + row * N + offs_n, mask=mn, other=0.0).to(tl.float32)
            h = tl.exp(dtt[None, :] * at) * h + bt[:, None] * (dtt * xt)[None, :]
            tl.store(buf + (t - t0) * BLOCK_N * BLOCK_P + btile, h)
        tl.debug_barrier()
        for i in range(0, t1 - t0):
            t = t1 - 1 - i
            row = (b * T + t) * H + hh
            xt = tl.load(x_ptr + row * P + offs_p, mask=mp, other=0.0).to(tl.float32)
            dtt = tl.load(dt_ptr + row * P + offs_p, mask=mp, other=0.0).to(tl.float32)
            bt = tl.load(b_ptr + row * N + offs_n, mask=mn, other=0.0).to(tl.float32)
            ct = tl.load(c_ptr + row * N + offs_n, mask=mn, other=0.0).to(tl.float32)
            gyt = tl.load(gy_ptr + row * P + offs_p, mask=mp, other=0.0).to(tl.float32)
            ht = tl.load(buf + (t - t0) * BLOCK_N * BLOCK_P + btile)
            if t > t0:
                hp = tl.load(buf + (t - t0 - 1) * BLOCK_N * BLOCK_P + btile)
            else:
                hp = tl.load(ck, mask=m2, other=0.0)
            dh += ct[:, None] * gyt[None, :]
            a_t = tl.exp(dtt[None, :] * at)
            dz = dh * hp * a_t
            da_acc += dz * dtt[None, :]
            gdx = tl.sum(dh * bt[:, None], axis=0)
            ddt = tl.sum(dz * at, axis=0) + gdx * xt
            part = ((b * T + t) * H + hh) * NPB + pid_p
            tl.store(db_ptr + part * N + offs_n, tl.sum(dh * (dtt * xt)[None, :], axis=1), mask=mn)
            tl.store(dc_ptr + part * N + offs_n, tl.sum(ht * gyt[None, :], axis=1), mask=mn)
            tl.store(dx_ptr + row * P + offs_p, gdx * dtt, mask=mp)
            tl.store(ddt_ptr + row * P + offs_p, ddt, mask=mp)
            dh = dh * a_t
        tl.debug_barrier()
    tl.store(dh0_ptr + st, dh, mask=m2)
    tl.store(da_ptr + b * H * P * N + hh * P * N + offs_p[None, :] * N + offs_n[:, None], da_acc, mask=m2)


def _blocks(P: int, N: int) -> tuple[int, int]:
    return min(triton.next_power_of_2(P), 16), triton.next_power_of_2(N)


class _TritonSelectiveScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, delta, A, Bm, C, h0, chunk):
        batch, T, H, P = x.shape
        N = A.shape[-1]
        block_p, block_n = _blocks(P, N)
        nck = triton.cdiv(T, chunk)
        y = torch.empty(batch, T, H, P, device=x.device, dtype=torch.float32)
        hT = torch.empty(batch, H, N, P, device=x.device, dtype=torch.float32)
        ck = torch.empty(batch * H, nck, N, P, device=x.device, dtype=torch.float32)
        grid = (batch * H, triton.cdiv(P, block_p))
        _fwd_kernel[grid](
            x, delta, A, Bm, C, h0 if h0 is not None else hT, y, hT, ck,
            T, H, P, N, nck,
            CHUNK=chunk, BLOCK_P=block_p, BLOCK_N=block_n, HAS_H0=h0 is not None, num_warps=2,
        )
        ctx.save_for_backward(x, delta, A, Bm, C, ck)
        ctx.chunk, ctx.has_h0 = chunk, h0 is not None
        return y, hT

    @staticmethod
    def backward(ctx, gy, ghT):
        x, delta, A, Bm, C, ck = ctx.saved_tensors
        batch, T, H, P = x.shape
        N = A.shape[-1]
        block_p, block_n = _blocks(P, N)
        npb = triton.cdiv(P, block_p)
        nck = ck.shape[1]
        dev = x.device
        gy = torch.zeros(batch, T, H, P, device=dev) if gy is None else gy.float().contiguous()
        buf = torch.empty(batch * H * npb, ctx.chunk, block_n, block_p, device=dev, dtype=torch.float32)
        dx = torch.empty(batch, T, H, P, device=dev, dtype=torch.float32)
        ddt = torch.empty_like(dx)
        da = torch.empty(batch, H, P, N, device=dev, dtype=torch.float32)
        db = torch.empty(batch, T, H, npb, N, device=dev, dtype=torch.float32)
        dc = torch.empty_like(db)
        dh0 = torch.empty(batch, H, N, P, device=dev, dtype=torch.float32)
        _bwd_kernel[(batch * H, npb)](
            x, delta, A, Bm, C, ck, gy, ghT.contiguous() if ghT is not None else dh0, buf,
            dx, ddt, da, db, dc, dh0,
            T, H, P, N, nck, npb,
            CHUNK=ctx.chunk, BLOCK_P=block_p, BLOCK_N=block_n, HAS_GHT=ghT is not None, num_warps=2,
        )
        return (
            dx.to(x.dtype), ddt.to(delta.dtype), da.sum(0).to(A.dtype),
            db.sum(3).to(Bm.dtype), dc.sum(3).to(C.dtype),  # (B, T, H, npb, N) -> (B, T, H, N)
            dh0 if ctx.has_h0 else None, None,
        )


def triton_selective_scan(
    x: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    z: torch.Tensor | None = None,
    *,
    initial_state: torch.Tensor | None = None,
    output_final_state: bool = False,
    chunk_size: int = 32,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Selective scan in Triton (shapes as in :func:`naive_selective_scan`); returns (y, final state)."""
    h0 = None if initial_state is None else initial_state.float().contiguous()
    args = [t.contiguous() for t in (x, delta, A, B, C)]
    y, hT = _TritonSelectiveScan.apply(*args, h0, int(chunk_size))
    return finish(y, hT, x, D, z, output_final_state)
