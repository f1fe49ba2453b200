"""Runs trials as one Ray Tune experiment (with its Callback in orchestrator/bridge.py, the only Tune code).

It closes Tune's gaps that matter to a researcher: a hard per-trial time limit that also ends a
trial stuck inside a step, a limit on failed trials, a resource check before anything starts
(Tune would leave impossible trials pending forever), nested MLflow runs, and absolute paths
everywhere (Tune changes the working directory of trials).
"""

from __future__ import annotations

import json
import os
import tempfile
import traceback
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping

from orchestrator.bridge import TUNE_KEYS, Counts, RunOutcome, TrialOutcome, make_bridge
from orchestrator.diskspace import shortage
from orchestrator.ray_private import restored_run_config
from orchestrator.trial import TrialPlan
from orchestrator.yamlio import SpecError



def ensure_ray(num_cpus: int | None = None) -> None:
    """Connect to the cluster in ``RAY_ADDRESS``, or start Ray in-process (no dashboard)."""
    from orchestrator import auth

    auth.enable()  # before ray is imported: it reads RAY_AUTH_MODE once
    import ray

    if ray.is_initialized():
        return
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")  # only Tune's JSON log: see run_tune
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    if os.environ.get("RAY_ADDRESS"):
        ray.init(address=os.environ["RAY_ADDRESS"], log_to_driver=False, logging_level="ERROR")
    else:  # "local": a fresh in-process cluster, never one some other `ray start` left on this machine
        _start_local_ray(num_cpus)


STARTUP_ATTEMPTS = 3  # Ray gives its raylet a fixed 30 s to register; a loaded machine can miss that


def _start_local_ray(num_cpus: int | None) -> None:
    """``ray.init(address="local")``, tried again after Ray's own start-up timeout.

    Ray waits a hard-coded 30 s for the new node's raylet to register with the GCS and then gives
    up ("The current node timed out during startup"); on a machine under heavy load that is a
    slow start, not a broken one. Any other error is raised at once.
    """
    import logging

    import ray

    for attempt in range(1, STARTUP_ATTEMPTS + 1):
        try:
            ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            return
        except Exception as exc:  # Ray raises a bare Exception for this
            if "timed out during startup" not in str(exc) or attempt == STARTUP_ATTEMPTS:
                raise
            logging.getLogger("seqlab").warning(
                "Ray start-up timed out (attempt %d of %d, machine load %.1f); starting it again",
                attempt, STARTUP_ATTEMPTS, os.getloadavg()[0],
            )
            ray.shutdown()


def node_capacities() -> list[dict[str, float]]:
    """Resources of each alive node of the connected cluster."""
    import ray

    return [dict(n["Resources"]) for n in ray.nodes() if n.get("Alive")]


def check_resources(cpu: float, gpu: float, what: str = "each trial") -> None:
    """Raise SpecError unless some node can hold ``cpu`` CPUs and ``gpu`` GPUs at once.

    Nodes the autoscaler may add (node types of the cluster's launcher config) count too.
    """
    from orchestrator.cluster import scalable_node_shapes

    nodes = node_capacities()
    scalable = scalable_node_shapes()
    if any(n.get("CPU", 0) >= cpu and n.get("GPU", 0) >= gpu for n in nodes + scalable):
        return
    best_cpu = max((n.get("CPU", 0) for n in nodes + scalable), default=0)
    best_gpu = max((n.get("GPU", 0) for n in nodes + scalable), default=0)
    may_add = f", {len(scalable)} node type(s) the autoscaler may add" if scalable else ""
    raise SpecError(
        f"resources: {what} asks for cpu: {cpu:g}, gpu: {gpu:g}, but the largest node of this "
        f"cluster has cpu: {best_cpu:g}, gpu: {best_gpu:g} ({len(nodes)} node(s){may_add}); "
        "trials would wait forever"
    )


# -- search and scheduling ----------------------------------------------------------------------
def optuna_searcher(*, space: Mapping[str, Any], objectives: list[tuple[str, str]], sampler: Any, storage: Any,
                    study_name: str, max_concurrent: int) -> Any:
    """Tune's ``OptunaSearch`` over ``space`` (Optuna distributions), at most ``max_concurrent`` at once.

    ``objectives`` is ``[(metric, mode), ...]``; more than one makes a multi-objective study.
    """
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.optuna import OptunaSearch

    metrics = [m for m, _ in objectives]
    modes = [mode for _, mode in objectives]
    search = OptunaSearch(
        space=dict(space),
        metric=metrics if len(metrics) > 1 else metrics[0],
        mode=modes if len(modes) > 1 else modes[0],
        sampler=sampler,
        study_name=study_name,
        storage=storage,
    )
    return ConcurrencyLimiter(search, max_concurrent=max_concurrent)


def tune_scheduler(settings: tuple[str, dict[str, Any]] | None) -> Any | None:
    """The Tune scheduler for ``(kind, kwargs)`` from :func:`orchestrator.search.scheduler_settings`."""
    if settings is None:
        return None
    from ray.tune import schedulers

    kind, kwargs = settings
    if kind == "pbt":
        from orchestrator.ray_private import pbt_with_exploit_hook

        mutations = {name: _domain(spec, for_mutation=True) for name, spec in kwargs["hyperparam_mutations"].items()}
        return pbt_with_exploit_hook(**{**kwargs, "hyperparam_mutations": mutations})
    cls = {"asha": schedulers.ASHAScheduler, "hyperband": schedulers.HyperBandScheduler,
           "median": schedulers.MedianStoppingRule}[kind]
    return cls(**kwargs)


def random_population(ranges: Mapping[str, tuple], seed: int) -> tuple[dict[str, Any], Any]:
    """(param_space, search_alg) that draw a PBT population at random from ``ranges``, seeded."""
    from ray.tune.search import BasicVariantGenerator

    space = {name: _domain(spec) for name, spec in ranges.items()}
    return space, BasicVariantGenerator(random_state=seed)


def _domain(spec: tuple, for_mutation: bool = False) -> Any:
    """A Tune search domain for one of :func:`orchestrator.search.ranges`' entries."""
    from ray import tune

    kind, *args = spec
    if kind == "float":
        low, high, log = args
        return tune.loguniform(low, high) if log else tune.uniform(low, high)
    if kind == "int":
        low, high, step = args
        return tune.qrandint(low, high, step)
    values = args[0]
    return list(values) if for_mutation else tune.choice(values)


# -- inside each trial ------------------------------------------------------------------------
class _TuneReporter:
    """:class:`orchestrator.trial.Reporter` over ``tune.report`` and Tune checkpoints."""

    def report(self, metrics: dict[str, float], state: bytes | None) -> None:
        from ray import tune

        if state is None:
            tune.report(metrics)
            return
        with tempfile.TemporaryDirectory(prefix="seqlab-ckpt-") as tmp:
            (Path(tmp) / "state.pkl").write_bytes(state)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))

    def restore(self) -> bytes | None:
        from ray import tune

        checkpoint = tune.get_checkpoint()
        if checkpoint is None:
            return None
        with checkpoint.as_directory() as folder:
            return (Path(folder) / "state.pkl").read_bytes()

    def gpu_ids(self) -> list[str]:
        import ray

        return [str(i) for i in ray.get_gpu_ids()]


def _trainable(config: dict[str, Any], plan: TrialPlan) -> None:
    from ray import tune

    from orchestrator import trial

    workdir = None
    if plan.parallelism is not None:  # the inner Ray Train run keeps its files beside the trial's
        workdir = Path(tune.get_context().get_trial_dir()).resolve() / "pipeline"
    trial.run(plan, config, _TuneReporter(), workdir)


def can_restore(path: Path) -> bool:
    """Whether ``path`` holds a Tune experiment that ``run_tune(resume=True)`` can continue."""
    from ray import tune

    return tune.Tuner.can_restore(str(path.resolve()))


def run_tune(
    *,
    name: str,
    plan: TrialPlan,
    runs_dir: Path,
    recorder,
    param_space: Mapping[str, Any] | None = None,
    search_alg: Any = None,
    scheduler: Any = None,
    num_samples: int = 1,
    metric: str | None = None,
    mode: str | None = None,
    max_concurrent: int = 2,
    cpu: float = 1,
    gpu: float = 0,
    max_failures: int = 0,
    max_trial_duration: float | None = None,
    max_failed_trials: int | None = None,
    resume: bool = False,
    on_change: Callable[[Counts], None] | None = None,
    trial_name: Callable[[int, Mapping[str, Any]], str] | None = None,
) -> RunOutcome:
    """Run trials of ``plan`` as one Tune experiment stored in ``runs_dir/name``.

    ``trial_name(number, config)`` names each trial's MLflow child run; by default
    ``<name>-<number>``, the trial's running number in this run, from 1.

    With ``resume``, the stored experiment is restored: finished trials are kept, unfinished
    ones continue from their last checkpoint, and the searcher proposes only what is left.
    """
    from ray import tune
    from ray.tune.logger import JsonLoggerCallback

    runs_dir = runs_dir.resolve()
    path = runs_dir / name
    trainable = tune.with_resources(tune.with_parameters(_trainable, plan=plan), {"cpu": cpu, "gpu": gpu})
    # Tune registers a trainable under its name, once per Ray job: runs sharing a job (a board's
    # claims fanned out as tasks of one driver) must not share a name, or the last registered
    # plan would train every run's trials. The name is fixed per run, as restoring checks it.
    trainable._name = f"seqlab-{name}"
    counts = Counts(total=num_samples * _grid_size(param_space))
    steps_of = lambda config: int(plan.resolve(config)[1].get("steps", 0)) or _default_steps(plan, config)  # noqa: E731
    name_of = trial_name or (lambda number, config: f"{name}-{number}")
    bridge, stopper = make_bridge(recorder, counts, metric, mode, steps_of, max_trial_duration, max_failed_trials,
                                  on_change, name_of, space=lambda: shortage(runs_dir))
    pbt = hasattr(scheduler, "on_exploit")
    if pbt:
        scheduler.on_exploit = bridge.on_exploit

    if resume:
        if not can_restore(path):
            raise SpecError(f"nothing to resume: no Tune experiment in {path}")
        tuner = tune.Tuner.restore(str(path), trainable, resume_unfinished=True, resume_errored=False)
        # Callbacks and stoppers are live objects of this driver: attach them anew.
        run_config = restored_run_config(tuner)
        run_config.callbacks = [bridge, JsonLoggerCallback()]
        run_config.stop = stopper
        counts.completed = _count_finished(path)
    else:
        tuner = tune.Tuner(
            trainable,
            param_space=dict(param_space or {}),
            tune_config=tune.TuneConfig(
                search_alg=search_alg,
                scheduler=scheduler,
                num_samples=num_samples,
                metric=metric if scheduler is not None else None,
                mode=mode if scheduler is not None else None,
                # a searcher arrives wrapped in its ConcurrencyLimiter (optuna_searcher); giving Tune
                # the limit as well only makes it print that it ignores it
                max_concurrent_trials=None if _is_limited(search_alg) else max_concurrent,
                reuse_actors=True,
            ),
            run_config=tune.RunConfig(
                name=name,
                storage_path=str(runs_dir),
                failure_config=tune.FailureConfig(max_failures=max_failures),
                # Tune keeps every checkpoint and the bridge keeps each trial's last one at the end:
                # deleting older ones as new ones land lets a killed driver's saved state (which
                # lags) point at a deleted checkpoint; and PBT restores from another trial's, later
                checkpoint_config=tune.CheckpointConfig(num_to_keep=None),
                callbacks=[bridge, JsonLoggerCallback()],  # result.json lets a resumed run read old trials
                stop=stopper,
                verbose=0,
            ),
        )
    results = tuner.fit()
    outcomes = dict(bridge.outcomes)
    for result in results:  # trials finished before a resume still count
        trial_id = (result.metrics or {}).get("trial_id") or Path(result.path).name
        if trial_id not in outcomes and result.metrics:
            metrics = {k: v for k, v in result.metrics.items() if k not in TUNE_KEYS and isinstance(v, (int, float))}
            outcomes[trial_id] = TrialOutcome(trial_id, dict(result.config or {}), "completed", metrics)
            recorder.trial_closed(trial_id, "completed")  # it ended after its driver was killed
        if trial_id in outcomes and result.checkpoint is not None:
            outcomes[trial_id].checkpoint = result.checkpoint.path
    parent = recorder.wait_ready()
    return RunOutcome(
        trials=list(outcomes.values()),
        stopped_reason=bridge.stop_reason,
        parent_run_id=parent.run_id if parent else None,
        experiment_id=parent.experiment_id if parent else None,
        tracking_uri=recorder.uri,
        path=path,
        tracking_errors=recorder.errors,
        interrupted=bridge.paused or any(t.outcome == "running" for t in outcomes.values()),
    )


def _is_limited(search_alg: Any) -> bool:
    from ray.tune.search import ConcurrencyLimiter

    return isinstance(search_alg, ConcurrencyLimiter)


def _grid_size(param_space: Mapping[str, Any] | None) -> int:
    size = 1
    for value in (param_space or {}).values():
        if isinstance(value, dict) and "grid_search" in value:
            size *= len(value["grid_search"])
    return size


def _default_steps(plan: TrialPlan, config: Mapping[str, Any]) -> int:
    from orchestrator.registry import load

    name, values = plan.resolve(config)
    return load(name).make_config(values).steps


def _count_finished(path: Path) -> int:
    state = sorted(path.glob("experiment_state-*.json"))
    if not state:
        return 0
    try:
        data = json.loads(state[-1].read_text())
    except (OSError, ValueError):
        return 0
    return sum(1 for t in data.get("trial_data", []) if "TERMINATED" in str(t))


def new_resume_key() -> str:
    return uuid.uuid4().hex


def format_exception() -> str:
    return traceback.format_exc()
