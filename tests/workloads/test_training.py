"""The trainers' shared pieces: the cosine schedule's ends, the clipped step, the checkpoint round trip."""

from __future__ import annotations

import math

import pytest
import torch

from workloads.training import cosine_schedule, load_training_state, optimiser_step, training_state


def _run():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    return model, opt, cosine_schedule(opt, steps=10, floor=0.1)


def test_cosine_schedule_falls_from_one_to_the_floor_and_stays_there():
    model, opt, sched = _run()
    factors = []
    for _ in range(14):
        factors.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert factors[0] == 1.0
    assert factors[5] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 2)))
    assert factors[10:] == [pytest.approx(0.1)] * 4
    assert all(a >= b for a, b in zip(factors, factors[1:]))


def test_optimiser_step_clips_the_gradient_norm_and_returns_the_loss():
    model, opt, sched = _run()
    before = model.weight.detach().clone()
    loss = (model(torch.full((8, 4), 100.0)) ** 2).mean()
    value = optimiser_step(loss, model, opt, sched, clip=1.0)
    assert value == pytest.approx(float(loss))
    grads = torch.cat([p.grad.flatten() for p in model.parameters()])
    assert float(grads.norm()) == pytest.approx(1.0, rel=1e-5)  # clipped from far above 1
    assert float((model.weight - before).norm()) == pytest.approx(float(model.weight.grad.norm()), rel=1e-5)  # lr 1 at step 0


def test_training_state_round_trip_continues_identically():
    model, opt, sched = _run()
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(1))
    for _ in range(3):
        optimiser_step((model(x) ** 2).mean(), model, opt, sched)
    state = training_state(model, opt, sched)
    other_model, other_opt, other_sched = _run()
    load_training_state(state, other_model, other_opt, other_sched)
    a = optimiser_step((model(x) ** 2).mean(), model, opt, sched)
    b = optimiser_step((other_model(x) ** 2).mean(), other_model, other_opt, other_sched)
    assert a == b and torch.equal(model.weight, other_model.weight)
    assert opt.param_groups[0]["lr"] == other_opt.param_groups[0]["lr"] < 1.0


def _tiny():
    import torch
    from workloads.training import cosine_schedule
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    return model, opt, cosine_schedule(opt, 10)


def test_training_state_round_trip_with_and_without_schedule_and_extras():
    import pickle
    import pytest
    import torch
    from workloads.training import load_training_state, training_state
    model, opt, sched = _tiny()
    model(torch.ones(1, 3)).sum().backward(); opt.step(); sched.step()
    state = pickle.loads(pickle.dumps(training_state(model, opt, sched, step=7)))
    m2, o2, s2 = _tiny()
    assert load_training_state(state, m2, o2, s2) == {"step": 7}
    assert torch.equal(m2.weight, model.weight) and s2.last_epoch == sched.last_epoch
    plain = training_state({"a": model}, opt)
    assert "sched" not in plain
    load_training_state(plain, {"a": m2}, o2)
    with pytest.raises(KeyError, match="sched"):
        load_training_state(plain, m2, o2, s2)
    with pytest.raises(KeyError, match="expected"):
        load_training_state(plain, {"b": m2}, o2)


def _sgd(lr: float):
    import torch
    from workloads.training import cosine_schedule

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    return model, opt, cosine_schedule(opt, 10)


def test_a_restore_while_retuning_keeps_the_new_hyperparameters_and_the_old_moments():
    import torch
    from workloads.training import load_training_state, retuning, training_state

    model, opt, sched = _sgd(0.1)
    for _ in range(5):  # halfway down the cosine: lr = 0.1 × 0.5
        optimiser_step((model(torch.ones(4, 3)) ** 2).mean(), model, opt, sched)
    state = training_state(model, opt, sched)
    saved_lr = opt.param_groups[0]["lr"]
    assert saved_lr == pytest.approx(0.05)

    plain = _sgd(0.02)
    load_training_state(state, *plain)  # a resume: everything as saved, the donor's lr included
    assert plain[1].param_groups[0]["lr"] == saved_lr and plain[2].base_lrs == [0.1]

    model2, opt2, sched2 = _sgd(0.02)  # a PBT exploit: built from the perturbed Config
    with retuning():
        load_training_state(state, model2, opt2, sched2)
    group = opt2.param_groups[0]
    assert group["lr"] == pytest.approx(0.02 * 0.5) and group["initial_lr"] == 0.02 and sched2.base_lrs == [0.02]
    assert group["momentum"] == 0.9 and sched2.last_epoch == 5  # the schedule keeps its place
    moments = [opt.state[p]["momentum_buffer"] for p in model.parameters()]
    assert all(torch.equal(a, opt2.state[p]["momentum_buffer"]) for a, p in zip(moments, model2.parameters()))
    optimiser_step((model2(torch.ones(4, 3)) ** 2).mean(), model2, opt2, sched2)
    factor = 0.5 * (1 + math.cos(math.pi * 6 / 10))
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.02 * factor)  # the schedule now runs from the new base
