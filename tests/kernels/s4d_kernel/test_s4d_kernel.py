"""s4d_kernel: the FFT path and the recurrent step against the naive recurrence, validation, dispatch."""

from __future__ import annotations

import math

import pytest
import torch

from kernels.dispatch import BackendUnavailable
from kernels.s4d_kernel import (
    chunk_s4d_kernel,
    naive_s4d_kernel,
    s4d_kernel,
    s4d_step,
    s4d_vandermonde,
)
from kernels.testing import assert_close

NAMES = ("y", "final_state", "du", "ddt", "dA", "dB", "dC", "dD", "dh0")


def make(batch, T, H, P, N, *, h0, real=torch.float32, seed=0, device="cpu"):
    """S4D-Lin A, random complex B and C, Δ log-uniform in [1e-3, 1e-1]."""
    cplx = torch.complex128 if real == torch.float64 else torch.complex64
    g = torch.Generator().manual_seed(seed)
    d = {
        "u": torch.randn(batch, T, H, P, generator=g, dtype=torch.float64),
        "dt": torch.exp(torch.rand(H, P, generator=g, dtype=torch.float64) * math.log(100) + math.log(1e-3)),
        "A": torch.complex(-0.5 - torch.rand(H, P, N, generator=g, dtype=torch.float64),
                           math.pi * torch.arange(N, dtype=torch.float64).expand(H, P, N)),
        "B": torch.randn(H, P, N, generator=g, dtype=torch.complex128),
        "C": torch.randn(H, P, N, generator=g, dtype=torch.complex128),
        "D": torch.randn(H, P, generator=g, dtype=torch.float64),
    }
    if h0:
        d["initial_state"] = torch.randn(batch, H, N, P, generator=g, dtype=torch.complex128)
    return {k: v.to(device=device, dtype=cplx if v.is_complex() else real).requires_grad_() for k, v in d.items()}


def as_real(t):
    return torch.view_as_real(t) if t.is_complex() else t


def run(fn, inputs):
    """Output, final state and every input gradient of a random real projection of both."""
    for v in inputs.values():
        v.grad = None
    y, h = fn(**inputs, output_final_state=True)
    g = torch.Generator().manual_seed(1)
    wy = torch.randn(y.shape, generator=g).to(y)
    wh = torch.randn(as_real(h).shape, generator=g).to(as_real(h))
    ((y * wy).sum() + (as_real(h) * wh).sum()).backward()
    return [as_real(t.detach()) for t in (y, h)] + [as_real(v.grad) for v in inputs.values()]


def compare(ref, out, out_budget, grad_budget):
    for i, (name, r, o) in enumerate(zip(NAMES, ref, out)):
        assert_close(name, r.to(o.dtype), o, out_budget if i < 2 else grad_budget)


def double(inputs):
    return {k: v.detach().to(torch.complex128 if v.is_complex() else torch.float64).requires_grad_() for k, v in inputs.items()}


@pytest.mark.parametrize("h0", [False, True], ids=["zero-state", "initial-state"])
@pytest.mark.parametrize(
    "batch,T,H,P,N",
    [pytest.param(1, 1, 1, 2, 3, id="T1"), pytest.param(2, 63, 3, 4, 8, id="T63-B2H3"),
     pytest.param(1, 100, 2, 5, 16, id="T100-N16")],
)
def test_fft_path_matches_recurrence_float32(batch, T, H, P, N, h0):
    inputs = make(batch, T, H, P, N, h0=h0)
    compare(run(naive_s4d_kernel, double(inputs)), run(chunk_s4d_kernel, inputs), 5e-5, 5e-5)


def test_fft_path_matches_recurrence_float64_to_rounding():
    inputs = make(2, 77, 2, 3, 6, h0=True, real=torch.float64)
    compare(run(naive_s4d_kernel, inputs), run(chunk_s4d_kernel, inputs), 1e-11, 1e-11)


def test_vandermonde_kernel_equals_repeated_matrix_powers():
    d = {k: v.detach() for k, v in make(1, 1, 2, 3, 4, h0=False, real=torch.float64).items()}
    K = s4d_vandermonde(d["dt"], d["A"], d["B"], d["C"], 20)
    Abar = torch.exp(d["dt"][..., None] * d["A"])
    Bbar = (Abar - 1) / d["A"] * d["B"]
    power, expected = torch.ones_like(Abar), []
    for _ in range(20):
        expected.append(2 * (d["C"] * power * Bbar).sum(-1).real)
        power = power * Abar
    assert_close("K", torch.stack(expected, -1), K, 1e-12)


def test_recurrent_step_continues_a_sequence_exactly():
    d = {k: v.detach() for k, v in make(2, 30, 2, 3, 4, h0=False, real=torch.float64).items()}
    params = (d["dt"], d["A"], d["B"], d["C"], d["D"])
    y_all, _ = chunk_s4d_kernel(d["u"], *params)
    _, state = chunk_s4d_kernel(d["u"][:, :20], *params, output_final_state=True)
    for t in range(20, 30):
        y_t, state = s4d_step(d["u"][:, t], state, *params)
        assert_close(f"y[{t}]", y_all[:, t], y_t, 1e-11)


@pytest.mark.parametrize(
    "change,error,message",
    [
        (lambda d: d.update(u=d["u"][0]), ValueError, "u must be"),
        (lambda d: d.update(dt=d["dt"][None]), ValueError, "dt must have shape"),
        (lambda d: d.update(A=d["A"][..., None]), ValueError, "A must have shape"),
        (lambda d: d.update(B=d["B"][..., :1]), ValueError, "B must have shape"),
        (lambda d: d.update(C=d["C"].real), TypeError, "C must be a complex"),
        (lambda d: d.update(u=d["u"].to(torch.complex64)), TypeError, "u must be a real"),
        (lambda d: d.update(initial_state=torch.zeros(1, 1, 3, 2)), TypeError, "initial_state must be a complex"),
        (lambda d: d.update(backend="fft"), ValueError, "backend must be one of"),
    ],
    ids=["u-3d", "dt-shape", "A-shape", "B-shape", "C-real", "u-complex", "h0-real", "bad-backend"],
)
def test_invalid_arguments_raise_specific_errors(change, error, message):
    d = {k: v.detach() for k, v in make(1, 5, 1, 2, 3, h0=False).items()}
    change(d)
    with pytest.raises(error, match=message):
        s4d_kernel(**d)


def test_dispatch_uses_fft_by_default_and_refuses_triton():
    d = {k: v.detach() for k, v in make(1, 12, 1, 2, 3, h0=False).items()}
    assert_close("y", s4d_kernel(**d, backend="naive")[0], s4d_kernel(**d)[0], 1e-5)
    with pytest.raises(BackendUnavailable, match="no Triton backend"):
        s4d_kernel(**d, backend="triton")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fft_path_matches_recurrence_on_gpu():
    inputs = make(8, 1024, 8, 64, 16, h0=True, device="cuda")
    compare(run(naive_s4d_kernel, inputs), run(chunk_s4d_kernel, inputs), 5e-3, 8e-3)
