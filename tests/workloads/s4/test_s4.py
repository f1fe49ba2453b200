import pytest

from workloads.testing import WorkloadTestCase

TINY = {"side": 8, "H": 8, "N": 4, "d_model": 16, "n_heads": 2, "lstm_hidden": 8, "batch": 4, "eval_batch": 8, "steps": 50, "eval_every": 2}


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


def test_chrono_init_spreads_lstm_forget_biases_up_to_the_sequence_length():
    import math

    import torch

    from orchestrator.registry import load

    wl = load("s4")
    run = wl.build(wl.make_config({**TINY, "model": "lstm", "lstm_hidden": 32}), "cpu")
    H, T = 32, TINY["side"] ** 2
    for layer in range(run.model.lstm.num_layers):
        b = getattr(run.model.lstm, f"bias_ih_l{layer}") + getattr(run.model.lstm, f"bias_hh_l{layer}")  # (4H,) = i, f, g, o
        forget, inp = b[H : 2 * H], b[:H]
        assert float(forget.min()) >= 0.0 and float(forget.max()) <= math.log(T - 1)
        assert torch.allclose(inp, -forget)


def test_learning_rate_decays_to_zero_over_the_steps():
    from orchestrator.registry import load

    wl = load("s4")
    run = wl.build(wl.make_config({**TINY, "model": "lstm"}), "cpu")
    for step in range(TINY["steps"]):
        run.train_step(step)
    assert run.opt.param_groups[0]["lr"] == 0.0
