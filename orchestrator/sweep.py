"""Runs trials as one Ray Tune experiment; the only module that imports Ray Tune.

It closes Tune's gaps that matter to a researcher: a hard per-trial time limit that also ends a
trial stuck inside a step, a limit on failed trials, a resource check before anything starts
(Tune would leave impossible trials pending forever), nested MLflow runs, and absolute paths
everywhere (Tune changes the working directory of trials).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from orchestrator.ray_private import restored_run_config, trial_actor
from orchestrator.trial import DEVICE_KEY, TrialPlan, read_curve
from orchestrator.yamlio import SpecError

_TUNE_KEYS = {
    "training_iteration", "time_total_s", "episodes_total", "timesteps_total", "node_ip", "hostname",
    "pid", "time_this_iter_s", "timestamp", "date", "time_since_restore", "timesteps_since_restore",
    "iterations_since_restore", "checkpoint_dir_name", "done", "trial_id", "experiment_tag",
    "should_checkpoint", "experiment_id",
}  # fmt: skip


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
    cls = {"asha": schedulers.ASHAScheduler, "hyperband": schedulers.HyperBandScheduler,
           "median": schedulers.MedianStoppingRule}[kind]
    return cls(**kwargs)


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


# -- in the driver ----------------------------------------------------------------------------
@dataclass
class Counts:
    """Live tally of a run's trials, shown by the progress display."""

    total: int
    running: int = 0
    completed: int = 0
    pruned: int = 0
    failed: int = 0
    best: float | None = None
    best_trial: str | None = None
    started: float = field(default_factory=time.monotonic)


@dataclass
class TrialOutcome:
    trial_id: str
    params: dict[str, Any]
    outcome: str  # completed | pruned | failed | timeout
    metrics: dict[str, float]
    error: str | None = None
    checkpoint: str | None = None  # folder of the trial's last Tune checkpoint, if it kept one


@dataclass
class RunOutcome:
    """What a finished Tune run gives back to the CLI."""

    trials: list[TrialOutcome]
    stopped_reason: str | None
    parent_run_id: str | None
    experiment_id: str | None
    tracking_uri: str
    path: Path
    tracking_errors: list[str]
    interrupted: bool = False
    best_checkpoint: str | None = None  # where the best trial's last checkpoint went, for people


def trial_number(trial) -> int:
    """The trial's running number in its run, from 1, as Tune's experiment tag counts it.

    Tune's searchers tag trials ``1_lr=...``, ``2_lr=...``; its grid and random generator tags
    them from 0 (``0_lr=...``) and gives them ids ending in that number (``5a1f2_00000``).
    """
    head = trial.experiment_tag.split("_", 1)[0]
    number = int(head) if head.isdigit() else 0
    return number + 1 if re.search(r"_\d{5}$", trial.trial_id) else number


def describe_params(config: Mapping[str, Any], limit: int = 240) -> str:
    """Sampled values in one short line for people (``lr=0.00316, d_model=64``)."""
    text = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in config.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bridge(recorder, counts: Counts, metric: str | None, mode: str | None, max_steps: Callable[[dict], int],
            duration: float | None, max_failed: int | None, on_change: Callable[[Counts], None] | None,
            trial_name: Callable[[int, Mapping[str, Any]], str]):
    """A Tune Callback that forwards trial events to MLflow and enforces Seqlab's limits."""
    import ray
    from ray import tune

    class Bridge(tune.Callback):
        def __init__(self) -> None:
            self.outcomes: dict[str, TrialOutcome] = {}
            self.started_at: dict[str, float] = {}
            self.timed_out: set[str] = set()
            self.stop_reason: str | None = None
            self._last_draw = 0.0

        def __reduce__(self):  # Tune pickles its run config; this driver's live state stays here
            return (_inert_callback, ())

        def _params(self, trial) -> dict[str, Any]:
            return {k: v for k, v in trial.config.items()}

        def on_trial_start(self, iteration, trials, trial, **info):
            self.started_at[trial.trial_id] = time.monotonic()
            params = self._params(trial)
            recorder.trial_started(
                trial.trial_id, trial_name(trial_number(trial), params), params,
                tags={"mlflow.note.content": describe_params(params)},
            )
            counts.running += 1
            self._changed()

        def on_trial_recover(self, iteration, trials, trial, **info):
            self.started_at[trial.trial_id] = time.monotonic()

        def on_trial_restore(self, iteration, trials, trial, **info):
            self.started_at[trial.trial_id] = time.monotonic()

        def on_trial_result(self, iteration, trials, trial, result, **info):
            metrics = {
                k: v for k, v in result.items()
                if k not in _TUNE_KEYS and not k.startswith("config/") and isinstance(v, (int, float))
            }
            step = int(metrics.get("step", result.get("training_iteration", 0)))
            if isinstance(result.get(DEVICE_KEY), str):
                recorder.trial_tags(trial.trial_id, {"seqlab.device": result[DEVICE_KEY]})
            for at, values in read_curve(result):
                if at != step:  # the report itself carries the training metrics of its step
                    recorder.trial_result(trial.trial_id, values, at)
            recorder.trial_result(trial.trial_id, metrics, step)
            self.outcomes[trial.trial_id] = TrialOutcome(trial.trial_id, self._params(trial), "running", metrics)
            self._update_best()
            self._changed()

        def _update_best(self) -> None:
            """Best last-reported objective over trials (Tune's scope='last')."""
            scored = [(o.metrics[metric], tid) for tid, o in self.outcomes.items() if metric and metric in o.metrics]
            if scored:
                counts.best, counts.best_trial = (max if mode == "max" else min)(scored)

        def on_trial_complete(self, iteration, trials, trial, **info):
            done = self.outcomes.get(trial.trial_id)
            metrics = done.metrics if done else {}
            finished = int(metrics.get("step", 0)) >= max_steps(trial.config)
            outcome = "completed" if finished else "pruned"
            self.outcomes[trial.trial_id] = TrialOutcome(trial.trial_id, self._params(trial), outcome, metrics)
            recorder.trial_finished(trial.trial_id, outcome)
            counts.running -= 1
            setattr(counts, outcome, getattr(counts, outcome) + 1)
            self._changed()

        def on_trial_error(self, iteration, trials, trial, **info):
            done = self.outcomes.get(trial.trial_id)
            timed_out = trial.trial_id in self.timed_out
            outcome = "timeout" if timed_out else "failed"
            error = _trial_error_text(trial)
            if timed_out:
                error = f"trial exceeded max_trial_duration ({duration:g} s) and was ended\n\n{error or ''}"
            self.outcomes[trial.trial_id] = TrialOutcome(
                trial.trial_id, self._params(trial), outcome, done.metrics if done else {}, error
            )
            recorder.trial_finished(trial.trial_id, outcome, error)
            counts.running -= 1
            counts.failed += 1
            if max_failed is not None and counts.failed > max_failed and not self.stop_reason:
                self.stop_reason = f"{counts.failed} trials failed, more than limits.max_failed_trials = {max_failed}"
            self._changed()

        def on_step_begin(self, iteration, trials, **info):
            if duration is None:
                return
            now = time.monotonic()
            for trial in trials:
                began = self.started_at.get(trial.trial_id)
                if trial.status != "RUNNING" or began is None or trial.trial_id in self.timed_out:
                    continue
                if now - began > duration:
                    actor = trial_actor(trial)
                    if actor is None:
                        continue
                    self.timed_out.add(trial.trial_id)
                    trial.max_failures = 0  # an overrun is final: no retry
                    ray.kill(actor, no_restart=True)

        def on_experiment_end(self, trials, **info):
            self._changed(force=True)

        def on_step_end(self, iteration, trials, **info):
            if on_change and time.monotonic() - self._last_draw > 0.5:
                self._changed(force=True)

        def _changed(self, force: bool = False) -> None:
            if on_change is None:
                return
            now = time.monotonic()
            if force or now - self._last_draw > 0.25:
                self._last_draw = now
                on_change(counts)

    class LimitStopper(tune.Stopper):
        def __init__(self, bridge: Bridge) -> None:
            self.bridge = bridge

        def __reduce__(self):
            return (_inert_stopper, ())

        def __call__(self, trial_id, result) -> bool:
            return False

        def stop_all(self) -> bool:
            return self.bridge.stop_reason is not None

    bridge = Bridge()
    return bridge, LimitStopper(bridge)


def _inert_callback():
    from ray import tune

    return tune.Callback()


def _inert_stopper():
    from ray.tune.stopper import NoopStopper

    return NoopStopper()


def _trial_error_text(trial) -> str | None:
    """The trial's traceback as Tune saved it, else its error message."""
    path = getattr(trial, "error_file", None)
    if path and Path(path).exists():
        return Path(path).read_text()
    message = getattr(trial, "error_msg", None)
    return str(message) if message else None


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
    counts = Counts(total=num_samples * _grid_size(param_space))
    steps_of = lambda config: int(plan.resolve(config)[1].get("steps", 0)) or _default_steps(plan, config)  # noqa: E731
    name_of = trial_name or (lambda number, config: f"{name}-{number}")
    bridge, stopper = _bridge(recorder, counts, metric, mode, steps_of, max_trial_duration, max_failed_trials,
                              on_change, name_of)

    if resume:
        if not tune.Tuner.can_restore(str(path)):
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
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
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
            metrics = {k: v for k, v in result.metrics.items() if k not in _TUNE_KEYS and isinstance(v, (int, float))}
            outcomes[trial_id] = TrialOutcome(trial_id, dict(result.config or {}), "completed", metrics)
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
        interrupted=any(t.outcome == "running" for t in outcomes.values()),
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
