"""selective_scan: chunk, compiled CPU and Triton (interpreted) against the naive oracle,
validation, dispatch."""

from __future__ import annotations

import os

import pytest
import torch

import kernels.selective_scan.chunk as chunk_module
from kernels.selective_scan import chunk_selective_scan, cpp_selective_scan, naive_selective_scan, selective_scan
from kernels.testing import assert_close, triton_refusal_without_interpreter

NAMES = ("y", "final_state", "dx", "ddelta", "dA", "dB", "dC", "dD", "dz", "dh0")


def make(batch, T, H, P, N, *, h0, dtype=torch.float32, seed=0, device="cpu"):
    """Random leaf inputs with Mamba-like ranges (Δ in [0.01, 0.5], A in [−2.2, −0.2])."""
    g = torch.Generator().manual_seed(seed)
    d = {
        "x": torch.randn(batch, T, H, P, generator=g),
        "delta": torch.rand(batch, T, H, P, generator=g) * 0.49 + 0.01,
        "A": -(torch.rand(H, P, N, generator=g) * 2 + 0.2),
        "B": torch.randn(batch, T, H, N, generator=g),
        "C": torch.randn(batch, T, H, N, generator=g),
        "D": torch.randn(H, P, generator=g),
        "z": torch.randn(batch, T, H, P, generator=g),
    }
    if h0:
        d["initial_state"] = torch.randn(batch, H, N, P, generator=g)
    return {k: v.to(device=device, dtype=dtype).requires_grad_() for k, v in d.items()}


def run(fn, inputs, chunk_size):
    """Outputs, final state and every input gradient of a random projection of both."""
    for v in inputs.values():
        v.grad = None
    y, h = fn(**inputs, output_final_state=True, chunk_size=chunk_size)
    g = torch.Generator().manual_seed(1)
    wy = torch.randn(y.shape, generator=g).to(y)
    wh = torch.randn(h.shape, generator=g).to(h)
    ((y * wy).sum() + (h * wh).sum()).backward()
    grads = [inputs[k].grad for k in ("x", "delta", "A", "B", "C", "D", "z")]
    if "initial_state" in inputs:
        grads.append(inputs["initial_state"].grad)
    return [y.detach(), h.detach(), *grads]


def compare(ref, out, out_budget, grad_budget):
    for i, (name, r, o) in enumerate(zip(NAMES, ref, out)):
        assert_close(name, r, o, out_budget if i < 2 else grad_budget)


CASES = [  # (batch, T, H, P, N, chunk_size)
    pytest.param(1, 1, 1, 4, 3, 8, id="T1"),
    pytest.param(2, 63, 3, 5, 4, 16, id="T63-B2H3"),
    pytest.param(1, 100, 2, 8, 16, 32, id="T100-H2-N16"),
    pytest.param(3, 100, 1, 3, 2, 1, id="T100-chunk1"),
]


FAST = [pytest.param(chunk_selective_scan, id="chunk"), pytest.param(cpp_selective_scan, id="cpp")]


@pytest.mark.parametrize("fn", FAST)
@pytest.mark.parametrize("h0", [False, True], ids=["zero-state", "initial-state"])
@pytest.mark.parametrize("batch,T,H,P,N,chunk", CASES)
def test_fast_paths_match_naive_float32(fn, batch, T, H, P, N, chunk, h0):
    inputs = make(batch, T, H, P, N, h0=h0)
    ref = run(naive_selective_scan, {k: v.detach().double().requires_grad_() for k, v in inputs.items()}, chunk)
    compare(ref, run(fn, inputs, chunk), 1e-5, 1e-5)


@pytest.mark.parametrize("fn", FAST)
def test_fast_paths_match_naive_float64_to_rounding(fn):
    inputs = make(2, 77, 2, 6, 5, h0=True, dtype=torch.float64)
    compare(run(naive_selective_scan, inputs, 16), run(fn, inputs, 16), 1e-12, 1e-12)


def test_cpp_threads_split_rows_without_changing_a_bit():
    """Several threads take (batch, head) rows of their own: results identical to one thread."""
    inputs = make(3, 50, 3, 7, 4, h0=True)
    one = run(cpp_selective_scan, inputs, 8)
    torch.set_num_threads(2)  # the one_thread fixture restores it
    for name, a, b in zip(NAMES, one, run(cpp_selective_scan, inputs, 8)):
        assert torch.equal(a, b), name


def test_cpp_accepts_half_precision_and_noncontiguous_inputs():
    inputs = make(2, 33, 2, 8, 4, h0=False, dtype=torch.float64)
    ref, _ = naive_selective_scan(**inputs)
    strided = {k: (v.detach().transpose(0, 1).contiguous().transpose(0, 1) if v.dim() == 4 else v.detach()) for k, v in inputs.items()}
    assert not strided["x"].is_contiguous()
    y, _ = cpp_selective_scan(**{k: v.float() for k, v in strided.items()})
    assert_close("y", ref, y, 1e-5)
    y16, _ = cpp_selective_scan(**{k: v.bfloat16() for k, v in inputs.items()})
    assert y16.dtype == torch.bfloat16
    assert_close("y (bfloat16 in, float32 inside)", ref, y16, 2e-2)


def test_chunk_is_exact_across_many_segments(monkeypatch):
    monkeypatch.setattr(chunk_module, "_SEGMENT_ELEMENTS", 200)  # about 8 tokens per segment
    inputs = make(2, 100, 2, 3, 4, h0=True, dtype=torch.float64)
    assert len(chunk_module._segments(100, 4, 2 * 2 * 3 * 4)) > 10
    compare(run(naive_selective_scan, inputs, 4), run(chunk_selective_scan, inputs, 4), 1e-12, 1e-12)


TRITON_CASES = [  # tiny: the interpreter runs every program element by element
    pytest.param(1, 1, 1, 16, 4, 4, True, id="T1-h0"),
    pytest.param(2, 63, 1, 16, 16, 16, False, id="T63-B2"),
    pytest.param(1, 100, 2, 20, 5, 32, True, id="T100-H2-P20-h0"),
]


@pytest.mark.parametrize("batch,T,H,P,N,chunk,h0", TRITON_CASES)
def test_triton_matches_naive_interpreted(batch, T, H, P, N, chunk, h0):
    from kernels.selective_scan import triton_selective_scan

    inputs = make(batch, T, H, P, N, h0=h0)
    ref = run(naive_selective_scan, {k: v.detach().double().requires_grad_() for k, v in inputs.items()}, chunk)
    compare(ref, run(triton_selective_scan, inputs, chunk), 5e-3, 8e-3)


def test_public_function_picks_cpp_on_cpu_and_matches_explicit_backends():
    inputs = make(1, 20, 1, 4, 3, h0=False)
    auto, _ = selective_scan(**inputs)
    naive, _ = selective_scan(**inputs, backend="naive")
    cpp, _ = selective_scan(**inputs, backend="cpp")
    assert_close("y", naive, auto, 1e-5)
    assert torch.equal(auto, cpp)


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda d: d.update(x=d["x"][0]), "x must be"),
        (lambda d: d.update(delta=d["delta"][:, :5]), "delta must have shape"),
        (lambda d: d.update(A=d["A"][:, :2]), "A must have shape"),
        (lambda d: d.update(B=d["B"][..., :2]), "B must have shape"),
        (lambda d: d.update(C=d["C"][:, :, :, None]), "C must have shape"),
        (lambda d: d.update(D=d["D"][None]), "D must have shape"),
        (lambda d: d.update(initial_state=torch.zeros(1, 1, 4, 3)), "initial_state must have shape"),
        (lambda d: d.update(x=d["x"].long()), "real floating"),
        (lambda d: d.update(chunk_size=48), "power of two"),
        (lambda d: d.update(chunk_size=0), "power of two"),
        (lambda d: d.update(backend="cuda"), "backend must be one of"),
    ],
    ids=["x-3d", "delta-len", "A-shape", "B-state", "C-5d", "D-shape", "h0-shape", "int-x", "chunk48", "chunk0", "bad-backend"],
)
def test_invalid_arguments_raise_specific_errors(change, message):
    d = {k: v.detach() for k, v in make(1, 6, 1, 4, 3, h0=False).items()}
    change(d)
    with pytest.raises((ValueError, TypeError), match=message):
        selective_scan(**d)


def test_explicit_triton_on_cpu_without_interpreter_raises_backend_unavailable():
    message = triton_refusal_without_interpreter("selective_scan", "x = torch.zeros(1, 2, 1, 4); z = torch.zeros(1, 2, 1, 3); selective_scan(x, x + 0.1, -torch.ones(1, 4, 3), z, z, backend='triton')")
    assert message.startswith("selective_scan: backend='triton' requested but tensors are on cpu"), message


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.skipif(
    os.environ.get("TRITON_INTERPRET") == "1",
    reason="compiled Triton needs TRITON_INTERPRET=0 (conftest defaults it to 1): bash benchmarks/gpu_check.sh",
)
@pytest.mark.parametrize("T", [1024, 4096])
def test_triton_matches_chunk_and_naive_on_gpu(T):
    from kernels.selective_scan import triton_selective_scan

    inputs = make(8, T, 8, 64, 16, h0=True, device="cuda")
    chunk_ref = run(chunk_selective_scan, inputs, 32)
    compare(chunk_ref, run(triton_selective_scan, inputs, 32), 5e-3, 8e-3)
    if T == 1024:  # the naive loop is slow even on a GPU; check it once at the shorter length
        small = {k: v.detach()[:2].requires_grad_() if v.dim() == 4 else v.detach().requires_grad_() for k, v in inputs.items()}
        small.pop("initial_state")
        compare(run(naive_selective_scan, small, 32), run(triton_selective_scan, small, 32), 5e-3, 8e-3)
