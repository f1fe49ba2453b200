import numpy as np
import pytest
import torch

from workloads.testing import WorkloadTestCase

TINY = {"d_model": 8, "stem_channels": 4, "d_state": 4, "layers": 1, "frames": 4, "size": 8, "batch": 4, "eval_batch": 8, "steps": 4, "eval_every": 2}


class TestSpikMamba(WorkloadTestCase):
    name = "spikmamba"
    tiny = TINY


@pytest.mark.parametrize("model", ["ann_mamba", "scnn"])
def test_every_model_trains_and_reports_its_firing_rate(model):
    from orchestrator.registry import load

    torch.set_num_threads(1)
    wl = load("spikmamba")
    run = wl.build(wl.make_config({**TINY, "model": model}), "cpu")
    assert run.train_step(0)["loss"] > 0
    rate = run.evaluate()["val/firing_rate"]
    assert rate == 0.0 if model == "ann_mamba" else 0.0 < rate < 1.0


def test_lif_integrates_fires_and_resets():
    from workloads.nn.spiking import LIF

    lif = LIF(tau=0.5, v_th=1.0)
    current = torch.tensor([[0.6, 0.6, 0.6, 0.6, 0.0]])  # (B=1, T=5)
    # v: 0.6, 0.9, 1.05 -> spike and reset, then 0.6, 0.3
    assert lif(current).tolist() == [[0.0, 0.0, 1.0, 0.0, 0.0]]


@pytest.mark.parametrize("surrogate", ["sigmoid", "atan"])
def test_surrogate_gradient_is_nonzero_near_threshold_and_small_far_away(surrogate):
    from workloads.nn.spiking import spike

    x = torch.tensor([0.0, 0.1, 5.0], requires_grad=True)
    out = spike(x, alpha=4.0, surrogate=surrogate)
    assert out.tolist() == [1.0, 1.0, 1.0]
    out.sum().backward()
    assert x.grad[0] > 0.5 and x.grad[2] < 0.05 * x.grad[0]


def test_gesture_pairs_hold_the_same_strokes_in_opposite_order():
    from workloads.tasks.event_gestures import GESTURES, event_frames

    for k in range(0, len(GESTURES), 2):
        assert GESTURES[k] == GESTURES[k + 1][::-1]
    x, y = event_frames(np.random.default_rng(0), 16, frames=16, size=16)
    assert x.shape == (16, 16, 2, 16, 16) and y.shape == (16,)
    assert x.min() >= 0 and x.max() <= 3
    # the strokes fade in and out: events in both halves, in both polarities
    half = x.shape[1] // 2
    assert (x[:, :half].sum((1, 3, 4)) > 0).all() and (x[:, half:].sum((1, 3, 4)) > 0).all()


def test_gesture_batches_depend_only_on_the_seed():
    from workloads.tasks.event_gestures import event_frames

    a, la = event_frames(np.random.default_rng([3, 7]), 4)
    b, lb = event_frames(np.random.default_rng([3, 7]), 4)
    assert np.array_equal(a, b) and np.array_equal(la, lb)
