import numpy as np
import pytest

from workloads.tasks.synthetic_memory import IGNORE, adding_problem, induction_heads, selective_copy


def test_selective_copy_targets_are_the_data_tokens_in_order():
    x, y = selective_copy(np.random.default_rng(0), 16, 20, 5, 8)
    assert x.shape == y.shape == (16, 25)
    for row_x, row_y in zip(x.numpy(), y.numpy()):
        data = row_x[:20][row_x[:20] > 0]
        assert len(data) == 5 and (data <= 8).all()
        assert (row_y[20:] == data).all() and (row_y[:20] == IGNORE).all()
        assert (row_x[20:] == 9).all()


def test_selective_copy_depends_only_on_the_generator_seed():
    a = selective_copy(np.random.default_rng([3, 7]), 4, 12, 3, 8)[0]
    b = selective_copy(np.random.default_rng([3, 7]), 4, 12, 3, 8)[0]
    c = selective_copy(np.random.default_rng([3, 8]), 4, 12, 3, 8)[0]
    assert (a == b).all() and not (a == c).all()


def test_induction_target_is_the_token_after_the_first_trigger():
    x, y = induction_heads(np.random.default_rng(1), 32, 16, 10)
    for row_x, row_y in zip(x.numpy(), y.numpy()):
        first = int(np.flatnonzero(row_x == 11)[0])
        assert first < 8 and row_x[-1] == 11
        assert row_y[-1] == row_x[first + 1] and (row_y[:-1] == IGNORE).all()


def test_adding_problem_has_one_mark_per_half_and_the_sum_as_target():
    x, y = adding_problem(np.random.default_rng(2), 64, 50)
    marks = x[..., 1].numpy()
    assert (marks[:, :25].sum(1) == 1).all() and (marks[:, 25:].sum(1) == 1).all()
    assert np.allclose((x[..., 0] * x[..., 1]).sum(1).numpy(), y.numpy())
    big = adding_problem(np.random.default_rng(3), 20000, 10)[1].numpy()
    assert abs(big.var() - 1 / 6) < 0.01


def test_generators_reject_impossible_shapes():
    with pytest.raises(ValueError, match="n_data"):
        selective_copy(np.random.default_rng(0), 1, 3, 4, 8)
