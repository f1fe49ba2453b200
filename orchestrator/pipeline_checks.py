"""Checks that a pipelined job trains the same model as one process (GPipe's correctness claim).

:func:`pipeline_vs_single_process` runs a job's workload configuration twice from one seed, as
the DeepSpeed pipeline of the job and through the workload's ordinary single-process ``build``,
and compares the training loss step by step. With one synchronous update per mini-batch the two
agree up to floating-point reduction order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator.job import JobSpec, run_job


def single_process_losses(workload: str, config: dict[str, Any], steps: int) -> list[float]:
    """``train/loss`` of the first ``steps`` steps of the workload run in this process on CPU."""
    import torch

    from orchestrator.registry import load

    torch.set_num_threads(1)
    wl = load(workload)
    inst = wl.build(wl.make_config(config), "cpu")
    return [float(inst.train_step(step)["loss"]) for step in range(steps)]


def pipeline_vs_single_process(spec: JobSpec, *, storage_dir: Path, steps: int = 20) -> dict[str, Any]:
    """Train ``spec``'s configuration for ``steps`` steps as its pipeline and as one process.

    Returns ``{"pipeline": [...], "single": [...], "rel_diff": [...], "max_rel_diff": float}``,
    the losses per step and their relative differences |a − b| / |b|. The job reports every
    step; the single-process run uses the config as given (for gpipe, ``micro_batches: 1`` is
    plain full-batch training).
    """
    config = {**spec.config, "steps": steps}
    job = spec.model_copy(update={"config": config, "report_every": 1})
    result = run_job(job, storage_dir=storage_dir)
    by_step = {int(r["step"]): r["train/loss"] for r in result.reports}
    pipeline = [by_step[s] for s in range(1, steps + 1)]
    single = single_process_losses(spec.workload, config, steps)
    rel = [abs(a - b) / abs(b) for a, b in zip(pipeline, single)]
    return {"pipeline": pipeline, "single": single, "rel_diff": rel, "max_rel_diff": max(rel)}
