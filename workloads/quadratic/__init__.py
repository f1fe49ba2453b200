"""A noisy quadratic bowl: Seqlab's own probe workload (no paper).

Gradient descent with momentum on f(w) = ½‖A(w − w*)‖² from noisy gradients. It answers in
microseconds, so the orchestrator's tests and overhead benchmarks measure Seqlab, not a model;
and it can fail on request (raise, NaN, hang) so failure handling is tested on a real workload.
"""

from __future__ import annotations

from pydantic import Field

from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    dim: int = Field(8, ge=1, description="Number of parameters in the bowl.")
    lr: float = Field(0.05, gt=0, description="Step size of gradient descent.")
    momentum: float = Field(0.0, ge=0, lt=1, description="Heavy-ball momentum.")
    noise: float = Field(0.1, ge=0, description="Std of the Gaussian noise added to each gradient.")
    condition: float = Field(10.0, ge=1, description="Condition number of the bowl's curvature.")
    sleep_s: float = Field(0.0, ge=0, description="Seconds each train_step sleeps (stands in for work).")
    fail_at_step: int = Field(-1, description="Raise RuntimeError at this step (-1: never).")
    transient_fail_at_step: int = Field(
        -1, description="Raise at this step unless the run was restored from a checkpoint (a preemption; -1: never)."
    )
    nan_at_step: int = Field(-1, description="Report a NaN loss from this step on (-1: never).")
    hang_at_step: int = Field(-1, description="Block forever at this step, as a stuck kernel would (-1: never).")
    report_env: bool = Field(
        False, description="Also report env/cuda_visible_devices: the GPU ids this process may use, as a bitmask (-1: unset)."
    )


def build(cfg: Config, device: str):
    from workloads.quadratic.bowl import Bowl

    return Bowl(cfg)


WORKLOAD = WorkloadDef(
    name="quadratic",
    title="Noisy quadratic bowl (Seqlab's probe workload)",
    arxiv="",
    family="probe",
    config=Config,
    build=build,
    metric="val/loss",
    mode="min",
    summary="Gradient descent on a noisy quadratic; fails on request. For tests and overhead benchmarks.",
    uses_torch=False,
)
