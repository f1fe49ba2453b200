"""gated_linear_attention's compiled CPU kernel (cpp) against the naive loop: outputs, final
state and every input gradient, with and without dL/dS_T; dtypes, strides, threads, dispatch.

tests/kernels/conftest.py fills torch.empty / empty_like with NaN, so an output or buffer the
kernel leaves partly unwritten shows up as NaN in these comparisons."""

from __future__ import annotations

import pytest
import torch

from kernels.gated_linear_attention import (
    CHUNK_SIZES,
    chunk_gated_linear_attention,
    cpp_gated_linear_attention,
    gated_linear_attention,
    naive_gated_linear_attention,
)
from kernels.gated_linear_attention.bench import random_case
from kernels.testing import assert_close

F32_OUT, F32_GRAD = 1e-5, 1e-5  # measured ≤ 1e-6; the op's float32 budget is 5e-3 / 8e-3
F64 = 1e-12


def make_case(B, T, H, K=16, V=8, **options):
    """Random float32 leaf inputs (float64 with dtype=...), K = 16 and V = 8 unless given."""
    return random_case(B, T, H, K, V, **{"dtype": torch.float32, **options})


def as_float64(inputs):
    """The same values in float64, fresh leaves: the oracle's inputs."""
    return {name: x.detach().double().requires_grad_() for name, x in inputs.items()}


def run_with_grads(fn, inputs, chunk_size=16, *, state_grad=True, seed=1):
    """{o, final_state, d<input>...} for loss = ⟨o, W⟩ (+ ⟨S_T, W'⟩ when state_grad)."""
    o, S = fn(**inputs, chunk_size=chunk_size)
    gen = torch.Generator().manual_seed(seed)
    loss = (o.double() * torch.randn(o.shape, generator=gen, dtype=torch.float64)).sum()
    if state_grad:
        loss = loss + (S.double() * torch.randn(S.shape, generator=gen, dtype=torch.float64)).sum()
    grads = torch.autograd.grad(loss, list(inputs.values()))
    return {"o": o.detach(), "final_state": S.detach(), **{f"d{n}": g for n, g in zip(inputs, grads)}}


def compare(ref, out, out_budget, grad_budget):
    assert ref.keys() == out.keys()
    for name in ref:
        assert_close(name, ref[name], out[name], grad_budget if name.startswith("d") else out_budget)


CASES = [
    pytest.param(B, T, H, C, h0, sg, id=f"B{B}-T{T}-H{H}-chunk{C}-{'h0' if h0 else 'noh0'}-{'dST' if sg else 'nodST'}")
    for (B, H, C) in ((1, 1, 16), (2, 3, 64))
    for T in (1, 63, 100)
    for h0 in (False, True)
    for sg in (False, True)
]


@pytest.mark.parametrize("B,T,H,chunk_size,with_h0,state_grad", CASES)
def test_cpp_float32_matches_float64_naive(B, T, H, chunk_size, with_h0, state_grad):
    inputs = make_case(B, T, H, with_h0=with_h0)
    ref = run_with_grads(naive_gated_linear_attention, as_float64(inputs), state_grad=state_grad)
    out = run_with_grads(cpp_gated_linear_attention, inputs, chunk_size, state_grad=state_grad)
    assert out["o"].dtype == out["final_state"].dtype == torch.float32
    compare(ref, out, F32_OUT, F32_GRAD)


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
def test_cpp_float64_matches_naive_to_rounding_at_every_chunk_size(chunk_size):
    inputs = make_case(2, 100, 2, 12, 20, with_h0=True, dtype=torch.float64)
    out = run_with_grads(cpp_gated_linear_attention, inputs, chunk_size)
    assert out["o"].dtype == out["final_state"].dtype == torch.float64
    compare(run_with_grads(naive_gated_linear_attention, inputs), out, F64, F64)


@pytest.mark.parametrize("gate_scale", [pytest.param(10.0, id="strong-decay"), pytest.param(0.0, id="no-decay")])
def test_cpp_float32_under_strong_and_no_decay(gate_scale):
    """Strong: α down to e^-40 per step (states forget within a few tokens); none: g = 0, the
    state only grows (plain causal linear attention)."""
    inputs = make_case(2, 130, 2, 32, 16, gate_scale=gate_scale, with_h0=True)
    if gate_scale == 0.0:
        assert not inputs["g"].detach().any()
    ref = run_with_grads(naive_gated_linear_attention, as_float64(inputs))
    compare(ref, run_with_grads(cpp_gated_linear_attention, inputs, 128), F32_OUT, F32_GRAD)


def test_cpp_takes_bfloat16_and_returns_the_dtypes_chunk_returns():
    inputs = make_case(2, 40, 2, with_h0=True, dtype=torch.bfloat16)
    out = run_with_grads(cpp_gated_linear_attention, inputs)
    chunk = run_with_grads(chunk_gated_linear_attention, inputs)
    for name in out:
        assert out[name].dtype == chunk[name].dtype, name
    assert out["o"].dtype == torch.bfloat16 and out["final_state"].dtype == torch.float32
    compare(run_with_grads(naive_gated_linear_attention, as_float64(inputs)), out, 1e-2, 1e-2)


def test_cpp_accepts_noncontiguous_inputs():
    inputs = make_case(2, 33, 3, with_h0=True)
    # same values, strided: (B, T, H, D) stored as (T, B, H, D); the state as (B, H, V, K)
    strided = {n: x.detach().transpose(0, 1).contiguous().transpose(0, 1) for n, x in inputs.items() if n != "initial_state"}
    strided["initial_state"] = inputs["initial_state"].detach().transpose(-1, -2).contiguous().transpose(-1, -2)
    assert not any(x.is_contiguous() for x in strided.values())
    out = run_with_grads(cpp_gated_linear_attention, {n: x.requires_grad_() for n, x in strided.items()})
    compare(run_with_grads(cpp_gated_linear_attention, inputs), out, 0.0, 0.0)


def test_cpp_threads_split_rows_without_changing_a_bit():
    """Several threads take (batch, head) rows of their own: results identical to one thread."""
    inputs = make_case(3, 50, 3, with_h0=True)
    one = run_with_grads(cpp_gated_linear_attention, inputs, 16)
    torch.set_num_threads(2)  # the one_thread fixture restores it
    two = run_with_grads(cpp_gated_linear_attention, inputs, 16)
    for name in one:
        assert torch.equal(one[name], two[name]), name


def test_public_function_picks_cpp_on_cpu_and_matches_explicit_backends():
    inputs = {n: x.detach() for n, x in make_case(2, 20, 2, with_h0=True).items()}
    o_auto, S_auto = gated_linear_attention(**inputs)
    o_cpp, S_cpp = gated_linear_attention(**inputs, backend="cpp")
    o_direct, S_direct = cpp_gated_linear_attention(**inputs, chunk_size=64)
    assert torch.equal(o_auto, o_cpp) and torch.equal(S_auto, S_cpp)
    assert torch.equal(o_cpp, o_direct) and torch.equal(S_cpp, S_direct)
    o_chunk, S_chunk = gated_linear_attention(**inputs, backend="chunk")
    assert_close("o", o_chunk, o_cpp, F32_OUT)
    assert_close("final_state", S_chunk, S_cpp, F32_OUT)


def test_cpp_honours_scale():
    inputs = make_case(1, 30, 2, with_h0=True, dtype=torch.float64)
    ref = run_with_grads(lambda **a: naive_gated_linear_attention(**a, scale=0.3), inputs)
    out = run_with_grads(lambda **a: cpp_gated_linear_attention(**a, scale=0.3), inputs)
    compare(ref, out, F64, F64)


def test_cpp_rejects_tensors_off_the_cpu():
    x = torch.zeros(1, 4, 1, 8, device="meta")
    with pytest.raises(ValueError, match="tensors must be on the CPU, got q on meta"):
        cpp_gated_linear_attention(x, x, x, x)


def test_poisoned_allocation_is_active_for_the_kernel_buffers():
    """The kernel's outputs and scratch come from torch.empty / empty_like, NaN-filled here, so
    the comparisons above would see any element the kernel failed to write."""
    assert torch.empty(3).isnan().all() and torch.empty_like(torch.zeros(2)).isnan().all()
