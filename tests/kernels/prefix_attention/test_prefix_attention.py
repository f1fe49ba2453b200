"""prefix_attention: the chunked form against the (m, u, w) recurrence, softmax attention, validation."""

from __future__ import annotations

import pytest
import torch

from kernels.dispatch import BackendUnavailable
from kernels.prefix_attention import chunk_prefix_attention, naive_prefix_attention, prefix_attention
from kernels.testing import assert_close

NAMES = ("o", "m", "u", "w", "dq", "dk", "dv", "dm0", "du0", "dw0")


def make(batch, T, H, K, V, *, h0, dtype=torch.float32, q_scale=3.0, seed=0, device="cpu"):
    """Random q (scaled up so the softmax is peaked and the running max moves), k, v; optional state."""
    g = torch.Generator().manual_seed(seed)
    d = {
        "q": torch.randn(batch, H, K, generator=g) * q_scale,
        "k": torch.randn(batch, T, H, K, generator=g),
        "v": torch.randn(batch, T, H, V, generator=g),
    }
    if h0:
        d["initial_state"] = (torch.randn(batch, H, generator=g), torch.rand(batch, H, generator=g) + 0.5,
                              torch.randn(batch, H, V, generator=g))
    out = {}
    for key, val in d.items():
        if isinstance(val, tuple):
            out[key] = tuple(t.to(device=device, dtype=dtype).requires_grad_() for t in val)
        else:
            out[key] = val.to(device=device, dtype=dtype).requires_grad_()
    return out


def leaves(inputs):
    return [inputs["q"], inputs["k"], inputs["v"], *inputs.get("initial_state", ())]


def run(fn, inputs, chunk):
    """Output, final state and every input gradient of a random projection of all of them."""
    for t in leaves(inputs):
        t.grad = None
    o, (m, u, w) = fn(**inputs, output_final_state=True, chunk_size=chunk)
    g = torch.Generator().manual_seed(1)
    loss = sum((t * torch.randn(t.shape, generator=g).to(t)).sum() for t in (o, m, u, w))
    loss.backward()
    return [t.detach() for t in (o, m, u, w)] + [t.grad for t in leaves(inputs)]


def double(inputs):
    out = {}
    for key, val in inputs.items():
        if isinstance(val, tuple):
            out[key] = tuple(t.detach().double().requires_grad_() for t in val)
        else:
            out[key] = val.detach().double().requires_grad_()
    return out


def compare(ref, out, out_budget, grad_budget):
    for i, (name, r, o) in enumerate(zip(NAMES, ref, out)):
        assert_close(name, r.to(o.dtype), o, out_budget if i < 4 else grad_budget)


@pytest.mark.parametrize("h0", [False, True], ids=["no-state", "initial-state"])
@pytest.mark.parametrize(
    "batch,T,H,K,V,chunk",
    [pytest.param(1, 1, 1, 4, 3, 8, id="T1"), pytest.param(2, 63, 3, 8, 5, 16, id="T63-B2H3"),
     pytest.param(1, 100, 2, 16, 16, 64, id="T100-H2"), pytest.param(2, 100, 1, 4, 2, 1, id="T100-chunk1")],
)
def test_chunk_matches_recurrence_float32(batch, T, H, K, V, chunk, h0):
    inputs = make(batch, T, H, K, V, h0=h0)
    compare(run(naive_prefix_attention, double(inputs), chunk), run(chunk_prefix_attention, inputs, chunk), 1e-5, 1e-5)


def test_chunk_matches_recurrence_float64_to_rounding():
    inputs = make(2, 77, 2, 6, 5, h0=True, dtype=torch.float64)
    compare(run(naive_prefix_attention, inputs, 16), run(chunk_prefix_attention, inputs, 16), 1e-12, 1e-12)


def test_outputs_equal_masked_softmax_attention_with_the_same_query():
    d = {k: v.detach() for k, v in make(2, 50, 2, 8, 4, h0=False, dtype=torch.float64).items()}
    s = torch.einsum("bthk,bhk->bht", d["k"], d["q"]) * 8**-0.5  # (B, H, T)
    T = s.shape[-1]
    scores = s.unsqueeze(-2).expand(-1, -1, T, -1).masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
    ref = (scores.softmax(-1) @ d["v"].transpose(1, 2)).transpose(1, 2)  # (B, H, T, V) -> (B, T, H, V)
    assert_close("o", ref, prefix_attention(**d)[0], 1e-12)


def test_huge_scores_stay_finite():
    d = {k: v.detach() for k, v in make(1, 40, 1, 4, 3, h0=False, q_scale=1e4).items()}
    o, _ = prefix_attention(**d)
    assert torch.isfinite(o).all()
    assert_close("o", naive_prefix_attention(**d)[0], o, 1e-5)


def test_state_carries_attention_across_calls():
    d = {k: v.detach() for k, v in make(2, 60, 2, 4, 3, h0=False, dtype=torch.float64).items()}
    full, _ = prefix_attention(**d)
    _, state = prefix_attention(d["q"], d["k"][:, :25], d["v"][:, :25], output_final_state=True)
    rest, _ = prefix_attention(d["q"], d["k"][:, 25:], d["v"][:, 25:], initial_state=state)
    assert_close("o[25:]", full[:, 25:], rest, 1e-12)


@pytest.mark.parametrize(
    "change,error,message",
    [
        (lambda d: d.update(k=d["k"][0]), ValueError, "k must be"),
        (lambda d: d.update(q=d["q"][:, :, :2]), ValueError, "q must have shape"),
        (lambda d: d.update(v=d["v"][:, :3]), ValueError, "v must have shape"),
        (lambda d: d.update(initial_state=(torch.zeros(1, 1),)), ValueError, "tuple \\(m, u, w\\)"),
        (lambda d: d.update(initial_state=(torch.zeros(1, 1), torch.ones(1, 1), torch.zeros(1, 1, 9))), ValueError, "initial_state w"),
        (lambda d: d.update(v=d["v"].long()), TypeError, "real floating"),
        (lambda d: d.update(scale=0.0), ValueError, "scale must be > 0"),
        (lambda d: d.update(chunk_size=24), ValueError, "power of two"),
        (lambda d: d.update(backend="scan"), ValueError, "backend must be one of"),
    ],
    ids=["k-3d", "q-shape", "v-len", "state-len", "state-w", "int-v", "scale0", "chunk24", "bad-backend"],
)
def test_invalid_arguments_raise_specific_errors(change, error, message):
    d = {k: v.detach() for k, v in make(1, 6, 1, 4, 3, h0=False).items()}
    change(d)
    with pytest.raises(error, match=message):
        prefix_attention(**d)


def test_explicit_triton_raises_backend_unavailable():
    d = {k: v.detach() for k, v in make(1, 6, 1, 4, 3, h0=False).items()}
    with pytest.raises(BackendUnavailable, match="no Triton backend"):
        prefix_attention(**d, backend="triton")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_chunk_matches_recurrence_on_gpu():
    inputs = make(8, 1024, 8, 64, 64, h0=True, device="cuda")
    compare(run(naive_prefix_attention, inputs, 64), run(chunk_prefix_attention, inputs, 64), 5e-3, 8e-3)
