"""A sweep from spec to result: its folder, its MLflow parent run, its Tune run.

A sweep's files live in ``<runs_dir>/<name>/`` (Tune's experiment, the Optuna study, and
``seqlab-sweep.json`` with the key that ties a resumed run to its MLflow parent). Running a
sweep whose folder exists needs ``resume`` (continue it) or ``fresh`` (move the old folder
aside, never delete it).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

from orchestrator.bridge import Counts, RunOutcome
from orchestrator.diskspace import check_space
from orchestrator.spec import SweepSpec, spec_hash
from orchestrator.yamlio import SpecError

MARKER = "seqlab-sweep.json"


def prepare_folder(runs_dir: Path, name: str, *, resume: bool, fresh: bool, digest: str) -> tuple[Path, str]:
    """The run's folder and its resume key; enforces the resume/fresh rules above."""
    check_space(runs_dir)
    folder = (runs_dir / name).resolve()
    marker = folder / MARKER
    if resume:
        if not marker.exists():
            raise SpecError(f"nothing to resume: {folder} holds no Seqlab run of '{name}' "
                            "(it never started): run it without --resume")
        info = json.loads(marker.read_text())
        if info.get("spec_hash") != digest:
            raise SpecError(
                f"cannot resume '{name}': the file changed since the run started "
                f"(spec hash {info.get('spec_hash')} then, {digest} now); use --fresh to start over"
            )
        return folder, info["resume_key"]
    if folder.exists() and any(folder.iterdir()):
        if not fresh:
            raise SpecError(
                f"'{name}' already has a run in {folder}: pass --resume to continue it, "
                "or --fresh to start over (the old run is kept beside it)"
            )
        folder.rename(folder.with_name(f"{name}.{time.strftime('%Y%m%d-%H%M%S')}"))
    from orchestrator.sweep import new_resume_key

    folder.mkdir(parents=True, exist_ok=True)
    key = new_resume_key()
    marker.write_text(json.dumps({"name": name, "spec_hash": digest, "resume_key": key}))
    return folder, key


def run_sweep(
    spec: SweepSpec,
    text: str,
    *,
    runs_dir: Path,
    resume: bool = False,
    fresh: bool = False,
    on_change: Callable[[Counts], None] | None = None,
    num_cpus: int | None = None,
) -> RunOutcome:
    """Validate resources, open the MLflow parent run, and run the sweep's trials in Tune."""
    from orchestrator import search, sweep, tracking
    from orchestrator.trial import TrialPlan

    digest = spec_hash(text)
    sweep.ensure_ray(num_cpus)
    cpu, gpu = spec.resources.cpu, spec.resources.gpu
    if spec.parallelism is not None:
        from orchestrator import job

        job.validate_job(pipelined_job(spec))  # all of a trial's workers must fit the cluster
        request = job.trial_request()
        cpu, gpu = request["cpu"], request["gpu"]
    else:
        sweep.check_resources(cpu, gpu)
    folder, key = prepare_folder(runs_dir, spec.name, resume=resume, fresh=fresh, digest=digest)
    if resume and not sweep.can_restore(folder):
        # stopped after the folder was made but before Tune stored anything: no trial had
        # started, so start them now, in the same folder and under the same MLflow parent
        resume = False
    uri = spec.tracking.uri or tracking.default_uri(runs_dir)
    recorder = tracking.Recorder(
        uri,
        spec.tracking.experiment or spec.name,
        spec.name,
        tags=tracking.run_tags("sweep", spec.name, spec.workload, digest),
        artifacts={"sweep.yaml": text},
        resume_key=key,
        artifact_root=runs_dir / "artifacts",
    )
    objective = spec.objectives[0]
    settings = search.scheduler_settings(spec)
    population = None
    if settings is not None and settings[0] == "pbt":  # Tune draws the population; no Optuna study
        population = sweep.random_population(search.ranges(spec), spec.search.seed)
    plan = TrialPlan(
        workload=spec.workload,
        fixed=dict(spec.fixed),
        cpus=spec.resources.cpu,
        parallelism=spec.parallelism.model_dump() if spec.parallelism is not None else None,
        worker_resources=spec.resources.model_dump() if spec.parallelism is not None else None,
        log_every=spec.tracking.log_every,
    )
    try:
        outcome = sweep.run_tune(
            name=spec.name,
            plan=plan,
            runs_dir=runs_dir,
            recorder=recorder,
            param_space=population[0] if population else None,
            search_alg=None if resume else population[1] if population else sweep.optuna_searcher(
                space=search.distributions(spec),
                objectives=[(o.metric, o.mode) for o in spec.objectives],
                sampler=search.sampler(spec),
                storage=search.study_storage(folder),
                study_name=spec.name,
                max_concurrent=spec.search.max_concurrent,
            ),
            scheduler=sweep.tune_scheduler(settings),
            num_samples=search.num_trials(spec),
            metric=objective.metric,
            mode=objective.mode,
            max_concurrent=spec.search.max_concurrent,
            cpu=cpu,
            gpu=gpu,
            max_failures=spec.limits.max_failures,
            max_trial_duration=spec.limits.max_trial_duration,
            max_failed_trials=spec.limits.max_failed_trials,
            resume=resume,
            on_change=on_change,
        )
    except BaseException:
        recorder.finish("KILLED")
        raise
    best = best_trial(outcome, objective.metric, objective.mode)
    summary = {"trials_completed": sum(t.outcome == "completed" for t in outcome.trials),
               "trials_failed": sum(t.outcome in ("failed", "timeout") for t in outcome.trials),
               "trials_pruned": sum(t.outcome == "pruned" for t in outcome.trials)}
    if best is not None:
        summary[f"best/{objective.metric}"] = best.metrics[objective.metric]
    recorder.parent_metrics(summary)
    status = "KILLED" if outcome.interrupted else "FAILED" if outcome.stopped_reason else "FINISHED"
    tags = {"seqlab.stopped": outcome.stopped_reason} if outcome.stopped_reason else {}
    if best is not None:
        tags["seqlab.best_trial"] = best.trial_id
    if best is not None and best.checkpoint:
        where = recorder.trial_checkpoint(best.trial_id, best.checkpoint)
        tags["seqlab.best_checkpoint"] = best.checkpoint
        outcome.best_checkpoint = (
            f"in MLflow (the best trial's run, artifacts checkpoint/) and {best.checkpoint}" if where == "mlflow"
            else f"{best.checkpoint} (too large to copy into MLflow)"
        )
    recorder.finish(status, tags=tags)
    outcome.tracking_errors = recorder.errors
    return outcome


def pipelined_job(spec: SweepSpec):
    """The job one trial of a sweep with a ``parallelism`` block runs (for validation)."""
    from orchestrator import job

    return job.JobSpec(
        kind="job",
        name=spec.name,
        workload=spec.workload,
        config=dict(spec.fixed),
        parallelism=spec.parallelism,
        resources=job.WorkerResources(cpu=spec.resources.cpu, gpu=spec.resources.gpu),
    )


def run_job_file(job_spec, text: str, *, runs_dir: Path, resume: bool = False, on_step=None, num_cpus: int | None = None):
    """Run a ``kind: job`` file: one pipelined training, recorded as a parent run with one child."""
    from orchestrator import job, sweep, tracking

    sweep.ensure_ray(num_cpus)
    job.validate_job(job_spec)
    check_space(runs_dir)
    recorder = tracking.Recorder(
        job_spec.tracking.uri or tracking.default_uri(runs_dir),
        job_spec.tracking.experiment or job_spec.name,
        job_spec.name,
        tags=tracking.run_tags("job", job_spec.name, job_spec.workload, spec_hash(text)),
        artifacts={"job.yaml": text},
        resume_key=f"job:{job_spec.name}:{spec_hash(text)}",
        artifact_root=runs_dir / "artifacts",
    )
    trial_id = "job"
    recorder.trial_started(trial_id, job_spec.name, {**job_spec.config, **job_spec.parallelism.model_dump()},
                           tags={"seqlab.device": "cuda" if job_spec.resources.gpu > 0 else "cpu"})  # each rank checks it sees its GPU

    logged = 0  # steps a restart from an earlier checkpoint replays are recorded already

    def record(metrics: dict[str, float], step: int) -> None:
        nonlocal logged
        if step > logged:
            logged = step
            recorder.trial_result(trial_id, metrics, step)

    def on_report(metrics: dict[str, float], step: int) -> None:
        record(metrics, step)
        if on_step is not None:
            on_step(metrics, step)

    if resume:  # what a killed driver missed: the reports its workers made up to their last checkpoint
        for metrics in job.checkpoint_history(runs_dir.resolve() / "jobs", job_spec.name):
            record(metrics, int(metrics["step"]))  # steps the store holds already are dropped there

    try:
        result = job.run_job(job_spec, storage_dir=runs_dir.resolve() / "jobs", on_report=on_report, resume=resume)
    except BaseException as err:
        import traceback

        recorder.trial_finished(trial_id, "failed", "".join(traceback.format_exception(err)))
        recorder.finish("FAILED")
        raise
    recorder.trial_finished(trial_id, "completed")
    parent = recorder.finish("FINISHED", tags={"seqlab.restarts": str(result.restarts)})
    return result, parent


def best_trial(outcome: RunOutcome, metric: str, mode: str):
    """The trial with the best final ``metric`` among those that reported it."""
    scored = [t for t in outcome.trials if metric in t.metrics and t.outcome in ("completed", "pruned")]
    if not scored:
        return None
    pick = max if mode == "max" else min
    return pick(scored, key=lambda t: t.metrics[metric])
