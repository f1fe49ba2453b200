"""Sanity checks of the S4D layer behind the adding-problem claim (see workloads/s4_survey/README.md)."""

import numpy as np
import torch


def _train(params, loss_fn, steps, lr=1e-2):
    """Adam on ``loss_fn(step)``; mean loss of the last 10% of steps."""
    opt = torch.optim.Adam(params, lr=lr)
    losses = []
    for step in range(steps):
        loss = loss_fn(step)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return float(np.mean(losses[-steps // 10 :]))


def test_one_s4d_layer_learns_to_delay_its_input():
    from workloads.nn.s4 import S4D

    torch.set_num_threads(1)
    torch.manual_seed(0)
    T, k = 128, 16
    layer, head = S4D(4, 32), torch.nn.Linear(4, 1)

    def loss(step):
        u = torch.randn(16, T, 1, generator=torch.Generator().manual_seed(step))
        y = head(layer(u.expand(-1, -1, 4)))[:, k:, 0]  # (B, T, 4) -> (B, T - k)
        return ((y - u[:, : T - k, 0]) ** 2).mean()  # target y_t = u_{t-k}, variance 1

    assert _train([*layer.parameters(), *head.parameters()], loss, 200) < 0.5


def _sum_loss(bias: bool) -> float:
    from workloads.nn.s4 import S4D
    from workloads.tasks.synthetic_memory import adding_problem

    torch.manual_seed(100)
    enc, layer, head = torch.nn.Linear(2, 4, bias=bias), S4D(4, 32), torch.nn.Linear(4, 1)

    def loss(step):
        x, y = adding_problem(np.random.default_rng([0, step]), 16, 512)
        x = x.clone()
        x[..., 0] *= x[..., 1]  # value · marker: the target is linear in this channel
        return ((head(layer(enc(x))[:, -1])[:, 0] - y) ** 2).mean()

    return _train([*enc.parameters(), *layer.parameters(), *head.parameters()], loss, 300)


def test_a_constant_input_stops_s4d_from_learning_the_pre_multiplied_sum():
    """The adding-problem plateau's mechanism: a constant input (here the encoder's bias) into the
    long-memory S4D kernel swamps the two sparse impulses; without it the same model learns the sum."""
    torch.set_num_threads(1)
    assert _sum_loss(bias=False) < 0.05
    assert _sum_loss(bias=True) > 0.1
