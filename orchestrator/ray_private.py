"""The places Seqlab reaches into Ray's private attributes, each with no public equivalent.

Kept here so a Ray upgrade that moves one breaks in one place with a message that says what
changed; ``tests/orchestrator/test_ray_private.py`` checks each against the installed Ray.
"""

from __future__ import annotations

from typing import Any


class RayChanged(RuntimeError):
    """The installed Ray no longer has an attribute Seqlab relies on."""


def _missing(what: str, where: str) -> RayChanged:
    import ray

    return RayChanged(f"Ray {ray.__version__} has no {what} ({where}); Seqlab was built against ray 2.60: "
                      "pin that version or update orchestrator/ray_private.py")  # fmt: skip


def trial_actor(trial: Any) -> Any:
    """The Ray actor running a Tune trial, or None before it starts (to kill it on a time limit).

    Tune's public stop paths end a trial after its next report; a trial that never reports again
    can only be stopped by killing its actor.
    """
    try:
        return trial.temporary_state.ray_actor
    except AttributeError:
        raise _missing("Trial.temporary_state.ray_actor", "ray.tune.experiment.Trial") from None


def restored_run_config(tuner: Any) -> Any:
    """The RunConfig of a restored Tuner, to attach this driver's callbacks and stopper anew.

    ``Tuner.restore`` takes no callbacks: they are live objects and are not stored with the run.
    """
    try:
        return tuner._local_tuner._run_config  # noqa: SLF001
    except AttributeError:
        raise _missing("Tuner._local_tuner._run_config", "ray.tune.Tuner") from None


def autoscaler_node_groups() -> list[Any]:
    """The autoscaler's node groups from the GCS (each with ``resources`` and ``max_count``).

    Raises when there is no GCS connection or no autoscaler config; callers fall back to the
    launcher file.
    """
    try:
        import ray._private.state as ray_state

        get_config = ray_state.state.get_cluster_config
    except (ImportError, AttributeError):
        raise _missing("ray._private.state.state.get_cluster_config", "the GCS cluster config") from None
    return list(getattr(get_config(), "node_group_configs", []) or [])


def pbt_with_exploit_hook(**kwargs: Any) -> Any:
    """Tune's PopulationBasedTraining whose ``on_exploit(trial, donor)`` attribute, when set, is
    called after each exploit (a trial taking over ``donor``'s checkpoint and perturbed config).

    Tune reports exploits only in its ``pbt_global.txt``; the hook lets MLflow record them as
    they happen. It wraps the private ``_exploit`` step.
    """
    from ray.tune.schedulers import PopulationBasedTraining

    if not hasattr(PopulationBasedTraining, "_exploit"):
        raise _missing("PopulationBasedTraining._exploit", "ray.tune.schedulers")

    class HookedPBT(PopulationBasedTraining):
        on_exploit = None

        def __getstate__(self):  # Tune pickles its scheduler; the hook is this driver's live object
            state = self.__dict__.copy()
            state.pop("on_exploit", None)
            return state

        def _exploit(self, tune_controller, trial, trial_to_clone):
            super()._exploit(tune_controller, trial, trial_to_clone)
            if self.on_exploit is not None:
                self.on_exploit(trial, trial_to_clone)

    return HookedPBT(**kwargs)
