import numpy as np
import torch

from workloads.flow_equivariant_rnn.model import FlowRNN, equivariance_error
from workloads.tasks.moving_patterns import moving_bumps
from workloads.testing import WorkloadTestCase


class TestFlowEquivariantRnn(WorkloadTestCase):
    name = "flow_equivariant_rnn"
    tiny = {"hidden": 4, "size": 12, "t_in": 3, "t_out": 3, "t_eval": 5, "batch": 8, "n_train": 32,
            "n_test": 8, "steps": 4, "eval_every": 2, "lr": 1.0e-2}


def _frames(T=8, N=16):
    return torch.from_numpy(moving_bumps(np.random.default_rng(0), 4, T, N, velocities=(0,))[0])


def test_fernn_hidden_state_is_exactly_flow_equivariant():
    torch.manual_seed(0)
    model = FlowRNN(hidden=6, kernel=3, max_velocity=2)
    for v in (-1, 1, 2):
        assert equivariance_error(model, _frames(), v) < 1e-5


def test_grnn_hidden_state_is_not_flow_equivariant():
    torch.manual_seed(0)
    model = FlowRNN(hidden=6, kernel=3, max_velocity=0)
    assert equivariance_error(model, _frames(), 1) > 0.05


def test_moving_bumps_translate_by_the_velocity_each_frame():
    x, v = moving_bumps(np.random.default_rng(3), 5, 6, 20, velocities=(-2, 1))
    for b in range(5):
        for t in range(5):
            np.testing.assert_allclose(np.roll(x[b, t], int(v[b])), x[b, t + 1], atol=1e-5)
