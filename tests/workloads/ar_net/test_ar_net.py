"""AR-Net: the contract, the AR data helpers, the regularizer, and agreement with least squares."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workloads.tasks.autoregressive import ar_series, lag_windows, ols_ar, stpe
from workloads.testing import WorkloadTestCase


class TestArNet(WorkloadTestCase):
    name = "ar_net"
    tiny = {"n_train": 400, "n_test": 100, "order": 8, "steps": 6, "eval_every": 3}


def test_lag_windows_put_lag_one_first():
    y = np.arange(10.0)
    X, Y = lag_windows(y, 3)
    assert X.shape == (7, 3) and Y.shape == (7,)
    assert X[0].tolist() == [2.0, 1.0, 0.0] and Y[0] == 3.0
    assert X[-1].tolist() == [8.0, 7.0, 6.0] and Y[-1] == 9.0


def test_ar_series_rejects_a_non_stationary_process():
    with pytest.raises(ValueError, match="not stationary"):
        ar_series(np.array([1.1]), 100)


def test_ols_recovers_the_true_coefficients_on_a_long_series():
    w_true = np.array([0.2, -0.3, 0.4])
    X, Y = lag_windows(ar_series(w_true, 50_000, seed=3), 3)
    w, b = ols_ar(X, Y)
    assert np.max(np.abs(w - w_true)) < 0.02 and abs(b) < 0.03


def test_stpe_is_zero_for_a_match_and_100_for_disjoint_support():
    assert stpe(np.array([0.2, -0.3, 0.4, 0.0]), np.array([0.2, -0.3, 0.4])) == 0.0
    assert stpe(np.array([0.0, 0.0, 0.0, 0.5]), np.array([0.2, -0.3, 0.4])) == pytest.approx(100.0)


def test_regularizer_is_zero_at_zero_rises_towards_one_and_has_finite_gradient():
    from workloads.ar_net.model import reg_weight, regularizer

    values = [float(regularizer(torch.tensor([x]))) for x in (0.0, 0.01, 0.1, 1.0, 100.0)]
    assert values[0] == pytest.approx(0.0, abs=1e-3)
    assert all(a < b for a, b in zip(values, values[1:])) and values[-1] < 1.0 and values[-1] > 0.99
    w = torch.zeros(4, requires_grad=True)
    regularizer(w).backward()
    assert torch.isfinite(w.grad).all()
    assert reg_weight(3 / 50) == pytest.approx(0.02 * (50 / 3 - 1))


def test_unregularized_net_learns_the_least_squares_coefficients():
    from workloads.ar_net import WORKLOAD

    torch.set_num_threads(1)
    cfg = WORKLOAD.make_config({"n_train": 1500, "order": 6, "regularize": False, "steps": 40 * 12, "lr": 0.03})
    run = WORKLOAD.build(cfg, "cpu")
    for step in range(cfg.steps):
        run.train_step(step)
    metrics = run.evaluate()
    assert metrics["val/max_gap_to_ols"] < 0.05
    assert abs(metrics["val/stpe"] - metrics["val/stpe_ols"]) < 3


def test_regularized_net_shrinks_the_spurious_lags_below_least_squares():
    from workloads.ar_net import WORKLOAD

    torch.set_num_threads(1)
    cfg = WORKLOAD.make_config({"n_train": 2000, "order": 20, "sparsity": 3 / 20, "steps": 40 * 16})
    run = WORKLOAD.build(cfg, "cpu")
    for step in range(cfg.steps):
        run.train_step(step)
    metrics = run.evaluate()
    assert metrics["val/stpe"] < 0.8 * metrics["val/stpe_ols"]
