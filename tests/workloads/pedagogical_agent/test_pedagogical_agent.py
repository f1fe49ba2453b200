import numpy as np
import torch

from workloads.pedagogical_agent.baselines import running_tag_accuracy, user_running_mean
from workloads.pedagogical_agent.model import NPA, history_windows
from workloads.tasks.students import sample_bank, sample_students
from workloads.testing import WorkloadTestCase

TINY = {"steps": 4, "eval_every": 2, "hidden": 8, "n_train": 40, "n_test": 20, "length": 16, "batch": 8,
        "targets_per_student": 4, "history_window": 6, "new_user_max": 4, "lr": 1.0e-2}


class TestNPA(WorkloadTestCase):
    name = "pedagogical_agent"
    tiny = TINY
    objective_probe = "val/loss"


class TestDKT(WorkloadTestCase):
    name = "pedagogical_agent"
    tiny = {**TINY, "model": "dkt"}
    objective_probe = "val/loss"


class TestLogistic(WorkloadTestCase):
    name = "pedagogical_agent"
    tiny = {**TINY, "model": "logistic"}
    objective_probe = "val/loss"


def test_history_windows_end_at_the_previous_interaction_and_are_left_padded() -> None:
    q_in = torch.tensor([[9, 0, 1, 2, 3]])  # BOS = 9, then interactions 0..3
    windows, _ = history_windows(q_in, torch.zeros_like(q_in), 3, pad_q=10, pad_r=2)
    assert windows.shape == (1, 5, 3)
    assert windows[0, 0].tolist() == [10, 10, 9]  # target 0 sees only BOS
    assert windows[0, 4].tolist() == [1, 2, 3]  # target 4 sees the last 3 interactions


def test_npa_prediction_ignores_interactions_after_the_target() -> None:
    """The BiLSTM's backward direction must not read the future: changing step t's answer leaves
    the predictions of steps <= t unchanged and changes later ones."""
    torch.manual_seed(0)
    bank = sample_bank(np.random.default_rng(0), 20, 4)
    model = NPA(torch.from_numpy(bank.tags), 8).eval()
    q = torch.randint(0, 20, (1, 10))
    r = torch.randint(0, 2, (1, 10))
    bos = lambda x, v: torch.cat([torch.full_like(x[:, :1], v), x[:, :-1]], dim=1)  # noqa: E731
    before = model(bos(q, 20), bos(r, 2), q, 10)
    r2 = r.clone()
    r2[0, 5] = 1 - r2[0, 5]
    after = model(bos(q, 20), bos(r2, 2), q, 10)
    torch.testing.assert_close(after[:, :6], before[:, :6])
    assert (after[:, 6:] - before[:, 6:]).abs().max() > 1e-6


def test_running_accuracies_count_only_earlier_steps() -> None:
    bank = sample_bank(np.random.default_rng(1), 10, 3)
    log = sample_students(np.random.default_rng(2), bank, 5, 8)
    acc = running_tag_accuracy(log, bank)
    np.testing.assert_allclose(acc[:, 0], 0.5)  # nothing seen yet: (0 + 1) / (0 + 2)
    np.testing.assert_allclose(user_running_mean(log)[:, 1], (log.correct[:, 0] + 1) / 3)
