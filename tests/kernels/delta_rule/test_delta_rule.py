"""delta_rule: chunked, compiled (cpp) and Triton backends against the naive loop (outputs, final state, every
gradient), DeltaProduct sub-token semantics, argument validation and backend dispatch."""

from __future__ import annotations


import pytest
import torch

from kernels.delta_rule import chunk_delta_rule, cpp_delta_rule, delta_rule, naive_delta_rule
from kernels.testing import assert_close, triton_refusal_without_interpreter

OUT_BUDGET, GRAD_BUDGET = 5e-3, 8e-3


def make_case(B, T, H, K, V, *, n=1, beta_max=1.0, with_h0=False, dtype=torch.float64, seed=0):
    """Random inputs (unit keys, beta in [0, beta_max]) as leaf tensors that require grad."""
    g = torch.Generator().manual_seed(seed)
    L = T * n
    xs = {
        "q": torch.randn(B, T, H, K, generator=g),
        "k": torch.nn.functional.normalize(torch.randn(B, L, H, K, generator=g), dim=-1),
        "v": torch.randn(B, L, H, V, generator=g),
        "beta": torch.rand(B, L, H, generator=g) * beta_max,
    }
    if with_h0:
        xs["initial_state"] = torch.randn(B, H, K, V, generator=g)
    return {name: x.to(dtype).requires_grad_() for name, x in xs.items()}


def run_with_grads(fn, inputs, n, chunk_size=16, seed=1):
    """Outputs, final state and the gradient of a random projection w.r.t. every input."""
    o, S = fn(**inputs, n_householder=n, chunk_size=chunk_size)
    g = torch.Generator().manual_seed(seed)
    do = torch.randn(o.shape, generator=g, dtype=torch.float64).to(o.device)
    dS = torch.randn(S.shape, generator=g, dtype=torch.float64).to(S.device)
    loss = (o.double() * do).sum() + (S.double() * dS).sum()
    names = list(inputs)
    grads = torch.autograd.grad(loss, [inputs[k] for k in names])
    return o, S, dict(zip(names, grads))


def compare(ref, out, out_budget, grad_budget):
    assert_close("o", ref[0], out[0], out_budget)
    assert_close("final_state", ref[1], out[1], out_budget)
    for name, g in ref[2].items():
        assert_close(f"d{name}", g, out[2][name], grad_budget)


CHUNK_CASES = [
    pytest.param(B, T, H, n, beta_max, h0, id=f"B{B}-T{T}-H{H}-n{n}-beta0to{int(beta_max)}-{'h0' if h0 else 'noh0'}")
    for (B, H) in ((1, 1), (2, 3))
    for T in (1, 63, 100)
    for n in (1, 2, 3)
    for beta_max, h0 in ((1.0, False), (2.0, True))
]


@pytest.mark.parametrize("B,T,H,n,beta_max,with_h0", CHUNK_CASES)
def test_chunk_matches_naive_in_float64(B, T, H, n, beta_max, with_h0):
    inputs = make_case(B, T, H, 16, 8, n=n, beta_max=beta_max, with_h0=with_h0)
    ref = run_with_grads(naive_delta_rule, inputs, n)
    out = run_with_grads(chunk_delta_rule, inputs, n)
    compare(ref, out, 1e-10, 1e-10)


@pytest.mark.parametrize("B,T,H,n,beta_max,with_h0", CHUNK_CASES)
def test_cpp_matches_naive_in_float64(B, T, H, n, beta_max, with_h0):
    """chunk_size 16 keeps a state every 16 // n tokens: T = 63 and 100 cross several checkpoints."""
    inputs = make_case(B, T, H, 16, 8, n=n, beta_max=beta_max, with_h0=with_h0)
    compare(run_with_grads(naive_delta_rule, inputs, n), run_with_grads(cpp_delta_rule, inputs, n), 1e-12, 1e-12)


def test_cpp_float32_and_its_checkpoint_spacing_leave_results_within_rounding():
    inputs = make_case(2, 77, 2, 16, 16, n=2, beta_max=2.0, with_h0=True)
    ref = run_with_grads(naive_delta_rule, inputs, 2)
    as32 = {k: v.detach().float().requires_grad_() for k, v in inputs.items()}
    for chunk_size in (16, 128):
        compare(ref, run_with_grads(cpp_delta_rule, as32, 2, chunk_size=chunk_size), 1e-5, 1e-5)


def test_cpp_threads_split_rows_without_changing_a_bit():
    inputs = make_case(3, 40, 3, 16, 8, n=2, beta_max=2.0, with_h0=True, dtype=torch.float32)
    one = run_with_grads(cpp_delta_rule, inputs, 2)
    torch.set_num_threads(2)  # the one_thread fixture restores it
    two = run_with_grads(cpp_delta_rule, inputs, 2)
    assert torch.equal(one[0], two[0]) and torch.equal(one[1], two[1])
    assert all(torch.equal(one[2][name], two[2][name]) for name in one[2])


def test_cpp_accepts_half_precision_and_noncontiguous_inputs():
    inputs = {k: v.detach() for k, v in make_case(2, 33, 2, 16, 8).items()}
    ref, _ = naive_delta_rule(**inputs)
    strided = {k: v.transpose(0, 1).contiguous().transpose(0, 1) for k, v in inputs.items()}
    assert not strided["q"].is_contiguous()
    o, _ = cpp_delta_rule(**{k: v.float() for k, v in strided.items()})
    assert_close("o", ref, o, 1e-5)
    o16, S16 = cpp_delta_rule(**{k: v.bfloat16() for k, v in inputs.items()})
    assert o16.dtype == torch.bfloat16 and S16.dtype == torch.float32
    assert_close("o (bfloat16 in, float32 inside)", ref, o16, 2e-2)


@pytest.mark.parametrize("chunk_size", [16, 64, 128])
def test_chunk_float32_within_budget_of_float64_oracle(chunk_size):
    ref = run_with_grads(naive_delta_rule, make_case(2, 100, 2, 32, 32, n=2, beta_max=2.0, with_h0=True), 2)
    inputs = make_case(2, 100, 2, 32, 32, n=2, beta_max=2.0, with_h0=True, dtype=torch.float32)
    out = run_with_grads(chunk_delta_rule, inputs, 2, chunk_size=chunk_size)
    compare(ref, out, OUT_BUDGET, GRAD_BUDGET)


TRITON_CASES = [
    pytest.param(1, 1, 1, 1, 1.0, False, 16, id="B1-T1-H1-n1-chunk16"),
    pytest.param(2, 63, 2, 1, 2.0, True, 16, id="B2-T63-H2-n1-beta0to2-h0-chunk16"),
    pytest.param(1, 100, 2, 1, 1.0, False, 32, id="B1-T100-H2-n1-chunk32"),
    pytest.param(2, 50, 1, 2, 2.0, True, 32, id="B2-T50-H1-n2-beta0to2-h0-chunk32"),
    pytest.param(1, 21, 2, 3, 2.0, False, 64, id="B1-T21-H2-n3-beta0to2-chunk64"),
]


@pytest.mark.parametrize("B,T,H,n,beta_max,with_h0,chunk_size", TRITON_CASES)
def test_triton_matches_naive_under_interpreter(B, T, H, n, beta_max, with_h0, chunk_size):
    from kernels.delta_rule import triton_delta_rule

    ref = run_with_grads(naive_delta_rule, make_case(B, T, H, 16, 16, n=n, beta_max=beta_max, with_h0=with_h0), n)
    inputs = make_case(B, T, H, 16, 16, n=n, beta_max=beta_max, with_h0=with_h0, dtype=torch.float32)
    out = run_with_grads(triton_delta_rule, inputs, n, chunk_size=chunk_size)
    compare(ref, out, OUT_BUDGET, GRAD_BUDGET)


def test_triton_handles_dims_that_are_not_powers_of_two():
    from kernels.delta_rule import triton_delta_rule

    ref = run_with_grads(naive_delta_rule, make_case(1, 20, 1, 24, 20, with_h0=True), 1)
    out = run_with_grads(triton_delta_rule, make_case(1, 20, 1, 24, 20, with_h0=True, dtype=torch.float32), 1)
    compare(ref, out, OUT_BUDGET, GRAD_BUDGET)


def test_deltaproduct_with_zero_second_beta_equals_deltanet():
    """n = 2 where every second step has β = 0 is DeltaNet on the first steps."""
    x = make_case(2, 30, 2, 16, 8, n=2, beta_max=2.0)
    beta = x["beta"].detach().clone()
    beta[:, 1::2] = 0.0
    o2, S2 = chunk_delta_rule(x["q"], x["k"], x["v"], beta, n_householder=2)
    o1, S1 = naive_delta_rule(x["q"], x["k"][:, 0::2], x["v"][:, 0::2], beta[:, 0::2])
    assert_close("o", o1, o2, 1e-12)
    assert_close("final_state", S1, S2, 1e-12)


def test_beta_two_with_unit_keys_is_a_reflection_that_keeps_the_state_norm():
    """With v = 0, β = 2 and ‖k‖ = 1 each step is a Householder reflection: ‖S‖ is preserved."""
    x = make_case(1, 40, 2, 16, 8, with_h0=True)
    k = torch.nn.functional.normalize(x["k"].detach(), dim=-1)  # unit to float64 precision
    v = torch.zeros_like(x["v"])
    beta = torch.full_like(x["beta"], 2.0)
    _, S = chunk_delta_rule(x["q"], k, v, beta, initial_state=x["initial_state"])
    h0 = x["initial_state"].detach()
    torch.testing.assert_close(S.norm(dim=(-2, -1)), h0.norm(dim=(-2, -1)), rtol=1e-10, atol=1e-10)
    assert (S - h0).abs().max() > 0.1  # the state did move


def test_use_qk_l2norm_equals_normalising_beforehand():
    x = make_case(1, 12, 2, 16, 8)
    raw_q, raw_k = 3.0 * x["q"].detach(), 5.0 * x["k"].detach()
    o1, S1 = delta_rule(raw_q, raw_k, x["v"], x["beta"], use_qk_l2norm=True, backend="naive")
    qn, kn = torch.nn.functional.normalize(raw_q, dim=-1), torch.nn.functional.normalize(raw_k, dim=-1)
    o2, S2 = delta_rule(qn, kn, x["v"], x["beta"], backend="naive")
    assert_close("o", o2, o1, 1e-12)
    assert_close("final_state", S2, S1, 1e-12)


def _good():
    x = make_case(2, 8, 2, 16, 8, dtype=torch.float32)
    return {k: v.detach() for k, v in x.items()}


@pytest.mark.parametrize(
    "change,error,match",
    [
        pytest.param(lambda a: a.update(k=a["k"][:, :4]), ValueError, r"k must be \[B, T\*n_householder", id="k-length"),
        pytest.param(lambda a: a.update(v=a["v"][:, :, :1]), ValueError, r"v must be", id="v-heads"),
        pytest.param(lambda a: a.update(beta=a["beta"][..., None]), ValueError, r"beta must have 3 dims", id="beta-ndim"),
        pytest.param(lambda a: a.update(beta=a["beta"] + 2.5), ValueError, r"beta must lie in \[0, 2\]", id="beta-range"),
        pytest.param(lambda a: a.update(v=a["v"].double()), TypeError, r"v has dtype .* but q has", id="mixed-dtype"),
        pytest.param(lambda a: a.update(q=a["q"].long()), TypeError, r"q must be floating point", id="int-q"),
        pytest.param(lambda a: a.update(initial_state=torch.zeros(2, 2, 16, 9)), ValueError, r"initial_state must be",
                     id="state-shape"),
        pytest.param(lambda a: a.update(chunk_size=48), ValueError, r"chunk_size must be one of", id="chunk-size"),
        pytest.param(lambda a: a.update(n_householder=0), ValueError, r"n_householder must be", id="n-householder"),
        pytest.param(lambda a: a.update(q=a["q"][:, :0], k=a["k"][:, :0], v=a["v"][:, :0], beta=a["beta"][:, :0]),
                     ValueError, r"at least one batch row, token and head", id="empty-sequence"),
        pytest.param(lambda a: a.update(backend="cuda"), ValueError, r"backend must be one of", id="unknown-backend"),
    ],
)
def test_delta_rule_rejects_bad_arguments(change, error, match):
    args = _good()
    change(args)
    with pytest.raises(error, match=match):
        delta_rule(**args)


def test_automatic_backend_on_cpu_is_the_compiled_kernel_and_matches_naive():
    args = _good()
    o_auto, S_auto = delta_rule(**args)
    o_cpp, S_cpp = delta_rule(**args, backend="cpp")
    assert torch.equal(o_auto, o_cpp) and torch.equal(S_auto, S_cpp)
    o_naive, S_naive = delta_rule(**args, backend="naive")
    assert_close("o", o_naive, o_auto, 1e-5)
    assert_close("final_state", S_naive, S_auto, 1e-5)


def test_explicit_triton_on_cpu_without_interpreter_raises_backend_unavailable():
    message = triton_refusal_without_interpreter("delta_rule", "x = torch.randn(1, 4, 1, 16); delta_rule(x, x, x, torch.rand(1, 4, 1), backend='triton')")
    assert message.startswith("delta_rule: backend='triton' requested but tensors are on cpu"), message


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("T,n", [pytest.param(1024, 1, id="T1024-n1"), pytest.param(4096, 1, id="T4096-n1"),
                                 pytest.param(1024, 2, id="T1024-n2")])
def test_triton_matches_chunk_on_gpu_at_real_sizes(T, n):
    from kernels.delta_rule import triton_delta_rule
    from kernels.delta_rule.bench import make_inputs

    x = make_inputs(8, T, 8, 64, device="cuda", n_householder=n, allow_negative_eigenvalues=True)
    x["initial_state"] = torch.randn(8, 8, 64, 64, device="cuda", requires_grad=True)
    ref = run_with_grads(chunk_delta_rule, {k: v for k, v in x.items() if k != "n_householder"}, n, chunk_size=64)
    out = run_with_grads(triton_delta_rule, {k: v for k, v in x.items() if k != "n_householder"}, n, chunk_size=64)
    compare(ref, out, OUT_BUDGET, GRAD_BUDGET)
