"""Each private Ray attribute Seqlab uses exists in the installed Ray (a Ray upgrade fails here first)."""

from __future__ import annotations

import pytest

from orchestrator import ray_private


def test_a_trial_exposes_its_actor_slot():
    from ray.tune.experiment import Trial

    assert ray_private.trial_actor(Trial("probe", stub=True)) is None  # not started: no actor yet


def test_a_tuner_exposes_its_run_config():
    from ray import tune

    tuner = tune.Tuner(lambda config: None, run_config=tune.RunConfig(name="probe"))
    assert ray_private.restored_run_config(tuner).name == "probe"


def test_the_gcs_cluster_config_reader_exists():
    import ray._private.state as ray_state

    assert callable(ray_state.state.get_cluster_config)


def test_a_missing_attribute_says_ray_changed():
    with pytest.raises(ray_private.RayChanged, match=r"Trial.temporary_state.ray_actor .*pin that version"):
        ray_private.trial_actor(object())
    with pytest.raises(ray_private.RayChanged, match=r"Tuner._local_tuner._run_config"):
        ray_private.restored_run_config(object())


def test_pbt_exploits_go_through_the_hook():
    scheduler = ray_private.pbt_with_exploit_hook(time_attr="step", perturbation_interval=2, hyperparam_mutations={"lr": [0.1, 0.2]})
    assert scheduler.on_exploit is None
    scheduler.on_exploit = lambda trial, donor: None
    from ray import cloudpickle  # as Tune saves its scheduler

    assert "on_exploit" not in cloudpickle.loads(cloudpickle.dumps(scheduler)).__dict__  # the live hook stays here
