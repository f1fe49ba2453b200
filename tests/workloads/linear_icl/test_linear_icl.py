import numpy as np
import torch

from workloads.linear_icl.lsa import LinearSelfAttention
from workloads.tasks.icl_regression import optimal_lsa_matrix, regression_prompts
from workloads.testing import WorkloadTestCase


class TestLinearICL(WorkloadTestCase):
    name = "linear_icl"
    tiny = {"steps": 4, "eval_every": 2, "batch": 64, "eval_prompts": 256, "lr": 1.0e-2}


def test_lsa_prediction_equals_the_bottom_right_entry_of_f_of_z() -> None:
    torch.manual_seed(0)
    d, n = 3, 7
    model = LinearSelfAttention(d, init_scale=0.5)
    x, y, x_q = torch.randn(2, n, d), torch.randn(2, n), torch.randn(2, d)
    z = torch.cat([torch.cat([x, y[..., None]], -1), torch.cat([x_q, torch.zeros(2, 1)], -1)[:, None]], 1).transpose(1, 2)  # (B, d+1, N+1)
    mask = torch.diag(torch.tensor([1.0] * n + [0.0]))
    f = z + model.w_pv @ z @ mask @ (z.transpose(1, 2) @ model.w_kq @ z) / n
    torch.testing.assert_close(model(x, y, x_q), f[:, -1, -1])


def test_optimal_matrix_for_isotropic_inputs_is_the_scalar_one_over_one_plus_d_plus_one_over_n() -> None:
    a = optimal_lsa_matrix(np.ones(5), 20)
    np.testing.assert_allclose(a, np.eye(5) / (1 + 6 / 20))


def test_closed_form_optimum_gives_the_predicted_relative_mse_and_breaks_under_covariate_shift() -> None:
    from orchestrator.registry import load

    wl = load("linear_icl")
    inst = wl.build(wl.make_config({"variant": "optimum", "eval_prompts": 4096}), "cpu")
    m = inst.evaluate()
    assert abs(m["val/rel_mse"] - 0.225) < 0.02
    assert m["val/matrix_cos"] > 0.9999
    assert m["val/rel_mse_cov_up"] > 5.0  # Monte-Carlo 7.07: worse than predicting zero
    assert m["val/rel_mse_task_shift"] < 0.26 and m["val/rel_mse_query_shift"] < 0.26


def test_covariate_shift_scales_every_x_and_task_shift_scales_y() -> None:
    base = regression_prompts(np.random.default_rng(1), 4, 3, 5)
    cov = regression_prompts(np.random.default_rng(1), 4, 3, 5, covariate_scale=2.0)
    task = regression_prompts(np.random.default_rng(1), 4, 3, 5, task_scale=3.0)
    np.testing.assert_allclose(cov[0], 2 * base[0], rtol=1e-6)
    np.testing.assert_allclose(cov[3], 2 * base[3], rtol=1e-5)
    np.testing.assert_allclose(task[1], 3 * base[1], rtol=1e-5)
