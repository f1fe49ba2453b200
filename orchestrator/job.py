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
from typing import Any, Callable, Literal, Mapping, Protocol

from pydantic import Field, ValidationError, field_validator

from orchestrator.spec import Parallelism, Strict
from orchestrator.yamlio import SpecError, load_model, parse_model

#: CPUs the Tune trial itself holds when it runs a pipelined job (its workers hold the rest).
TRIAL_CPU = 0.05

#: Ray Train controller poll interval (read from the driver's environment by Train V2).
POLL_ENV, POLL_S = "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", 0.25

OnReport = Callable[[dict[str, float], int], None]


# -- the job file ------------------------------------------------------------------------------
class WorkerResources(Strict):
    cpu: float = Field(1, gt=0, description="CPUs per worker (per rank); also its torch thread count.")
    gpu: float = Field(0, ge=0, description="GPUs per worker: 0 (gloo on CPU) or 1 (NCCL; a rank needs a whole GPU).")

    @field_validator("gpu")
    @classmethod
    def _whole(cls, value: float) -> float:
        if value not in (0, 1):
            raise ValueError(f"gpu must be 0 or 1 per worker, got {value:g}: NCCL cannot put two pipeline ranks on one GPU")
        return value


class JobLimits(Strict):
    max_failures: int = Field(0, ge=0, description="Worker-group restarts from the last checkpoint after a worker dies.")


class Checkpoints(Strict):
    every: int = Field(0, ge=0, description="Save a checkpoint of all ranks every this many steps (0: at each evaluation).")
    keep: int = Field(2, ge=1, description="Checkpoints kept on storage (older ones are deleted).")


class JobTracking(Strict):
    experiment: str | None = Field(None, description="MLflow experiment (default: the job's name).")
    uri: str | None = Field(None, description="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else the local store).")


class JobSpec(Strict):
    """A job: one workload configuration trained as a pipeline (``kind: job``)."""

    kind: Literal["job"] = Field(description="File kind: job.")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Job name; names its folder and MLflow run.")
    workload: str = Field(description="A registered workload with a pipeline hook (seqlab list).")
    config: dict[str, Any] = Field(default_factory=dict, description="Values for the workload's Config fields.")
    parallelism: Parallelism = Field(default_factory=Parallelism, description="Stages, micro-batches, data parallelism.")
    resources: WorkerResources = Field(default_factory=WorkerResources, description="Resources per worker (rank).")
    limits: JobLimits = Field(default_factory=JobLimits, description="Failure limits.")
    report_every: int = Field(
        1, ge=1, description="Report (to the driver and MLflow) every this many steps; evaluations and checkpoints always report."
    )
    checkpoints: Checkpoints = Field(default_factory=Checkpoints, description="How often all ranks checkpoint.")
    tracking: JobTracking = Field(default_factory=JobTracking, description="Where MLflow records the job.")


class PipelineParts(Protocol):
    """What a workload's ``pipeline(cfg)`` hook returns (gpipe's ``GPipeParts`` is one).

    ``layers`` is ``[(nn.Module class, kwargs), ...]`` in forward order; each layer must draw its
    initial weights from its own seed so any stage builds the same weights as one process.
    """

    layers: list[tuple[type, dict]]
    loss_fn: Callable[[Any, Any], Any]
    make_optimizer: Callable[[Any], Any]
    batch: Callable[[int, int], tuple[Any, Any]]
    eval_batch: Callable[[], tuple[Any, Any]]
    batch_size: int
    tokens_per_sample: int


def parse_job(data: Any, *, source: str = "<job>", text: str = "") -> JobSpec:
    """Validate already-loaded YAML data as a :class:`JobSpec` (errors name key and line)."""
    return parse_model(data, JobSpec, what="job", source=source, text=text)


def load_job(path: str | Path, *, check: bool = True) -> tuple[JobSpec, str]:
    """Read, parse and (``check``) validate a job file; returns the spec and the file's text."""
    return load_model(path, JobSpec, what="job", check=validate_job if check else None)


# -- validation --------------------------------------------------------------------------------
def job_resources(parallelism: Parallelism, resources: WorkerResources) -> dict[str, float]:
    """Everything one pipelined job (or sweep trial) holds while it runs: ``{"CPU", "GPU"}``.

    All of its workers plus :data:`TRIAL_CPU` for the Tune trial that drives them; a sweep's
    resource check compares ``max_concurrent`` times this against the cluster.
    """
    n = parallelism.workers
    return {"CPU": n * resources.cpu + TRIAL_CPU, "GPU": n * resources.gpu}


def _cluster() -> tuple[dict[str, float], list[dict[str, float]]] | None:
    """(total resources, per-node resources) of the running Ray cluster, or None when Ray is down."""
    if "ray" not in sys.modules:
        return None
    import ray

    if not ray.is_initialized():
        return None
    nodes = [dict(n["Resources"]) for n in ray.nodes() if n.get("Alive")]
    return dict(ray.cluster_resources()), nodes


def validate_job(spec: JobSpec, *, cluster: Mapping[str, float] | None = None) -> PipelineParts:
    """Check a job before anything starts; returns the workload's pipeline parts.

    Raises :class:`SpecError` (one line, naming the key) when the workload is unknown or has no
    pipeline hook, the config does not fit its Config, there are fewer layers than stages, the
    mini-batch does not split into micro-batches × data-parallel ranks, or the cluster (``cluster``
    totals, else ``ray.cluster_resources()`` when Ray is up) cannot give the workers.
    """
    from orchestrator.registry import UnknownWorkload, load

    try:
        wl = load(spec.workload)
    except UnknownWorkload as err:
        raise SpecError(f"workload: {err}", key=("workload",)) from None
    if wl.pipeline is None:
        raise SpecError(f"workload: {spec.workload} has no pipeline hook, so it cannot run as a job", key=("workload",))
    try:
        cfg = wl.make_config(spec.config)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        key = ("config", where) if where else ("config",)
        raise SpecError(f"{'.'.join(key)}: {first['msg']} (workload {spec.workload})", key=key) from None
    parts = wl.pipeline(cfg)
    par = spec.parallelism
    n_layers = len(parts.layers)
    if n_layers < par.pipeline_stages:
        raise SpecError(
            f"parallelism.pipeline_stages: {par.pipeline_stages} stages need at least as many layers, "
            f"but {spec.workload}'s pipeline has {n_layers}",
            key=("parallelism", "pipeline_stages"),
        )
    if parts.batch_size % (par.micro_batches * par.data_parallel):
        raise SpecError(
            f"parallelism.micro_batches: a mini-batch of {parts.batch_size} does not split into "
            f"{par.micro_batches} micro-batches x {par.data_parallel} data-parallel ranks",
            key=("parallelism", "micro_batches"),
        )
    _check_cluster(spec, cluster)
    return parts


def _check_cluster(spec: JobSpec, cluster: Mapping[str, float] | None) -> None:
    par, res = spec.parallelism, spec.resources
    nodes: list[dict[str, float]] = []
    if cluster is None:
        found = _cluster()
        if found is None:
            return  # Ray is not up: run_job checks again once it is
        cluster, nodes = found
    n = par.workers
    shape = f"{par.pipeline_stages} stages x {par.data_parallel} data-parallel = {n} workers"
    for kind, per in (("GPU", res.gpu), ("CPU", res.cpu)):
        need, have = n * per, float(cluster.get(kind, 0))
        if need > have + 1e-9:
            raise SpecError(
                f"parallelism: {shape} need {need:g} {kind}s ({per:g} each); the cluster has {have:g}",
                key=("parallelism",),
            )
    if nodes and not any(node.get("CPU", 0) >= res.cpu and node.get("GPU", 0) >= res.gpu for node in nodes):
        raise SpecError(
            f"resources: no node can hold one worker (cpu: {res.cpu:g}, gpu: {res.gpu:g})", key=("resources",)
        )


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


def job_json_schema() -> dict[str, Any]:
    """JSON Schema of the job file, for editors (``seqlab schema``)."""
    schema = JobSpec.model_json_schema()
    schema["title"] = "Seqlab job"
    return schema


__all__ = [
    "JobResult", "JobSpec", "Parallelism", "PipelineParts", "WorkerResources", "job_resources", "load_job",
    "parse_job", "prepare_deepspeed_ops", "run_job", "train_pipelined_in_trial", "trial_request", "validate_job",
]  # fmt: skip
