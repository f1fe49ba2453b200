"""Launch settings of the chunked Triton kernels: the float32 dot precision and its override."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("triton")

from kernels.triton_launch import chunk_launch_meta, dot_precision  # noqa: E402


def test_float32_dots_use_tf32x3_float64_ieee_and_16_bit_tf32():
    assert dot_precision(torch.float32) == "tf32x3"
    assert dot_precision(torch.float64) == "ieee"
    assert dot_precision(torch.bfloat16) == "tf32"
    assert chunk_launch_meta(torch.empty(0), 64, 64, 64)["PREC"] == "tf32x3"


def test_the_float32_choice_can_be_overridden_and_a_bad_value_is_named(monkeypatch):
    monkeypatch.setenv("SEQLAB_TRITON_F32_DOT", "ieee")
    assert dot_precision(torch.float32) == "ieee"
    assert dot_precision(torch.float64) == "ieee"
    monkeypatch.setenv("SEQLAB_TRITON_F32_DOT", "fp32")
    with pytest.raises(ValueError, match="SEQLAB_TRITON_F32_DOT must be one of tf32x3, ieee, tf32, got 'fp32'"):
        dot_precision(torch.float32)
