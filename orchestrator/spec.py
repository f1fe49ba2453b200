"""The sweep YAML as pydantic models: strict, documented, validated before anything starts.

``load_sweep(path)`` reads a file with a safe loader, rejects unknown keys (naming the key, its
line and the closest valid key), checks ranges (``log: true`` needs ``low > 0``), and checks every
parameter and fixed value against the workload's Config fields and types. Every problem is a
:class:`SpecError` with a one-line message; the CLI prints it and exits 2.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from orchestrator.yamlio import SpecError, load_model, parse_model


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- parameters -------------------------------------------------------------------------------
class FloatParam(Strict):
    type: Literal["float"] = Field(description="A real number drawn from [low, high].")
    low: float = Field(description="Lower bound (inclusive).")
    high: float = Field(description="Upper bound.")
    log: bool = Field(False, description="Sample on a log scale (needs low > 0).")

    @model_validator(mode="after")
    def _range(self) -> "FloatParam":
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be < high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"low must be > 0 when log: true (got {self.low})")
        return self


class IntParam(Strict):
    type: Literal["int"] = Field(description="An integer drawn from [low, high].")
    low: int = Field(description="Lower bound (inclusive).")
    high: int = Field(description="Upper bound (inclusive).")
    step: int = Field(1, ge=1, description="Spacing between allowed values.")
    log: bool = Field(False, description="Sample on a log scale (needs low > 0, step 1).")

    @model_validator(mode="after")
    def _range(self) -> "IntParam":
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be < high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"low must be > 0 when log: true (got {self.low})")
        if self.log and self.step != 1:
            raise ValueError("step must be 1 when log: true")
        return self


class CategoricalParam(Strict):
    type: Literal["categorical"] = Field(description="One of a list of values.")
    values: list[Any] = Field(description="The choices (numbers, strings or booleans).")

    @field_validator("values")
    @classmethod
    def _not_empty(cls, values: list[Any]) -> list[Any]:
        if not values:
            raise ValueError("values must list at least one choice")
        return values


Param = Annotated[Union[FloatParam, IntParam, CategoricalParam], Field(discriminator="type")]


# -- the sections -----------------------------------------------------------------------------
class Objective(Strict):
    metric: str = Field(description="A metric the workload's evaluate() reports, e.g. val/acc.")
    mode: Literal["min", "max"] = Field(description="Whether lower or higher is better.")


class EarlyStopping(Strict):
    type: Literal["asha", "hyperband", "median", "pbt", "none"] = Field(
        description="Tune scheduler (pbt: population-based training, which exploits and perturbs rather than stops)."
    )
    grace_period: int = Field(1, ge=1, description="Steps a trial runs before it may be stopped.")
    reduction_factor: float = Field(3, gt=1, description="ASHA/HyperBand halving rate.")
    perturbation_interval: int | None = Field(
        None, ge=1,
        description="PBT (required): every this many steps a trial in the bottom quantile takes over a top "
        "trial's checkpoint and perturbs its parameters within the sweep's ranges.",
    )
    quantile_fraction: float = Field(0.25, gt=0, le=0.5, description="PBT: the bottom and top fractions of trials.")


class Search(Strict):
    sampler: Literal["tpe", "random", "grid", "cmaes", "nsga2", "qmc"] = Field(
        "tpe", description="Optuna sampler that proposes each trial's parameters."
    )
    seed: int = Field(0, description="Seeds the sampler, so a sweep proposes the same trials again.")
    num_trials: int = Field(10, description="Trials to run (for grid: at most the grid's size).")
    max_concurrent: int = Field(2, ge=1, description="Trials running at the same time.")
    early_stopping: EarlyStopping = Field(
        default_factory=lambda: EarlyStopping(type="none"), description="Scheduler that stops poor trials early."
    )

    @field_validator("num_trials")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError(f"num_trials must be > 0 (got {value})")
        return value


class Resources(Strict):
    cpu: float = Field(1, gt=0, description="CPUs per trial.")
    gpu: float = Field(0, ge=0, description="GPUs per trial.")


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")


def parse_duration(value: Any) -> float:
    """Seconds from ``90``, ``"90s"``, ``"10m"`` or ``"1.5h"``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"duration {value!r} is not a number of seconds or like '90s', '10m', '1h'")
        seconds = float(match[1]) * {"s": 1, "m": 60, "h": 3600, None: 1}[match[2]]
    if seconds <= 0:
        raise ValueError(f"duration must be > 0 (got {value!r})")
    return seconds


class Limits(Strict):
    max_trial_duration: float | None = Field(
        None, description="Wall-clock limit per trial attempt ('10m', '90s'); an overrun trial fails."
    )
    max_failures: int = Field(0, ge=0, description="Retries of a failed trial, from its last checkpoint.")
    max_failed_trials: int | None = Field(
        None, ge=0, description="Stop the sweep once more trials than this have failed."
    )

    @field_validator("max_trial_duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)


class Tracking(Strict):
    experiment: str | None = Field(None, description="MLflow experiment (default: the sweep's name).")
    uri: str | None = Field(
        None, description="MLflow tracking URI (default: MLFLOW_TRACKING_URI, else ./seqlab-runs/mlflow.db)."
    )
    log_every: int | None = Field(
        None, ge=1,
        description="Record training metrics in MLflow every this many steps, sent in batches with each "
        "evaluation (default: steps // 250, so about 250 points per trial).",
    )


class Parallelism(Strict):
    """How one model is cut across workers: ``pipeline_stages × data_parallel`` ranks."""

    pipeline_stages: int = Field(1, ge=1, description="Pipeline stages p: the layer list is cut into p consecutive slices.")
    micro_batches: int = Field(1, ge=1, description="Micro-batches m per mini-batch; bubble (p-1)/(m+p-1).")
    data_parallel: int = Field(1, ge=1, description="Copies of the pipeline, each on its share of the mini-batch.")
    partition: Literal["uniform", "parameters"] = Field(
        "uniform", description="Cut into equal numbers of layers (uniform) or of parameters (parameters)."
    )
    zero_stage: int = Field(0, description="DeepSpeed ZeRO stage: 0 or 1 (pipelines cannot shard gradients or parameters).")

    @field_validator("zero_stage")
    @classmethod
    def _zero(cls, value: int) -> int:
        if value not in (0, 1):
            raise ValueError(
                f"zero_stage must be 0 or 1, got {value}: DeepSpeed pipelines cannot use ZeRO-2/3 "
                "(they shard gradients and parameters that the pipeline schedule accumulates per stage)"
            )
        return value

    @property
    def workers(self) -> int:
        """Ranks (= Ray Train workers) the job needs."""
        return self.pipeline_stages * self.data_parallel


class SweepSpec(Strict):
    """A sweep: one workload searched over ``parameters`` with ``fixed`` values held."""

    kind: Literal["sweep"] = Field("sweep", description="File kind: sweep (default) or job.")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Sweep name; names its folder and MLflow run.")
    workload: str = Field(description="A registered workload (seqlab list).")
    objective: Objective | list[Objective] = Field(
        description="The metric to optimise, or a list of them for multi-objective search (nsga2)."
    )
    search: Search = Field(default_factory=Search, description="How trials are proposed and scheduled.")
    parameters: dict[str, Param] = Field(default_factory=dict, description="Searched Config fields.")
    fixed: dict[str, Any] = Field(default_factory=dict, description="Config fields held for every trial.")
    resources: Resources = Field(default_factory=Resources, description="Per-trial resources.")
    limits: Limits = Field(default_factory=Limits, description="Time and failure limits.")
    tracking: Tracking = Field(default_factory=Tracking, description="Where MLflow records the sweep.")
    parallelism: Parallelism | None = Field(
        None, description="Run each trial as a DeepSpeed pipeline job (see job files)."
    )

    @property
    def objectives(self) -> list[Objective]:
        return self.objective if isinstance(self.objective, list) else [self.objective]

    @model_validator(mode="after")
    def _coherent(self) -> "SweepSpec":
        overlap = sorted(set(self.parameters) & set(self.fixed))
        if overlap:
            raise ValueError(f"fixed.{overlap[0]}: {', '.join(overlap)} is both searched (parameters) and fixed")
        multi = isinstance(self.objective, list)
        if multi and len(self.objective) < 2:
            raise ValueError("objective: a list needs at least two metrics (or give one mapping)")
        if multi and self.search.early_stopping.type != "none":
            raise ValueError("search.early_stopping needs a single objective (multi-objective sweeps run every trial to the end)")
        if self.search.sampler == "nsga2" and not multi:
            pass  # NSGA-II also works on one objective
        if self.search.sampler == "grid":
            for key, param in self.parameters.items():
                if isinstance(param, FloatParam):
                    raise ValueError(f"parameters.{key}: the grid sampler needs categorical or int parameters")
        if not self.parameters and self.search.sampler != "grid":
            raise ValueError("parameters is empty: name at least one Config field to search")
        es = self.search.early_stopping
        if es.type == "hyperband" and self.search.max_concurrent < self.search.num_trials:
            raise ValueError(
                f"search.max_concurrent: hyperband pauses trials at its rungs and a paused trial keeps its "
                f"slot, so with max_concurrent ({self.search.max_concurrent}) < num_trials "
                f"({self.search.num_trials}) the sweep can wait forever; set max_concurrent to num_trials "
                "(running trials stay bounded by the cluster's CPUs) or use asha"
            )
        if es.type == "pbt" and es.perturbation_interval is None:
            raise ValueError("search.early_stopping: pbt needs perturbation_interval (steps between exploit rounds)")
        if es.type == "pbt" and self.search.sampler != "random":
            raise ValueError(
                f"search.sampler: pbt draws its population at random from the parameter ranges and mutates it "
                f"there, so it cannot follow the {self.search.sampler} sampler; use sampler: random"
            )
        if es.type == "pbt" and self.parallelism is not None:
            raise ValueError("search.early_stopping: pbt cannot exploit pipelined trials (parallelism); use asha or none")
        return self

    def grid_size(self) -> int:
        size = 1
        for param in self.parameters.values():
            if isinstance(param, CategoricalParam):
                size *= len(param.values)
            elif isinstance(param, IntParam):
                size *= len(range(param.low, param.high + 1, param.step))
        return size


def spec_hash(text: str) -> str:
    """Short content hash of a spec file's text (tags the MLflow parent run)."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def check_against_workload(spec: SweepSpec) -> None:
    """Every parameter and fixed value must be a field of the workload's Config, of a fitting type."""
    from orchestrator.registry import UnknownWorkload, closest, load

    try:
        wl = load(spec.workload)
    except UnknownWorkload as err:
        raise SpecError(f"workload: {err}", key=("workload",)) from None
    fields = wl.config.model_fields
    for section, keys in (("parameters", spec.parameters), ("fixed", spec.fixed)):
        for key in keys:
            if key not in fields:
                hint = closest(key, list(fields))
                near = f" (did you mean '{hint[0]}'?)" if hint else ""
                raise SpecError(
                    f"{section}.{key}: not a field of {spec.workload}'s Config{near}; "
                    f"`seqlab describe {spec.workload}` lists them",
                    key=(section, key),
                )
    if spec.search.early_stopping.type == "pbt" and not wl.checkpointable:
        raise SpecError(
            f"search.early_stopping: pbt exploits through checkpoints, and {spec.workload} offers no state_dict",
            key=("search", "early_stopping"),
        )
    if spec.parallelism is not None and wl.pipeline is None:
        raise SpecError(f"parallelism: {spec.workload} has no pipeline hook, so it cannot run pipelined", key=("parallelism",))
    _validate_values(wl, spec.fixed, ("fixed",))
    for key, param in spec.parameters.items():
        samples = param.values if isinstance(param, CategoricalParam) else [param.low, param.high]
        for value in samples:
            _validate_values(wl, {**spec.fixed, key: value}, ("parameters", key))


def _validate_values(wl, values: dict[str, Any], where: tuple[str, ...]) -> None:
    """Build the workload's Config from ``values``; a type or range error names the key."""
    try:
        wl.make_config(values)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        if not field:  # a check between fields (a model validator): its message names them
            message = first["msg"].removeprefix("Value error, ")
            raise SpecError(f"{'.'.join(where)}: {wl.name}'s Config refuses these values: {message}", key=where) from None
        key = where if len(where) == 2 else (*where, field)
        raise SpecError(
            f"{'.'.join(key)}: {first.get('input')!r} does not fit {wl.name}'s Config field "
            f"'{field}': {first['msg']}",
            key=key,
        ) from None


def parse_sweep(data: Any, *, source: str = "<sweep>", text: str = "") -> SweepSpec:
    """Validate already-loaded YAML data as a :class:`SweepSpec` (errors name key and line)."""
    return parse_model(data, SweepSpec, what="sweep", source=source, text=text)


def load_sweep(path: str | Path, *, check_workload: bool = True) -> tuple[SweepSpec, str]:
    """Read, parse and check a sweep file; returns the spec and the file's text."""
    return load_model(path, SweepSpec, what="sweep", check=check_against_workload if check_workload else None)


def sweep_json_schema() -> dict[str, Any]:
    """JSON Schema of the sweep file, for editors (``seqlab schema``)."""
    schema = SweepSpec.model_json_schema()
    schema["title"] = "Seqlab sweep"
    return schema
