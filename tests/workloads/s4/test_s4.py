import pytest

from workloads.testing import WorkloadTestCase

TINY = {"side": 8, "H": 8, "N": 4, "d_model": 16, "n_heads": 2, "lstm_hidden": 8, "batch": 4, "eval_batch": 8, "steps": 4, "eval_every": 2}


class TestS4(WorkloadTestCase):
    name = "s4"
    tiny = TINY


@pytest.mark.parametrize("model", ["s4d", "transformer", "lstm"])
def test_every_model_trains(model):
    import torch

    from orchestrator.registry import load

    torch.set_num_threads(1)
    wl = load("s4")
    run = wl.build(wl.make_config({**TINY, "model": model}), "cpu")
    assert run.train_step(0)["loss"] > 0
    assert 0 <= run.evaluate()["val/acc"] <= 1


def test_s4_arm_reports_agreeing_recurrent_and_convolution_modes():
    from orchestrator.registry import load

    wl = load("s4")
    run = wl.build(wl.make_config(TINY), "cpu")
    assert run.evaluate()["val/mode_gap"] < 1e-4


def test_training_stops_once_the_cpu_budget_is_spent():
    from orchestrator.registry import load

    wl = load("s4")
    run = wl.build(wl.make_config({**TINY, "budget_s": 1.0e-6}), "cpu")
    run.train_step(0)
    before = [p.detach().clone() for p in run.model.parameters()]
    assert run.train_step(1)["updates"] == 1.0
    assert all((a == p).all() for a, p in zip(before, run.model.parameters()))
