"""The job file (``kind: job``) and its checks: the spec, its parsing, and whether the cluster
can give every rank its resources. Running a job is :mod:`orchestrator.job`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Literal, Mapping, Protocol

from pydantic import Field, ValidationError, field_validator

from orchestrator.spec import Parallelism, Strict
from orchestrator.yamlio import SpecError, load_model, parse_model

#: CPUs the Tune trial itself holds when it runs a pipelined job (its workers hold the rest).
TRIAL_CPU = 0.05


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


def job_json_schema() -> dict[str, Any]:
    """JSON Schema of the job file, for editors (``seqlab schema``)."""
    schema = JobSpec.model_json_schema()
    schema["title"] = "Seqlab job"
    return schema
