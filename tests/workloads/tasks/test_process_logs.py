import numpy as np
import pytest

from workloads.tasks.process_logs import A, B, D, E, F, G, H, pad, sample_log


def test_the_decision_event_follows_the_early_choice_in_every_trace() -> None:
    log = sample_log(np.random.default_rng(0), 300, noise=0.0)
    for trace, d, k in zip(log.traces, log.decision, log.loop_len):
        assert trace[0] == A and trace[-1] == log.end
        assert trace[d] == (F if trace[1] == B else G)
        assert set(trace[2 : 2 + k].tolist()) <= {D, E} and d == 2 + k
        assert trace[d + 1] == H


def test_loop_length_is_geometric_with_the_requested_mean() -> None:
    log = sample_log(np.random.default_rng(1), 4000, loop_mean=3.0)
    assert log.loop_len.min() == 1
    assert abs(log.loop_len.mean() - 3.0) < 0.15


def test_noise_inserts_events_at_the_requested_rate() -> None:
    clean = sample_log(np.random.default_rng(2), 2000, noise=0.0)
    noisy = sample_log(np.random.default_rng(2), 2000, noise=0.05)
    events = sum(len(t) - 1 for t in clean.traces)
    extra = sum(len(t) - 1 for t in noisy.traces) - sum(k + 4 for k in noisy.loop_len)
    assert events == sum(k + 4 for k in clean.loop_len)
    assert 0.03 < extra / sum(k + 4 for k in noisy.loop_len) < 0.07


def test_pad_right_fills() -> None:
    out = pad([np.array([1, 2]), np.array([3])], fill=9)
    assert out.tolist() == [[1, 2], [3, 9]]


def test_too_few_activities_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least 8"):
        sample_log(np.random.default_rng(0), 1, n_activities=6)
