import numpy as np

from workloads.tasks.adding import ADDING_CHANCE_MSE, adding_batch, future_tagging_batch


def test_adding_has_one_marker_per_half_and_target_is_the_marked_sum():
    x, y = adding_batch(np.random.default_rng(0), 64, 20)
    assert x.shape == (64, 20, 2) and y.shape == (64,)
    marks = x[..., 1]
    assert (marks[:, :10].sum(1) == 1).all() and (marks[:, 10:].sum(1) == 1).all()
    np.testing.assert_allclose((x[..., 0] * marks).sum(1), y, rtol=1e-6)


def test_adding_constant_one_predictor_scores_the_chance_mse():
    _, y = adding_batch(np.random.default_rng(1), 20000, 10)
    assert abs(float(((y - 1.0) ** 2).mean()) - ADDING_CHANCE_MSE) < 0.01


def test_future_tagging_labels_are_tokens_shifted_left():
    x, y = future_tagging_batch(np.random.default_rng(0), 4, 9, vocab=7, shift=2)
    assert (y[:, :7] == x[:, 2:]).all() and (y[:, 7:] == -100).all()
