import numpy as np
import pytest
import torch

from workloads.testing import WorkloadTestCase

TINY = {"d_model": 8, "stem_channels": 4, "d_state": 4, "layers": 1, "frames": 4, "size": 8, "batch": 4, "eval_batch": 8, "steps": 4, "eval_every": 2}


class TestSpikMamba(WorkloadTestCase):
    name = "spikmamba"
    tiny = TINY


@pytest.mark.parametrize("model,task", [("ann_mamba", "turns"), ("scnn", "turns"), ("scnn", "order")])
def test_every_model_trains_and_reports_its_firing_rate(model, task):
    from orchestrator.registry import load

    torch.set_num_threads(1)
    wl = load("spikmamba")
    run = wl.build(wl.make_config({**TINY, "model": model, "task": task}), "cpu")
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


def test_turn_gestures_are_connected_paths_that_stay_on_the_sensor():
    from workloads.spikmamba.gestures import GESTURES, gesture_tracks

    labels = np.arange(len(GESTURES)).repeat(4)
    centres, env = gesture_tracks(np.random.default_rng(0), labels, steps=65, size=16, stroke=4.8)
    assert centres.shape == (32, 65, 2) and env.shape == (32, 65)
    assert np.abs(np.diff(centres, axis=1)).max() < 1.0  # no jump: one connected path
    assert centres.min() >= 0 and centres.max() <= 15
    for label, track in zip(labels, centres):
        first, second = np.asarray(GESTURES[label], dtype=float)
        moved = track[-1] - track[0]  # both strokes, about 4.8 px each
        assert moved @ first > 3 and moved @ second > 3


def test_turn_frames_have_the_dvs_layout_and_depend_only_on_the_seed():
    from workloads.spikmamba.gestures import event_frames

    x, y = event_frames(np.random.default_rng([3, 7]), 8, frames=16, size=16, noise=0.05, contrast=0.3, distractors=1)
    again, labels = event_frames(np.random.default_rng([3, 7]), 8, frames=16, size=16, noise=0.05, contrast=0.3, distractors=1)
    assert x.shape == (8, 16, 2, 16, 16) and y.shape == (8,) and x.min() >= 0 and x.max() <= 3
    assert np.array_equal(x, again) and np.array_equal(y, labels)
    clean, _ = event_frames(np.random.default_rng(1), 8, noise=0.0)
    faint, _ = event_frames(np.random.default_rng(1), 8, noise=0.0, contrast=0.3)
    assert 0 < faint.sum() < clean.sum()  # a weaker contrast crosses the DVS threshold less often


def test_order_task_knobs_are_refused_where_they_do_not_apply():
    from pydantic import ValidationError

    from orchestrator.registry import load

    with pytest.raises(ValidationError, match="task: turns only"):
        load("spikmamba").make_config({"task": "order", "distractors": 1})


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
