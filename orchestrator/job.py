"""Large-model jobs: one workload trained as a DeepSpeed pipeline across Ray Train workers.

The only module that touches Ray Train and DeepSpeed (the per-rank loop is in
:mod:`orchestrator.pipeline_worker`). Ray Train's ``TorchTrainer`` owns the workers, their
process group and restarts (``FailureConfig``); DeepSpeed's ``PipelineModule``/``PipelineEngine``
owns the schedule; this module validates the job, wires the two, and hands every report to the
driver's ``on_report`` (where MLflow tracking plugs in).

A job file::

    kind: job
    name: gpipe-2stage
    workload: gpipe
    config: {steps: 200, n_layers: 4}
    parallelism: {pipeline_stages: 2, micro_batches: 4, data_parallel: 1, partition: uniform}
    resources: {cpu: 1, gpu: 0}          # per worker (= per rank)
    limits: {max_failures: 1}
    tracking: {experiment: gpipe}

The workload's ``pipeline(cfg)`` hook returns an object with the attributes of
:class:`PipelineParts`. Heavy imports (torch, ray, deepspeed) happen inside functions.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from orchestrator.job_spec import (
    TRIAL_CPU, JobLimits, JobSpec, PipelineParts, WorkerResources, job_json_schema, job_resources, load_job, parse_job,
    validate_job,
)  # fmt: skip
from orchestrator.spec import Parallelism
from orchestrator.yamlio import SpecError

#: Ray Train controller poll interval (read from the driver's environment by Train V2).
POLL_ENV, POLL_S = "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", 0.25

OnReport = Callable[[dict[str, float], int], None]


# -- DeepSpeed's one compiled op ---------------------------------------------------------------
SHM_OP = "deepspeed_shm_comm"


def deepspeed_ops_ready() -> bool:
    """Whether DeepSpeed's CPU communication op is already compiled in the torch extensions cache."""
    from torch.utils.cpp_extension import _get_build_directory

    folder = Path(_get_build_directory(SHM_OP, verbose=False))
    return (folder / f"{SHM_OP}.so").exists()


def prepare_deepspeed_ops() -> bool:
    """Compile DeepSpeed's CPU communication op once, before workers start; returns True if it built.

    On CPU, ``deepspeed.init_distributed`` JIT-compiles ``deepspeed_shm_comm`` (csrc/cpu/comm:
    a shared-memory all-reduce) into the torch extensions cache (``TORCH_EXTENSIONS_DIR``, default
    ``~/.cache/torch_extensions``): about 2 minutes on 2 cores, then reused by every process. Doing
    it here, in a child process, means the workers of a job never compile it concurrently, and CI
    pays it once per cache (cache that folder, keyed by the torch and deepspeed versions).
    """
    if deepspeed_ops_ready():
        return False
    code = (
        "import os; os.environ['DS_ACCELERATOR'] = 'cpu'\n"
        "from deepspeed.accelerator import get_accelerator\n"
        "get_accelerator().create_op_builder('ShareMemCommBuilder').load(verbose=False)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return True


# -- running -----------------------------------------------------------------------------------
@dataclass
class JobResult:
    """What a finished job leaves: every report (rank 0's metrics, in order) and where it lives."""

    run_dir: Path
    reports: list[dict[str, float]] = field(default_factory=list)
    checkpoint: Path | None = None

    @property
    def final(self) -> dict[str, float]:
        """The last report."""
        return self.reports[-1] if self.reports else {}

    @property
    def restarts(self) -> int:
        """Times the worker group restarted (a reported step that did not follow the one before)."""
        steps = [int(r["step"]) for r in self.reports]
        return sum(1 for a, b in zip(steps, steps[1:]) if b <= a)


def _run_dir(storage_dir: Path, name: str, resume: bool) -> Path:
    """``<storage_dir>/<name>-<YYYYmmdd-HHMMSS>[-n]``: a new one, or the newest for ``resume``."""
    pattern = re.compile(rf"^{re.escape(name)}-\d{{8}}-\d{{6}}(-\d+)?$")
    if resume:
        runs = sorted(
            (p for p in storage_dir.glob(f"{name}-*") if p.is_dir() and pattern.match(p.name)),
            key=lambda p: (p.name[len(name) + 1 : len(name) + 16], int(p.name[len(name) + 17 :] or 0)),
        )
        if not runs:
            raise SpecError(f"resume: no earlier run of job '{name}' under {storage_dir}")
        return runs[-1]
    base = storage_dir / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():  # Ray Train would resume a folder that exists: never reuse one
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def checkpoint_history(storage_dir: Path, name: str) -> list[dict[str, Any]]:
    """The reports kept in the newest checkpoint of the newest run of job ``name`` (none: empty).

    A driver killed mid-job stops hearing its workers before they stop: they may train and
    checkpoint a few more steps. Resuming starts after that checkpoint; its history holds the
    reports the dead driver never saw.
    """
    from orchestrator.pipeline_worker import HISTORY, read_history

    try:
        run_dir = _run_dir(Path(storage_dir), name, resume=True)
    except SpecError:
        return []
    kept = sorted(run_dir.glob(f"checkpoint_step*/{HISTORY}"))  # checkpoint_step000016: names sort by step
    return read_history(kept[-1].parent) if kept else []


def _forwarding_callback(queue):
    """A Ray Train callback (it runs in the Train controller) that queues rank 0's reports."""
    from ray.train.v2.api.callback import UserCallback

    class ForwardReports(UserCallback):
        def after_report(self, run_context, metrics, checkpoint):
            queue.put((dict(metrics[0]), checkpoint.path if checkpoint is not None else None))

    return ForwardReports()


def run_job(
    spec: JobSpec,
    *,
    storage_dir: Path,
    on_report: OnReport | None = None,
    resume: bool = False,
) -> JobResult:
    """Train ``spec`` as a DeepSpeed pipeline on Ray Train workers; returns once it has finished.

    One worker per rank (``stages × data_parallel``), gloo and ``DS_ACCELERATOR=cpu`` on CPU, NCCL
    on GPU. ``on_report(metrics, step)`` is called on this thread for every step, with rank 0's
    ``train/loss``, ``train/step_time_s``, ``train/tokens_per_s`` and, at evaluations,
    ``val/loss``. DeepSpeed checkpoints of all ranks go through Ray Train checkpoints; a worker
    that dies restarts the group from the last one, up to ``limits.max_failures`` times.
    ``resume`` continues the newest earlier run of this job under ``storage_dir``.

    Raises SpecError for an invalid job and ray.train's TrainingFailedError when it fails for good.
    """
    import ray

    if not ray.is_initialized():  # RAY_ADDRESS names a cluster; else a new local one, never a stray
        ray.init(address=os.environ.get("RAY_ADDRESS") or "local", include_dashboard=False, log_to_driver=False)
    validate_job(spec)
    use_gpu = spec.resources.gpu > 0
    if not use_gpu:
        prepare_deepspeed_ops()
    storage_dir = Path(storage_dir).resolve()
    run_dir = _run_dir(storage_dir, spec.name, resume)
    trainer, queue = _trainer(spec, run_dir, use_gpu)
    result = JobResult(run_dir=run_dir)
    outcome: dict[str, Any] = {}

    def fit() -> None:
        try:
            outcome["result"] = trainer.fit()
        except BaseException as err:  # re-raised on the calling thread
            outcome["error"] = err

    thread = threading.Thread(target=fit, name=f"seqlab-job-{spec.name}", daemon=True)
    thread.start()
    try:
        while True:
            alive = thread.is_alive()
            for metrics, checkpoint in _drain(queue, wait=0.2 if alive else 0.0):
                result.reports.append(metrics)
                if checkpoint:
                    result.checkpoint = Path(checkpoint)
                if on_report is not None:
                    on_report(metrics, int(metrics["step"]))
            if not alive:
                break
    finally:
        thread.join()
        queue.shutdown()
    if "error" in outcome:
        raise outcome["error"]
    return result


def _drain(queue, wait: float) -> list:
    from ray.util.queue import Empty

    items = []
    try:
        items.append(queue.get(timeout=wait) if wait else queue.get_nowait())
        while True:
            items.append(queue.get_nowait())
    except Empty:
        pass
    return items


def loop_config(spec: JobSpec, use_gpu: bool) -> dict[str, Any]:
    """What every rank's loop (:func:`orchestrator.pipeline_worker.run_rank`) is given."""
    par, res = spec.parallelism, spec.resources
    return {
        "workload": spec.workload,
        "config": dict(spec.config),
        "stages": par.pipeline_stages,
        "data_parallel": par.data_parallel,
        "micro_batches": par.micro_batches,
        "partition": par.partition,
        "zero_stage": par.zero_stage,
        "checkpoint_every": spec.checkpoints.every,
        "report_every": spec.report_every,
        "use_gpu": use_gpu,
        "backend": "nccl" if use_gpu else "gloo",
        "threads": max(1, int(res.cpu)),
    }


def _trainer(spec: JobSpec, run_dir: Path, use_gpu: bool):
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer
    from ray.util.queue import Queue

    from orchestrator import pipeline_worker

    par, res = spec.parallelism, spec.resources
    # Train V2's controller takes one report per worker per poll (and a worker's report blocks
    # until it is taken): at the default 2 s poll a job could not step faster than every 2 s.
    os.environ.setdefault(POLL_ENV, str(POLL_S))
    queue = Queue(actor_options={"num_cpus": 0})
    loop = loop_config(spec, use_gpu)
    per_worker = {"CPU": res.cpu, **({"GPU": res.gpu} if use_gpu else {})}
    trainer = TorchTrainer(
        pipeline_worker.train_loop,
        train_loop_config=loop,
        torch_config=TorchConfig(backend=loop["backend"]),
        scaling_config=ScalingConfig(num_workers=par.workers, use_gpu=use_gpu, resources_per_worker=per_worker),
        run_config=RunConfig(
            name=run_dir.name,
            storage_path=str(run_dir.parent),
            failure_config=FailureConfig(max_failures=spec.limits.max_failures),
            checkpoint_config=CheckpointConfig(num_to_keep=spec.checkpoints.keep),
            callbacks=[_forwarding_callback(queue)],
        ),
    )
    return trainer, queue


# -- pipelined trials (Tune over Train) ---------------------------------------------------------
def trial_request() -> dict[str, float]:
    """The resources a Tune trial that drives a pipelined job asks Tune for (its workers are
    scheduled by Ray Train in their own placement group; count them with :func:`job_resources`)."""
    return {"cpu": TRIAL_CPU, "gpu": 0}


def train_pipelined_in_trial(
    workload: str,
    config: Mapping[str, Any],
    parallelism: Parallelism | Mapping[str, Any],
    resources: WorkerResources | Mapping[str, Any],
    *,
    storage_dir: Path,
    report: OnReport,
    max_failures: int = 0,
    name: str = "trial",
) -> JobResult:
    """Run one pipelined training inside a Tune trial (Tune over Train) and report every step.

    The trial holds :func:`trial_request`; its ``TorchTrainer`` gets its own placement group of
    ``stages × data_parallel`` workers. ``report(metrics, step)`` is typically a closure over
    ``tune.report``; ``storage_dir`` must be the trial's own (absolute) folder.

    A Config value named like a parallelism field (``micro_batches``, ``pipeline_stages``,
    ``data_parallel``) also sets that field, so a sweep can search it as a Config parameter.
    """
    par = dict(parallelism) if isinstance(parallelism, Mapping) else parallelism.model_dump()
    par.update({key: config[key] for key in ("micro_batches", "pipeline_stages", "data_parallel") if key in config})
    spec = JobSpec(
        kind="job",
        name=name,
        workload=workload,
        config=dict(config),
        parallelism=Parallelism.model_validate(par),
        resources=WorkerResources.model_validate(resources if isinstance(resources, Mapping) else resources.model_dump()),
        limits=JobLimits(max_failures=max_failures),
    )
    return run_job(spec, storage_dir=storage_dir, on_report=report)


__all__ = [
    "JobResult", "JobSpec", "Parallelism", "PipelineParts", "WorkerResources", "job_json_schema", "job_resources",
    "load_job", "parse_job", "prepare_deepspeed_ops", "run_job", "train_pipelined_in_trial", "trial_request",
    "validate_job",
]  # fmt: skip
