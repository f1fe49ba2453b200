"""Chunked selective scan in PyTorch: the CPU path, with a hand-written backward.

Mamba-1's decay exp(Δ_t A) differs per (state n, channel p), so there is no matmul form (the
SSD trick needs one decay per head). What makes the naive loop slow is Python: T tiny steps
forward and T autograd nodes backward. Here the sequence is cut into *segments* that fit in a
few MB, and each segment into chunks of ``chunk_size`` tokens laid out step-major
``(L, nc, B, H, N, P)`` so that one Python step advances every chunk of the segment at once:

1. a = exp(Δ A), u = (Δ x) B                      (one pass each)
2. local scan in every chunk: h_j ← a_j h_{j−1} + u_j       (L steps, in place)
3. chunk-start states: s_{c+1} = (Π_chunk a) s_c + h_last    (nc small steps)
4. h_j ← h_j + (Π_{i≤j} a_i) s_c                  (one pass)
5. y = C · h

The backward recomputes a segment's states from its saved start state (memory stays
O(segment), not O(T·N·P)), runs the same two-level scan in reverse for dL/dh, then contracts.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from kernels.selective_scan.epilogue import compute_dtype, finish

_SEGMENT_ELEMENTS = 1 << 19  # target size of one (segment × state) buffer on CPU, in elements (cache-sized)
_SEGMENT_ELEMENTS_CUDA = 1 << 26  # on a GPU, fewer and larger steps (launch overhead dominates)


def _to_chunks(t: torch.Tensor, L: int) -> torch.Tensor:
    """(B, s, H, F) -> (L, nc, B, H, F), zero-padded to a multiple of L (a zero Δ is a no-op step)."""
    batch, s, H, feat = t.shape
    pad = (-s) % L
    if pad:
        t = F.pad(t, (0, 0, 0, 0, 0, pad))
    return t.reshape(batch, (s + pad) // L, L, H, feat).permute(2, 1, 0, 3, 4)  # (B, nc, L, H, F) -> (L, nc, B, H, F)


def _from_chunks(t: torch.Tensor, s: int) -> torch.Tensor:
    """(L, nc, B, H, F) -> (B, s, H, F), dropping the padding."""
    L, nc, batch, H, feat = t.shape
    return t.permute(2, 1, 0, 3, 4).reshape(batch, nc * L, H, feat)[:, :s]  # (B, nc, L, H, F) -> (B, nc·L, H, F)


def _scan_segment(xc, dc, Bc, At, h0):
    """States of one segment. xc, dc (L, nc, B, H, P); Bc (L, nc, B, H, N); At (H, N, P); h0 (B, H, N, P).

    Returns a = exp(ΔA) and h, both (L, nc, B, H, N, P), and the chunk-start states (nc + 1, B, H, N, P)
    whose last entry is the state after the segment.
    """
    L, nc = xc.shape[:2]
    a = torch.exp(dc.unsqueeze(-2) * At)  # (L, nc, B, H, 1, P) * (H, N, P) -> (L, nc, B, H, N, P)
    h = Bc.unsqueeze(-1) * (dc * xc).unsqueeze(-2)  # u = B ⊗ Δx: (L, nc, B, H, N, P)
    for j in range(1, L):
        h[j].addcmul_(a[j], h[j - 1])
    aprod = torch.empty_like(a)  # decay from the chunk start through step j (torch.cumprod over dim 0 is slow)
    aprod[0] = a[0]
    for j in range(1, L):
        torch.mul(aprod[j - 1], a[j], out=aprod[j])
    starts = h0.new_empty((nc + 1,) + tuple(h0.shape))
    starts[0] = h0
    for c in range(nc):
        torch.addcmul(h[L - 1, c], aprod[L - 1, c], starts[c], out=starts[c + 1])
    h.addcmul_(aprod, starts[:nc])
    return a, h, starts


def _segments(T: int, L: int, per_token: int, budget: int | None = None) -> list[tuple[int, int]]:
    """[start, stop) bounds of segments: multiples of L holding about ``budget`` state elements."""
    budget = _SEGMENT_ELEMENTS if budget is None else budget
    size = L * max(1, budget // max(1, L * per_token))
    return [(s, min(s + size, T)) for s in range(0, T, size)]


class _SelectiveScan(torch.autograd.Function):
    """Core y = C·h (no D, no gate) and the final state; D and z are applied by plain autograd."""

    @staticmethod
    def forward(ctx, x, delta, A, Bm, C, h0, L):
        batch, T, H, P = x.shape
        N = A.shape[-1]
        At = A.transpose(-1, -2)  # (H, P, N) -> (H, N, P)
        h = h0 if h0 is not None else x.new_zeros(batch, H, N, P)
        budget = _SEGMENT_ELEMENTS_CUDA if x.is_cuda else _SEGMENT_ELEMENTS
        bounds = _segments(T, L, batch * H * N * P, budget)
        ys, seg_starts = [], []
        for start, stop in bounds:
            seg_starts.append(h)
            xc, dc, Bc, Cc = (_to_chunks(t[:, start:stop], L) for t in (x, delta, Bm, C))
            _, hs, starts = _scan_segment(xc, dc, Bc, At, h)
            yc = (Cc.unsqueeze(-1) * hs).sum(-2)  # Σ_n: (L, nc, B, H, N, P) -> (L, nc, B, H, P); CPU bmm is slow for 1×N
            ys.append(_from_chunks(yc, stop - start))
            h = starts[-1].clone()
            del hs, starts
        ctx.save_for_backward(x, delta, A, Bm, C, *seg_starts)
        ctx.L, ctx.bounds, ctx.has_h0 = L, bounds, h0 is not None
        return torch.cat(ys, dim=1), h

    @staticmethod
    def backward(ctx, gy, ghT):
        x, delta, A, Bm, C, *seg_starts = ctx.saved_tensors
        L = ctx.L
        At = A.transpose(-1, -2)  # (H, P, N) -> (H, N, P)
        gy = torch.zeros_like(x) if gy is None else gy
        carry = torch.zeros_like(seg_starts[0]) if ghT is None else ghT.clone()  # dL/dh at segment end
        dx, dd, dB, dC = (torch.zeros_like(t) for t in (x, delta, Bm, C))
        dAt = torch.zeros_like(At)
        for (start, stop), h0 in zip(reversed(ctx.bounds), reversed(seg_starts)):
            s = stop - start
            xc, dc, Bc, Cc, gyc = (_to_chunks(t[:, start:stop], L) for t in (x, delta, Bm, C, gy))
            nc = xc.shape[1]
            a, h, starts = _scan_segment(xc, dc, Bc, At, h0)
            # dH_t = C_t ⊗ gy_t + a_{t+1} dH_{t+1}: local reverse scan, then the chunk carries.
            g = Cc.unsqueeze(-1) * gyc.unsqueeze(-2)  # (L, nc, B, H, N, P)
            for j in range(L - 2, -1, -1):
                g[j].addcmul_(a[j + 1], g[j + 1])
            q = torch.empty_like(a)  # q_j = Π_{i ≥ j} a_i within the chunk
            q[L - 1] = a[L - 1]
            for j in range(L - 2, -1, -1):
                torch.mul(a[j], q[j + 1], out=q[j])
            incoming = starts.new_empty((nc,) + tuple(carry.shape))  # dL/dh flowing into each chunk end
            incoming[nc - 1] = carry
            for c in range(nc - 1, 0, -1):
                incoming[c - 1] = a[0, c] * g[0, c] + q[0, c] * incoming[c]
            g[: L - 1].addcmul_(q[1:], incoming)
            g[L - 1] += incoming
            carry = a[0, 0] * g[0, 0]
            del q
            # Through a = exp(ΔA): dz = dH ⊙ h_{t−1} ⊙ a.
            dz = g * a
            dz[1:] *= h[:-1]
            dz[0] *= starts[:nc]
            del a
            ddc = (dz * At).sum(-2)  # (L, nc, B, H, P)
            dAt += (dz * dc.unsqueeze(-2)).sum((0, 1, 2))
            del dz
            # Through u = B ⊗ (Δ x), and y = C · h.
            dBc = (g * (dc * xc).unsqueeze(-2)).sum(-1)  # Σ_p: (L, nc, B, H, N, P) -> (L, nc, B, H, N)
            gdx = (Bc.unsqueeze(-1) * g).sum(-2)  # Σ_n: -> (L, nc, B, H, P)
            dCc = (h * gyc.unsqueeze(-2)).sum(-1)  # Σ_p: -> (L, nc, B, H, N)
            ddc += gdx * xc
            dx[:, start:stop] = _from_chunks(gdx * dc, s)
            dd[:, start:stop] = _from_chunks(ddc, s)
            dB[:, start:stop] = _from_chunks(dBc, s)
            dC[:, start:stop] = _from_chunks(dCc, s)
            del g, h
        dh0 = carry if ctx.has_h0 else None
        return dx, dd, dAt.transpose(-1, -2), dB, dC, dh0, None


def chunk_selective_scan(
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
    """Selective scan by chunks (shapes as in :func:`naive_selective_scan`); returns (y, final state)."""
    dtype = compute_dtype(x)
    cast = [t.to(dtype).contiguous() for t in (x, delta, A, B, C)]
    h0 = None if initial_state is None else initial_state.to(dtype).contiguous()
    y, hT = _SelectiveScan.apply(*cast, h0, int(chunk_size))
    return finish(y, hT, x, D, z, output_final_state)
