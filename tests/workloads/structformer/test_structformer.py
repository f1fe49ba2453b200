import torch

from workloads.structformer.model import parent_distribution
from workloads.testing import WorkloadTestCase


class TestStructFormer(WorkloadTestCase):
    name = "structformer"
    tiny = {"steps": 4, "eval_every": 2, "n_train": 60, "n_test": 20, "batch": 4, "d_model": 16, "n_heads": 2, "dropout": 0.0}


def test_evaluate_reports_parser_scores_beside_the_baselines():
    inst = TestStructFormer().build()
    out = inst.evaluate()
    for key in ("val/f1", "val/f1_rb", "val/f1_lb", "val/f1_random", "val/uas", "val/uas_right_chain"):
        assert 0.0 <= out[key] <= 100.0
    assert out["val/f1_best_baseline"] == max(out["val/f1_rb"], out["val/f1_lb"], out["val/f1_random"])


def test_parent_distribution_rows_are_distributions_and_follow_sharp_structure():
    # "(w0 w1) (w2 w3)": gaps 0-1 and 2-3 are small, 1-2 large. A word's height is the level
    # at which it attaches to its parent: w0 and w3 attach low, w1 attaches to w2 across the
    # large gap, and w2 (the root) is highest.
    distance = torch.tensor([[0.0, 5.0, 0.0, 1e4]])
    height = torch.tensor([[1.0, 6.0, 8.0, 1.0]])
    p = parent_distribution(distance, height, torch.tensor(20.0), torch.tensor(20.0))[0]
    rows = p.sum(-1)
    assert torch.allclose(rows[[0, 1, 3]], torch.ones(3), atol=1e-3)  # non-root words have a parent
    assert p[0].argmax() == 1 and p[3].argmax() == 2 and p[1].argmax() == 2
    assert rows[2] < 1e-3  # the root heads its own span: no parent
    assert torch.all(p.diagonal() == 0)
