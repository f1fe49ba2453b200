import torch

from workloads.rnn_review.model import RecurrentNet
from workloads.testing import WorkloadTestCase


class TestRnnReview(WorkloadTestCase):
    name = "rnn_review"
    tiny = {"length": 12, "hidden": 8, "batch": 8, "n_test": 16, "steps": 4, "eval_every": 2, "lr": 1.0e-2}


class TestRnnReviewTagging(WorkloadTestCase):
    name = "rnn_review"
    tiny = {"task": "tagging", "bidirectional": True, "length": 10, "hidden": 8, "batch": 8, "n_test": 16,
            "steps": 4, "eval_every": 2, "lr": 1.0e-2}


def test_bidirectional_output_at_t_depends_on_later_inputs_and_causal_does_not():
    torch.manual_seed(0)
    for bidirectional in (False, True):
        net = RecurrentNet("lstm", 8, 1, bidirectional, 5, vocab=10, per_step=True)
        x = torch.randint(0, 10, (1, 12))
        x2 = x.clone()
        x2[0, 8] = (x[0, 8] + 1) % 10  # change a token after position 4
        moved = (net(x)[0, 4] - net(x2)[0, 4]).abs().max().item()
        assert (moved > 1e-6) == bidirectional


def test_lstm_forget_bias_sets_only_the_forget_quarter():
    torch.manual_seed(0)
    for forget_bias in (0.0, 1.0):
        net = RecurrentNet("lstm", 6, 1, False, 1, in_features=2, forget_bias=forget_bias)
        b = net.rnn.bias_ih_l0 + net.rnn.bias_hh_l0  # gate order i, f, g, o
        assert torch.allclose(b[6:12], torch.full((6,), forget_bias))
        assert not torch.allclose(b[:6], torch.full((6,), forget_bias))
