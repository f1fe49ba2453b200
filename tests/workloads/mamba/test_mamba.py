import numpy as np

from workloads.testing import WorkloadTestCase


class TestMamba(WorkloadTestCase):
    name = "mamba"
    tiny = {"d_model": 8, "d_state": 4, "seq_len": 12, "n_data": 2, "batch": 4, "eval_batch": 8, "steps": 4, "eval_every": 2}


class TestMambaLTI(WorkloadTestCase):
    name = "mamba"
    tiny = {"selective": False, "task": "induction", "d_model": 8, "d_state": 4, "seq_len": 12, "batch": 4, "eval_batch": 8, "steps": 4, "eval_every": 2}


def test_lti_variant_has_no_input_dependent_projections():
    from orchestrator.registry import load

    wl = load("mamba")
    run = wl.build(wl.make_config({"selective": False, "d_model": 8, "d_state": 4, "seq_len": 8, "eval_batch": 2}), "cpu")
    names = {n for n, _ in run.model.named_parameters()}
    assert not any("x_proj" in n for n in names) and any(n.endswith("mixer.B") for n in names)


def test_long_eval_set_is_extrapolate_times_training_length():
    from orchestrator.registry import load

    wl = load("mamba")
    run = wl.build(wl.make_config({"d_model": 8, "d_state": 4, "seq_len": 8, "n_data": 2, "extrapolate": 4, "eval_batch": 2}), "cpu")
    assert run.eval_sets[""][0].shape == (2, 8 + 2)
    assert run.eval_sets["_long"][0].shape == (2, 32 + 2)
    assert np.array_equal(run.eval_sets["_long"][1][:, -2:].numpy() > 0, np.ones((2, 2), dtype=bool))
