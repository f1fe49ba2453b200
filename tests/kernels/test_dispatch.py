"""Backend choice: measured-fast Triton on CUDA, chunk elsewhere, loud errors for impossible asks."""

from __future__ import annotations

import pytest

from kernels.dispatch import TRITON_BY_DEFAULT, BackendUnavailable, pick_backend, triton_available


@pytest.mark.skipif(not triton_available(), reason="triton is not installed")
def test_cuda_gets_triton_only_where_it_was_measured_faster():
    assert pick_backend("selective_scan", None, "cuda") == "triton"
    for op in ("delta_rule", "gated_linear_attention", "s4d_kernel", "prefix_attention"):
        assert op not in TRITON_BY_DEFAULT
        assert pick_backend(op, None, "cuda") == "chunk"


def test_cpu_gets_the_chunked_path():
    assert pick_backend("selective_scan", None, "cpu") == "chunk"


def test_an_unknown_backend_names_the_choices():
    with pytest.raises(ValueError, match="backend must be one of naive, chunk, triton, got 'cuda'"):
        pick_backend("delta_rule", "cuda", "cpu")


def test_explicit_triton_on_cpu_without_the_interpreter_fails_loudly(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(BackendUnavailable, match="backend='triton' requested"):
        pick_backend("selective_scan", "triton", "cpu")
