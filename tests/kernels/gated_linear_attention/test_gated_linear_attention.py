"""gated_linear_attention: chunked (and Triton) backends against the naive loop (outputs, final
state, every gradient), safety of the cumulative log-decay, argument validation, dispatch.
The compiled CPU kernel and the automatic choice on CPU (cpp): test_cpp.py."""

from __future__ import annotations


import pytest
import torch

from kernels.gated_linear_attention import (
    chunk_gated_linear_attention,
    gated_linear_attention,
    naive_gated_linear_attention,
)
from kernels.gated_linear_attention.bench import random_case
from kernels.testing import assert_close, triton_refusal_without_interpreter

OUT_BUDGET, GRAD_BUDGET = 5e-3, 8e-3


make_case = random_case  # float64 leaves that require grad (kernels/gated_linear_attention/bench.py)


def run_with_grads(fn, inputs, chunk_size=16, seed=1):
    """Outputs, final state and the gradient of a random projection w.r.t. every input."""
    o, S = fn(**inputs, chunk_size=chunk_size)
    gen = torch.Generator().manual_seed(seed)
    do = torch.randn(o.shape, generator=gen, dtype=torch.float64).to(o.device)
    dS = torch.randn(S.shape, generator=gen, dtype=torch.float64).to(S.device)
    loss = (o.double() * do).sum() + (S.double() * dS).sum()
    names = list(inputs)
    return o, S, dict(zip(names, torch.autograd.grad(loss, [inputs[k] for k in names])))


def compare(ref, out, out_budget, grad_budget):
    assert_close("o", ref[0], out[0], out_budget)
    assert_close("final_state", ref[1], out[1], out_budget)
    for name, g in ref[2].items():
        assert_close(f"d{name}", g, out[2][name], grad_budget)


CHUNK_CASES = [
    pytest.param(B, T, H, C, h0, id=f"B{B}-T{T}-H{H}-chunk{C}-{'h0' if h0 else 'noh0'}")
    for (B, H) in ((1, 1), (2, 3))
    for T in (1, 63, 100)
    for C in (16, 64)
    for h0 in (False, True)
]


@pytest.mark.parametrize("B,T,H,chunk_size,with_h0", CHUNK_CASES)
def test_chunk_matches_naive_in_float64(B, T, H, chunk_size, with_h0):
    inputs = make_case(B, T, H, 16, 8, with_h0=with_h0)
    compare(run_with_grads(naive_gated_linear_attention, inputs),
            run_with_grads(chunk_gated_linear_attention, inputs, chunk_size), 1e-10, 1e-10)


@pytest.mark.parametrize("gate_scale", [pytest.param(1.0, id="mild-decay"), pytest.param(10.0, id="strong-decay")])
@pytest.mark.parametrize("chunk_size", [16, 128])
def test_chunk_float32_within_budget_of_float64_oracle(gate_scale, chunk_size):
    """Strong decay drives the in-chunk cumulative log-decay to about −1000 at chunk 128,
    where the textbook q·e^{b}, k·e^{−b} factorisation would overflow float32."""
    ref = run_with_grads(naive_gated_linear_attention, make_case(2, 130, 2, 32, 16, gate_scale=gate_scale, with_h0=True))
    inputs = make_case(2, 130, 2, 32, 16, gate_scale=gate_scale, with_h0=True, dtype=torch.float32)
    assert inputs["g"].detach()[:, :128].sum(1).min() < -400 or gate_scale == 1.0
    out = run_with_grads(chunk_gated_linear_attention, inputs, chunk_size)
    compare(ref, out, OUT_BUDGET, GRAD_BUDGET)


def test_no_decay_reduces_to_plain_causal_linear_attention():
    x = {k: v.detach() for k, v in make_case(1, 40, 2, 8, 8).items()}
    o, S = chunk_gated_linear_attention(x["q"], x["k"], x["v"], torch.zeros_like(x["g"]), chunk_size=16)
    scores = torch.einsum("bthk,bshk->bhts", x["q"] * 8**-0.5, x["k"]).tril()
    o_ref = torch.einsum("bhts,bshv->bthv", scores, x["v"])
    assert_close("o", o_ref, o, 1e-12)
    assert_close("final_state", torch.einsum("bthk,bthv->bhkv", x["k"], x["v"]), S, 1e-12)


def _good():
    return {k: v.detach() for k, v in make_case(2, 8, 2, 16, 8, dtype=torch.float32).items()}


@pytest.mark.parametrize(
    "change,error,match",
    [
        pytest.param(lambda a: a.update(k=a["k"][:, :4]), ValueError, r"k must have q's shape", id="k-shape"),
        pytest.param(lambda a: a.update(g=a["g"][..., :4]), ValueError, r"g \(log-decay\) must have", id="g-shape"),
        pytest.param(lambda a: a.update(v=a["v"][:, :3]), ValueError, r"v must be \[B, T, H, V\]", id="v-shape"),
        pytest.param(lambda a: a.update(q=a["q"][0]), ValueError, r"q must be \[B, T, H, D\]", id="q-ndim"),
        pytest.param(lambda a: a.update(g=a["g"] + 1.0), ValueError, r"must be finite and <= 0", id="positive-g"),
        pytest.param(lambda a: a.update(v=a["v"].double()), TypeError, r"v has dtype", id="mixed-dtype"),
        pytest.param(lambda a: a.update(initial_state=torch.zeros(2, 2, 8, 16)), ValueError, r"initial_state must be",
                     id="state-shape"),
        pytest.param(lambda a: a.update(chunk_size=100), ValueError, r"chunk_size must be one of", id="chunk-size"),
        pytest.param(lambda a: a.update(**{n: a[n][:, :0] for n in ("q", "k", "v", "g")}), ValueError,
                     r"at least one batch row, token and head", id="empty-sequence"),
        pytest.param(lambda a: a.update(backend="fast"), ValueError, r"backend must be one of", id="unknown-backend"),
    ],
)
def test_gated_linear_attention_rejects_bad_arguments(change, error, match):
    args = _good()
    change(args)
    with pytest.raises(error, match=match):
        gated_linear_attention(**args)


def test_explicit_triton_on_cpu_without_interpreter_raises_backend_unavailable():
    message = triton_refusal_without_interpreter("gated_linear_attention", "x = torch.randn(1, 4, 1, 16); gated_linear_attention(x, x, x, -x.abs(), backend='triton')")
    assert message.startswith("gated_linear_attention: backend='triton' requested but tensors are on cpu"), message


TRITON_CASES = [
    pytest.param(1, 1, 1, 1.0, False, 16, id="B1-T1-H1-chunk16"),
    pytest.param(1, 63, 1, 1.0, True, 16, id="B1-T63-H1-h0-chunk16"),
    pytest.param(2, 20, 1, 10.0, True, 16, id="B2-T20-H1-strong-decay-h0-chunk16"),
    pytest.param(1, 40, 2, 1.0, False, 32, id="B1-T40-H2-chunk32"),
    # chunk 64 = four 16-row sub-blocks (tl.dot between them); T = 100 ends inside the third
    pytest.param(1, 100, 1, 1.0, True, 64, id="B1-T100-H1-h0-chunk64"),
    pytest.param(1, 100, 1, 10.0, False, 64, id="B1-T100-H1-strong-decay-chunk64"),
]


@pytest.mark.parametrize("B,T,H,gate_scale,with_h0,chunk_size", TRITON_CASES)
def test_triton_matches_naive_under_interpreter(B, T, H, gate_scale, with_h0, chunk_size):
    from kernels.gated_linear_attention import triton_gated_linear_attention

    ref = run_with_grads(naive_gated_linear_attention, make_case(B, T, H, 16, 16, gate_scale=gate_scale, with_h0=with_h0))
    inputs = make_case(B, T, H, 16, 16, gate_scale=gate_scale, with_h0=with_h0, dtype=torch.float32)
    compare(ref, run_with_grads(triton_gated_linear_attention, inputs, chunk_size), OUT_BUDGET, GRAD_BUDGET)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("T", [1024, 4096])
def test_triton_matches_chunk_on_gpu_at_real_sizes(T):
    from kernels.gated_linear_attention import triton_gated_linear_attention
    from kernels.gated_linear_attention.bench import make_inputs

    x = make_inputs(8, T, 8, 64, device="cuda")
    x["initial_state"] = torch.randn(8, 8, 64, 64, device="cuda", requires_grad=True)
    ref = run_with_grads(chunk_gated_linear_attention, x, 64)
    compare(ref, run_with_grads(triton_gated_linear_attention, x, 64), OUT_BUDGET, GRAD_BUDGET)
