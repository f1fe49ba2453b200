import pytest

from workloads.testing import WorkloadTestCase

TINY = {"H": 8, "N": 4, "seq_len": 24, "batch": 4, "eval_batch": 8, "lstm_hidden": 8, "steps": 4, "eval_every": 2}


class TestS4Survey(WorkloadTestCase):
    name = "s4_survey"
    tiny = TINY


@pytest.mark.parametrize("model", ["s4", "s5", "lstm"])
def test_every_model_trains(model):
    import torch

    from orchestrator.registry import load

    torch.set_num_threads(1)
    wl = load("s4_survey")
    run = wl.build(wl.make_config({**TINY, "model": model}), "cpu")
    metrics = run.train_step(0)
    assert metrics["loss"] > 0
    assert 0 < run.evaluate()["val/mse"] < 10
