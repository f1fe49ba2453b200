"""Backend choice: measured-fast Triton on CUDA, the compiled kernel on CPU where an op has one,
chunk elsewhere, loud errors for impossible asks."""

from __future__ import annotations

import pytest

from kernels.cpu_build import CompilerUnavailable
from kernels.dispatch import TRITON_BY_DEFAULT, BackendUnavailable, pick_backend, triton_available
from kernels.selective_scan.cpp import library


@pytest.mark.skipif(not triton_available(), reason="triton is not installed")
def test_cuda_gets_triton_only_where_it_was_measured_faster():
    assert pick_backend("selective_scan", None, "cuda") == "triton"
    for op in ("delta_rule", "gated_linear_attention", "s4d_kernel", "prefix_attention"):
        assert op not in TRITON_BY_DEFAULT
        assert pick_backend(op, None, "cuda") == "chunk"


def test_cpu_gets_the_compiled_kernel_where_an_op_has_one_else_the_chunked_path():
    assert pick_backend("selective_scan", None, "cpu", compiled_cpu=library) == "cpp"
    assert pick_backend("s4d_kernel", None, "cpu") == "chunk"


def test_a_kernel_that_cannot_be_built_falls_back_to_chunk_or_fails_loudly_when_asked_for():
    def unbuildable():
        raise CompilerUnavailable("no C++ compiler found (set CXX, or install g++)")

    assert pick_backend("unbuildable_op", None, "cpu", compiled_cpu=unbuildable) == "chunk"
    with pytest.raises(BackendUnavailable, match="backend='cpp' requested but no C\\+\\+ compiler found"):
        pick_backend("unbuildable_op", "cpp", "cpu", compiled_cpu=unbuildable)


def test_explicit_cpp_fails_loudly_for_an_op_without_one_or_off_the_cpu():
    with pytest.raises(BackendUnavailable, match="s4d_kernel has no compiled CPU kernel"):
        pick_backend("s4d_kernel", "cpp", "cpu")
    with pytest.raises(BackendUnavailable, match="tensors are on cuda; the compiled kernel runs on the CPU"):
        pick_backend("selective_scan", "cpp", "cuda", compiled_cpu=library)


def test_an_unknown_backend_names_the_choices():
    with pytest.raises(ValueError, match="backend must be one of naive, chunk, cpp, triton, got 'cuda'"):
        pick_backend("delta_rule", "cuda", "cpu")


def test_explicit_triton_on_cpu_without_the_interpreter_fails_loudly(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(BackendUnavailable, match="backend='triton' requested"):
        pick_backend("selective_scan", "triton", "cpu")
