"""The trial runner drives a workload per the contract, without Ray."""

from __future__ import annotations

import pytest

from orchestrator.devices import NoVisibleGPU
from orchestrator.trial import CURVE_KEY, DEVICE_KEY, ListReporter, NonFiniteMetric, TrialPlan, choose_device, read_curve, run


def plan(**fixed) -> TrialPlan:
    return TrialPlan(workload="quadratic", fixed={"steps": 30, "eval_every": 10, **fixed})


def test_reports_each_evaluation_with_its_step_and_train_loss():
    reporter = ListReporter()
    last = run(plan(), {"lr": 0.1}, reporter)
    assert [r["step"] for r in reporter.results] == [10.0, 20.0, 30.0]
    assert all("val/loss" in r and "train/loss" in r for r in reporter.results)
    assert last == {k: v for k, v in reporter.results[-1].items() if k != CURVE_KEY}
    assert reporter.results[-1]["val/loss"] < reporter.results[0]["val/loss"]


def test_each_report_carries_the_training_curve_since_the_last_one():
    reporter = ListReporter()
    run(TrialPlan(workload="quadratic", fixed={"steps": 30, "eval_every": 10}, log_every=3), {"lr": 0.1}, reporter)
    curves = [read_curve(r) for r in reporter.results]
    assert [[step for step, _ in c] for c in curves] == [[3, 6, 9], [12, 15, 18], [21, 24, 27, 30]]
    assert all(set(values) == {"train/loss"} for c in curves for _, values in c)
    assert curves[2][-1][1]["train/loss"] == reporter.results[2]["train/loss"]  # step 30 is the report's own
    default = ListReporter()
    run(TrialPlan(workload="quadratic", fixed={"steps": 500, "eval_every": 500}), {}, default)
    assert len(read_curve(default.results[0])) == 250  # steps // 250 = every 2nd step


def test_checkpoints_go_with_every_report_the_last_holding_the_trained_state():
    import pickle

    reporter = ListReporter()
    run(plan(), {}, reporter)
    assert [pickle.loads(c)["step"] for c in reporter.checkpoints] == [10, 20, 30]


def test_a_restored_trial_continues_after_its_checkpoint_with_the_same_result():
    whole = ListReporter()
    run(plan(), {}, whole)
    resumed = ListReporter(checkpoint=whole.checkpoints[0])  # as if it died after step 10
    run(plan(), {}, resumed)
    assert [r["step"] for r in resumed.results] == [20.0, 30.0]
    assert resumed.results[-1] == whole.results[-1]


def test_same_seed_same_result_and_other_seed_differs():
    a, b, c = ListReporter(), ListReporter(), ListReporter()
    run(plan(), {"seed": 3}, a)
    run(plan(), {"seed": 3}, b)
    run(plan(), {"seed": 4}, c)
    assert a.results == b.results
    assert a.results != c.results


def test_a_nan_metric_fails_the_trial_naming_it():
    with pytest.raises(NonFiniteMetric, match="metric 'loss' is nan"):
        run(plan(nan_at_step=5), {}, ListReporter())


def test_claim_arms_pick_their_workload_and_fixed_values():
    arms = {"fast": ("quadratic", {"lr": 0.3, "steps": 4, "eval_every": 2})}
    p = TrialPlan(workload="quadratic", arms=arms)
    assert p.resolve({"arm": "fast", "seed": 2}) == ("quadratic", {"lr": 0.3, "steps": 4, "eval_every": 2, "seed": 2})


def test_a_trial_reports_its_device_once():
    reporter = ListReporter()
    run(TrialPlan(workload="ar_net", fixed={"steps": 4, "eval_every": 2}), {}, reporter)
    assert [r.get(DEVICE_KEY) for r in reporter.results] == ["cpu", None]


def test_device_follows_the_gpus_ray_assigned(monkeypatch):
    import torch

    assert choose_device([], uses_torch=True) == "cpu"
    assert choose_device(["0"], uses_torch=False) == "cpu"  # a numpy workload ignores its GPU
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    if torch.cuda.is_available():
        assert choose_device(["0"], uses_torch=True) == "cuda"
    else:  # this machine: a GPU was reserved, torch cannot see it, the trial says so
        with pytest.raises(NoVisibleGPU, match=r"given GPU 1 but torch .* sees no GPU.*resources.gpu: 0"):
            choose_device(["1"], uses_torch=True)
    import os

    assert os.environ["CUDA_VISIBLE_DEVICES"] == ("0" if torch.cuda.is_available() else "1")


def test_a_trial_restored_from_its_final_report_reports_it_again():
    whole = ListReporter()
    last = run(plan(), {}, whole)
    again = ListReporter(checkpoint=whole.checkpoints[-1])  # HyperBand or PBT paused it at its end
    assert run(plan(), {}, again) == last
    assert again.results == [last] and again.checkpoints == []


def test_a_checkpoint_taken_over_under_a_perturbed_config_trains_at_the_new_learning_rate():
    """PBT's exploit: the donor's weights and moments, the taker's own (perturbed) lr."""
    import pickle

    tiny = {"hidden": 16, "emb": 8, "layers": 2, "min_len": 3, "max_len": 4, "batch": 8, "steps": 4,
            "eval_every": 2, "eval_per_length": 4, "words": 6}  # fmt: skip
    p = TrialPlan(workload="seq2seq", fixed=tiny)
    donor = ListReporter()
    run(p, {"lr": 1.0e-3}, donor)
    taker = ListReporter(checkpoint=donor.checkpoints[0])
    run(p, {"lr": 5.0e-3}, taker)
    assert pickle.loads(taker.checkpoints[-1])["state"]["opt"]["param_groups"][0]["lr"] == 5.0e-3
    assert taker.results[-1]["train/loss"] != donor.results[-1]["train/loss"]
    resumed = ListReporter(checkpoint=donor.checkpoints[0])  # a plain resume restores exactly
    run(p, {"lr": 1.0e-3}, resumed)
    last = {k: v for k, v in resumed.results[-1].items() if k != DEVICE_KEY}  # the device goes with a run's first report
    assert last == {k: v for k, v in donor.results[-1].items() if k != DEVICE_KEY}
