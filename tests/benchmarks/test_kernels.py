"""benchmarks/kernels.py's agreement check and its reference-library lookup, on CPU."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from benchmarks.kernels import agreement, backend_fn, largest_rel_rms
from benchmarks.reference_libs import reference_backends, reference_fn


@pytest.mark.parametrize("op", ["delta_rule", "gated_linear_attention", "prefix_attention"])
def test_chunk_and_naive_agree_over_outputs_and_every_input_gradient(op):
    assert agreement(op, "chunk", "naive", 1, 40, 2, 16, "cpu") < 1e-5


def test_largest_rel_rms_takes_the_worst_pair_and_refuses_mismatched_outputs():
    ref = [torch.ones(4), torch.full((3,), 2.0)]
    assert largest_rel_rms([torch.ones(4), torch.full((3,), 2.2)], ref) == pytest.approx(0.1)
    assert largest_rel_rms([torch.full((4,), 0.5), torch.full((3,), 2.0)], ref) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="different outputs"):
        largest_rel_rms([torch.ones(4)], ref)


def test_a_reference_backend_is_known_per_op_and_absent_when_not_installed():
    assert reference_backends("delta_rule") == ["fla"] == reference_backends("gated_linear_attention")
    assert reference_backends("selective_scan") == []
    assert reference_fn("selective_scan", "fla") is None
    assert backend_fn("delta_rule", "no_such_backend") is None
    if importlib.util.find_spec("fla") is not None:
        pytest.skip("fla is installed here; its kernels need a GPU")
    assert backend_fn("delta_rule", "fla") is None
