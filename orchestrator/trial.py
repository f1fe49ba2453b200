"""The trial runner: drives one workload run per the contract in :mod:`workloads.api`.

It owns the loop, seeding, thread count, non-finite checks, reporting and checkpoints, and knows
nothing of Ray: :mod:`orchestrator.sweep` hands it a :class:`Reporter` that speaks to Tune. A
retried or restored trial continues from the step after its last checkpoint.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Protocol

from orchestrator.devices import require_visible_gpu


#: Result key of the training curve a report carries: JSON ``[[step, {metric: value}], ...]``.
CURVE_KEY = "seqlab_curve"
#: Result key of the device the trial trains on (``cpu`` or ``cuda``), in its first report.
DEVICE_KEY = "seqlab_device"


class NonFiniteMetric(FloatingPointError):
    """A workload reported NaN or infinity: the trial fails (and is recorded), the sweep goes on."""


@dataclass(frozen=True)
class TrialPlan:
    """What every trial of a run shares (passed once through the object store).

    Args:
        workload: default workload name (a claim's arms may name their own in ``arms``).
        fixed: Config values held for every trial.
        cpus: CPUs each trial holds; sets torch's thread count.
        arms: for claims, arm name -> (workload, fixed values); a trial's config picks one.
        parallelism: when set, each trial trains its workload as a DeepSpeed pipeline on its own
            Ray Train workers (see :mod:`orchestrator.job`), with ``worker_resources`` per rank.
        log_every: training metrics are kept every this many steps and sent with the next
            report (None: ``steps // 250``, at least 1).
    """

    workload: str
    fixed: Mapping[str, Any] = field(default_factory=dict)
    cpus: float = 1.0
    arms: Mapping[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)
    parallelism: Mapping[str, Any] | None = None
    worker_resources: Mapping[str, Any] | None = None
    log_every: int | None = None

    def resolve(self, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """(workload name, Config values) for one trial's sampled ``params``."""
        params = dict(params)
        arm = params.pop("arm", None)
        if arm is not None:
            workload, fixed = self.arms[arm]
            return workload, {**fixed, **params}
        return self.workload, {**self.fixed, **params}


class Reporter(Protocol):
    """Where a trial's results go (Tune in a sweep; a list in tests and benchmarks)."""

    def report(self, metrics: dict[str, float], state: bytes | None) -> None:
        """Record ``metrics`` (they carry ``step``); ``state`` is a checkpoint to keep, if any."""
        ...

    def restore(self) -> bytes | None:
        """The last checkpoint of this trial, if it is being retried or resumed."""
        ...

    def gpu_ids(self) -> list[str]:
        """The GPU ids the cluster assigned this trial (empty: none)."""
        ...


def choose_device(gpu_ids: list[str], uses_torch: bool) -> str:
    """``cuda`` for a torch workload given GPUs (its ``CUDA_VISIBLE_DEVICES`` set to exactly
    those), else ``cpu``; a trial given GPUs that torch cannot see fails with the reason."""
    if not gpu_ids or not uses_torch:
        return "cpu"
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(gpu_ids)  # before torch first touches CUDA
    require_visible_gpu(f"this trial was given GPU {','.join(gpu_ids)}")
    return "cuda"


def seed_everything(seed: int, *, torch_too: bool = True) -> None:
    """Seed Python, NumPy and (unless the workload never uses it) torch from the trial's seed."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    if torch_too:
        import torch

        torch.manual_seed(seed)


def _finite(metrics: Mapping[str, Any], where: str) -> dict[str, float]:
    out = {}
    for key, value in metrics.items():
        number = float(value)
        if not math.isfinite(number):
            raise NonFiniteMetric(f"{where}: metric '{key}' is {number}")
        out[key] = number
    return out


def run_pipelined(plan: TrialPlan, params: Mapping[str, Any], reporter: Reporter, workdir: Path) -> dict[str, float]:
    """One trial as a pipelined job (Tune over Train), reported at each evaluation like any trial.

    The job reports every step; the trial passes on the steps that carry the workload's
    objective (its evaluations), with the latest training metrics beside them.
    """
    from orchestrator import job
    from orchestrator.registry import load

    name, values = plan.resolve(params)
    objective = load(name).metric
    last: dict[str, float] = {}
    untold: str | None = "cuda" if (plan.worker_resources or {}).get("gpu", 0) > 0 else "cpu"  # each rank checks it

    def forward(metrics: dict[str, float], step: int) -> None:
        nonlocal last, untold
        if objective not in metrics:
            return
        last = {**_finite(metrics, f"{name} pipeline step {step}"), "step": float(step)}
        extra = {DEVICE_KEY: untold} if untold else {}
        untold = None
        reporter.report({**last, **extra}, None)

    job.train_pipelined_in_trial(
        name, values, plan.parallelism or {}, plan.worker_resources or {}, storage_dir=workdir, report=forward,
        name=workdir.name,
    )
    return last


def run(plan: TrialPlan, params: Mapping[str, Any], reporter: Reporter, workdir: Path | None = None) -> dict[str, float]:
    """Run one trial to its end and return its last reported metrics.

    Evaluates every ``eval_every`` steps and at the last step; each evaluation is reported with
    ``step`` (steps done so far) and the last ``train/loss``, and carries under
    :data:`CURVE_KEY` the training metrics of every ``log_every``-th step since the previous
    report, so the curve reaches MLflow in batches through the one writer in the driver. A
    checkpoint goes with every report when the workload offers ``state_dict``; the last one holds
    the trained model (the best trial's is logged to MLflow).
    """
    if plan.parallelism is not None:
        if workdir is None:
            raise ValueError("a pipelined trial needs a working folder of its own")
        return run_pipelined(plan, params, reporter, workdir)
    from orchestrator.registry import load
    from workloads.api import Checkpointable

    name, values = plan.resolve(params)
    wl = load(name)
    cfg = wl.make_config(values)
    if wl.uses_torch:
        import torch

        torch.set_num_threads(max(1, int(plan.cpus)))
    device = choose_device(reporter.gpu_ids(), wl.uses_torch)
    seed_everything(cfg.seed, torch_too=wl.uses_torch)
    inst = wl.build(cfg, device)

    start = 0
    saved = reporter.restore()
    if saved is not None and isinstance(inst, Checkpointable):
        blob = pickle.loads(saved)
        if blob.get("config", cfg.model_dump()) != cfg.model_dump():  # another trial's, perturbed (PBT)
            from workloads.training import retuning

            with retuning():
                inst.load_state_dict(blob["state"])
        else:
            inst.load_state_dict(blob["state"])
        start = blob["step"]
        if start >= cfg.steps:  # restored from its final report (a scheduler paused it there):
            reporter.report(blob["metrics"], None)  # say it again, or the scheduler waits for it
            return blob["metrics"]

    last: dict[str, float] = {}
    train: dict[str, float] = {}
    every = plan.log_every or max(1, cfg.steps // 250)
    curve: list[tuple[int, dict[str, float]]] = []
    untold: str | None = device
    for step in range(start, cfg.steps):
        train = _finite(inst.train_step(step), f"{name} train_step({step})")
        done = step + 1
        if done % every == 0:
            curve.append((done, {f"train/{k}": v for k, v in train.items()}))
        if done % cfg.eval_every and done != cfg.steps:
            continue
        evaluation = _finite(inst.evaluate(), f"{name} evaluate() after step {done}")
        if wl.metric not in evaluation:
            raise KeyError(f"{name}: evaluate() did not report its objective '{wl.metric}'")
        last = {**{f"train/{k}": v for k, v in train.items()}, **evaluation, "step": float(done)}
        state = None
        if isinstance(inst, Checkpointable):  # the last one too: the trained model, for the best trial
            state = pickle.dumps({"step": done, "state": inst.state_dict(), "metrics": last, "config": cfg.model_dump()})
        extra = {CURVE_KEY: json.dumps(curve)} if curve else {}
        if untold:
            extra[DEVICE_KEY], untold = untold, None  # with the first report only
        reporter.report({**last, **extra}, state)
        curve = []
    return last


def read_curve(result: Mapping[str, Any]) -> list[tuple[int, dict[str, float]]]:
    """The training curve a report carries (empty when it carries none)."""
    text = result.get(CURVE_KEY)
    return [(int(step), values) for step, values in json.loads(text)] if isinstance(text, str) else []


class ListReporter:
    """A :class:`Reporter` that keeps results in memory (for tests, benchmarks and notebooks)."""

    def __init__(self, checkpoint: bytes | None = None) -> None:
        self.results: list[dict[str, float]] = []
        self.checkpoints: list[bytes] = []
        self._restore = checkpoint

    def report(self, metrics: dict[str, float], state: bytes | None) -> None:
        self.results.append(dict(metrics))
        if state is not None:
            self.checkpoints.append(state)

    def restore(self) -> bytes | None:
        return self._restore

    def gpu_ids(self) -> list[str]:
        return []
