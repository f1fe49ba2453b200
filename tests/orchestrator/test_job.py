"""Pipelined jobs: validation errors, and one 2-stage gpipe job on two Ray Train CPU workers
(gloo) that loses a worker mid-run and resumes from the checkpoint of all ranks.

The job runs once per module (about a minute on 2 cores: two worker-group start-ups); the
first run on a fresh machine also compiles DeepSpeed's CPU op (about 2 minutes, once per
torch extensions cache; see orchestrator.job.prepare_deepspeed_ops).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest

from orchestrator.job import (
    JobSpec,
    Parallelism,
    WorkerResources,
    job_resources,
    load_job,
    parse_job,
    run_job,
    validate_job,
)
from orchestrator.yamlio import SpecError

REPO = Path(__file__).resolve().parents[2]
SMALL = {"d_model": 32, "n_heads": 2, "n_layers": 2, "seq_len": 16, "batch_size": 16, "eval_every": 10}


def job(**overrides) -> JobSpec:
    data = {
        "kind": "job",
        "name": "test-gpipe",
        "workload": "gpipe",
        "config": {**SMALL, "steps": 20},
        "parallelism": {"pipeline_stages": 2, "micro_batches": 4},
    }
    for key, value in overrides.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) and isinstance(data.get(key), dict) else value
    return JobSpec.model_validate(data)


# -- validation (no Ray needed) ------------------------------------------------------------------
def test_zero_stage_above_one_is_rejected_with_the_reason():
    with pytest.raises(SpecError, match="zero_stage must be 0 or 1, got 2"):
        parse_job(job().model_dump() | {"parallelism": {"pipeline_stages": 2, "zero_stage": 2}}, source="j.yaml")


def test_unknown_parallelism_key_names_the_key():
    with pytest.raises(SpecError, match=r"j.yaml: unknown key 'parallelism.stages'"):
        parse_job(job().model_dump() | {"parallelism": {"stages": 2}}, source="j.yaml")


def test_more_stages_than_layers_is_an_error():
    spec = job(config={"n_layers": 1}, parallelism={"pipeline_stages": 4})  # embedding + 1 block + head
    with pytest.raises(SpecError, match="4 stages need at least as many layers, but gpipe's pipeline has 3"):
        validate_job(spec, cluster={"CPU": 8})


def test_micro_batches_must_split_the_mini_batch():
    with pytest.raises(SpecError, match="a mini-batch of 16 does not split into 3 micro-batches x 1"):
        validate_job(job(parallelism={"micro_batches": 3}), cluster={"CPU": 8})


def test_workers_beyond_the_cluster_cpus_are_an_error():
    spec = job(parallelism={"data_parallel": 2})
    with pytest.raises(SpecError, match=r"2 stages x 2 data-parallel = 4 workers need 4 CPUs \(1 each\); the cluster has 2"):
        validate_job(spec, cluster={"CPU": 2})


def test_gpu_counts_are_checked():
    spec = job(resources={"cpu": 1, "gpu": 1})
    with pytest.raises(SpecError, match="need 2 GPUs .* the cluster has 1"):
        validate_job(spec, cluster={"CPU": 16, "GPU": 1})
    validate_job(spec, cluster={"CPU": 16, "GPU": 2})  # fits


def test_a_rank_needs_a_whole_gpu():
    with pytest.raises(SpecError, match="gpu must be 0 or 1 per worker"):
        parse_job(job().model_dump() | {"resources": {"cpu": 1, "gpu": 0.5}}, source="j.yaml")


def test_a_workload_without_pipeline_hook_cannot_be_a_job():
    with pytest.raises(SpecError, match="quadratic has no pipeline hook"):
        validate_job(job(workload="quadratic", config={}), cluster={"CPU": 8})


def test_job_resources_count_every_worker_and_the_trial():
    res = job_resources(Parallelism(pipeline_stages=2, data_parallel=2), WorkerResources(cpu=0.5, gpu=0))
    assert res["CPU"] == pytest.approx(4 * 0.5 + 0.05) and res["GPU"] == 0


def test_shipped_job_file_validates():
    spec, _ = load_job(REPO / "sweeps/jobs/gpipe.yaml")
    assert spec.parallelism.pipeline_stages == 2 and spec.workload == "gpipe"


def test_each_run_gets_a_fresh_folder_and_resume_takes_the_newest(tmp_path):
    from orchestrator.job import _run_dir

    first = _run_dir(tmp_path, "j", resume=False)
    first.mkdir()
    second = _run_dir(tmp_path, "j", resume=False)  # same second: must not reuse (Ray would resume it)
    second.mkdir()
    (tmp_path / "j-other-20990101-000000").mkdir()  # another job's run, not this one's
    assert first != second
    assert _run_dir(tmp_path, "j", resume=True) == second
    with pytest.raises(SpecError, match="no earlier run of job 'k'"):
        _run_dir(tmp_path, "k", resume=True)


def test_ranks_put_neighbouring_stages_on_neighbouring_ranks():
    from orchestrator.pipeline_worker import topology

    grid = topology(stages=2, data_parallel=2)
    coords = [(grid.get_coord(rank).data, grid.get_coord(rank).pipe) for rank in range(4)]
    assert coords == [(0, 0), (0, 1), (1, 0), (1, 1)]  # pipeline 0 on ranks 0-1, pipeline 1 on 2-3


# -- one real job: two workers over gloo, one of them killed mid-run ----------------------------
@pytest.fixture(scope="module")
def ray_cluster():
    import ray

    from orchestrator.job import prepare_deepspeed_ops

    prepare_deepspeed_ops()  # compiles once per torch extensions cache (~2 min), else instant
    # address="local": a new in-process cluster, never another `ray start` cluster on a shared machine
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def _train_workers() -> list[psutil.Process]:
    """Ray Train worker processes of this test's own Ray cluster (descendants of this process)."""
    return [
        p
        for p in psutil.Process().children(recursive=True)
        if any("RayTrainWorker" in part for part in (p.cmdline() or []))
    ]


KILL_AFTER = 6  # kill a worker once the driver has seen this step


@pytest.fixture(scope="module")
def killed_run(ray_cluster, tmp_path_factory):
    killed: list[int] = []

    def on_report(metrics: dict, step: int) -> None:
        if step >= KILL_AFTER and not killed:
            victim = max(_train_workers(), key=lambda p: p.pid)
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(step)

    spec = job(config={"steps": 24}, limits={"max_failures": 1}, checkpoints={"every": 4})
    result = run_job(spec, storage_dir=tmp_path_factory.mktemp("jobs"), on_report=on_report)
    return result, killed


def test_two_stage_job_reports_every_step_with_loss_speed_and_val_loss(killed_run):
    result, _ = killed_run
    assert sorted({int(r["step"]) for r in result.reports}) == list(range(1, 25))
    assert result.final["step"] == 24
    for report in result.reports:
        assert report["train/step_time_s"] > 0 and report["train/tokens_per_s"] > 0
    assert "val/loss" in result.final
    first = next(r for r in result.reports if r["step"] == 1)
    assert result.final["train/loss"] < first["train/loss"]


def test_checkpoint_holds_the_shards_of_both_stages(killed_run):
    result, _ = killed_run
    files = {p.name for p in result.checkpoint.rglob("*") if p.is_file()}
    layers = {f"layer_{i:02d}-model_states.pt" for i in range(4)}  # embedding, 2 blocks, head
    assert layers <= files, files
    assert {"mp_rank_00_model_states.pt", "mp_rank_01_model_states.pt"} <= files, files


def test_killed_worker_resumes_from_the_last_checkpoint(killed_run):
    result, killed = killed_run
    assert killed, "no worker was killed"
    assert result.restarts == 1
    steps = [int(r["step"]) for r in result.reports]
    restart = next(i for i in range(1, len(steps)) if steps[i] <= steps[i - 1])
    resumed_from = int(result.reports[restart]["resumed_from"])
    assert resumed_from > 0 and resumed_from % 4 == 0  # a checkpoint, not a fresh start
    assert steps[restart] == resumed_from + 1
    # steps done both before the kill and after the restart saw the same model and data
    before = {int(r["step"]): r["train/loss"] for r in result.reports[:restart]}
    again = [r for r in result.reports[restart:] if int(r["step"]) in before]
    assert again, "no step was repeated after the restart"
    for r in again:
        assert r["train/loss"] == pytest.approx(before[int(r["step"])], rel=1e-6)


@pytest.mark.slow  # a third worker-group start-up (~30 s); run with: pytest -m slow tests/orchestrator/test_job.py
def test_resume_continues_the_newest_run_from_its_last_checkpoint(killed_run):
    result, _ = killed_run
    spec = job(config={"steps": 28}, checkpoints={"every": 4})  # four more steps than the first run
    again = run_job(spec, storage_dir=result.run_dir.parent, resume=True)
    assert again.run_dir == result.run_dir
    assert [int(r["step"]) for r in again.reports] == [25, 26, 27, 28]
    assert all(int(r["resumed_from"]) == 24 for r in again.reports)
