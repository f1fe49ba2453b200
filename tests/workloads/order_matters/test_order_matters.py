import numpy as np
import torch

from workloads.order_matters.model import SetPointer
from workloads.order_matters.trainer import make_batch
from workloads.testing import WorkloadTestCase

TINY = {"steps": 4, "eval_every": 2, "n": 5, "hidden": 16, "batch": 16, "eval_size": 20, "perm_inputs": 10, "n_perms": 3, "lr": 1.0e-2}


class TestOrderMattersRPW(WorkloadTestCase):
    name = "order_matters"
    tiny = TINY
    objective_probe = "val/nll"  # exact-sequence accuracy on 20 tiny test sets stays 0 in a few steps


class TestOrderMattersCosine(WorkloadTestCase):
    name = "order_matters"
    tiny = {**TINY, "n": 10, "schedule": "cosine"}
    objective_probe = "val/nll"


class TestOrderMattersTopKRandomOrder(WorkloadTestCase):
    name = "order_matters"
    tiny = {**TINY, "task": "topk", "k": 2, "order": "random", "encoder": "lstm"}
    objective_probe = "val/nll"


def test_read_process_write_logits_are_invariant_to_input_permutation() -> None:
    torch.manual_seed(0)
    model = SetPointer(16, "rpw", process_steps=3).double()
    x = torch.rand(4, 7, dtype=torch.float64)
    perm = torch.randperm(7)
    logits, out = model(x, steps=7)
    logits_p, out_p = model(x[:, perm], steps=7)
    torch.testing.assert_close(logits_p, logits[:, :, perm])  # position j of the permuted input is perm[j]
    assert torch.equal(perm[out_p], out)


def test_lstm_encoder_is_not_permutation_invariant() -> None:
    torch.manual_seed(0)
    model = SetPointer(16, "lstm", process_steps=0)
    x = torch.rand(4, 7)
    perm = torch.randperm(7)
    logits, _ = model(x, steps=1)
    logits_p, _ = model(x[:, perm], steps=1)
    assert (logits_p - logits[:, :, perm]).abs().max() > 1e-4


def test_sort_targets_sort_and_topk_targets_hold_the_k_largest() -> None:
    x, y = make_batch(np.random.default_rng(0), 8, 6, "sort", 3, "fixed")
    assert (x.gather(1, y).diff(dim=1) > 0).all()
    x, y = make_batch(np.random.default_rng(0), 8, 6, "topk", 3, "fixed")
    assert (x.gather(1, y).diff(dim=1) < 0).all()  # fixed order: descending
    top = x.topk(3, dim=1).indices.sort(1).values
    assert torch.equal(y.sort(1).values, top)
    _, yr = make_batch(np.random.default_rng(0), 64, 6, "topk", 3, "random")
    assert torch.equal(yr.sort(1).values, make_batch(np.random.default_rng(0), 64, 6, "topk", 3, "fixed")[1].sort(1).values)
    assert not torch.equal(yr[:8], y)  # same sets (same random stream), but not the canonical order


def test_evaluate_reports_exact_invariance_for_rpw_and_changes_for_the_ptr_net() -> None:
    from orchestrator.registry import load

    wl = load("order_matters")
    rpw = wl.build(wl.make_config({**TINY, "eval_size": 50, "perm_inputs": 50}), "cpu").evaluate()
    ptr = wl.build(wl.make_config({**TINY, "eval_size": 50, "perm_inputs": 50, "encoder": "lstm"}), "cpu").evaluate()
    assert rpw["val/perm_max_abs_diff"] < 1e-9 and rpw["val/perm_changed_frac"] == 0.0
    assert ptr["val/perm_max_abs_diff"] > 1e-6


def test_cosine_schedule_decays_the_learning_rate_to_zero_at_the_last_step() -> None:
    from orchestrator.registry import load

    wl = load("order_matters")
    run = wl.build(wl.make_config({**TINY, "schedule": "cosine", "steps": 4}), "cpu")
    lrs = []
    for step in range(4):
        run.train_step(step)
        lrs.append(run.opt.param_groups[0]["lr"])
    assert lrs == sorted(lrs, reverse=True) and lrs[-1] == 0.0 and lrs[0] < TINY["lr"]


def test_config_refuses_a_top_k_larger_than_the_set() -> None:
    import pytest
    from pydantic import ValidationError

    from orchestrator.registry import load

    with pytest.raises(ValidationError, match="k \\(6\\) must be at most n \\(5\\)"):
        load("order_matters").make_config({"task": "topk", "n": 5, "k": 6})


def test_sort_reports_per_position_accuracy_at_least_the_exact_sequence_accuracy() -> None:
    from orchestrator.registry import load

    wl = load("order_matters")
    out = wl.build(wl.make_config({**TINY, "eval_size": 50}), "cpu").evaluate()
    assert 0.0 <= out["val/acc"] <= out["val/acc_position"] <= 1.0
