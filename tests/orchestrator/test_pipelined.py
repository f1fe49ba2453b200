"""`seqlab run` of a job file, and a sweep whose trials are pipelined jobs, recorded in MLflow.

DeepSpeed over gloo on two Ray Train workers (DS_ACCELERATOR=cpu), through the real CLI.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from mlflow.tracking import MlflowClient

SEQLAB = [sys.executable, "-m", "orchestrator.cli"]

JOB = """\
kind: job
name: tiny-job
workload: gpipe
config: {steps: 4, eval_every: 2, n_layers: 2, d_model: 32, batch_size: 8}
parallelism: {pipeline_stages: 2, micro_batches: 2}
resources: {cpu: 1, gpu: 0}
tracking: {experiment: jobs}
"""

SWEEP = """\
name: tiny-psweep
workload: gpipe
objective: {metric: val/loss, mode: min}
search: {sampler: grid, num_trials: 2, max_concurrent: 1}
parameters: {micro_batches: {type: categorical, values: [1, 2]}}
fixed: {steps: 4, eval_every: 2, n_layers: 2, d_model: 32, batch_size: 8}
parallelism: {pipeline_stages: 2}
resources: {cpu: 0.9, gpu: 0}
"""


def store(tmp_path) -> MlflowClient:
    return MlflowClient(f"sqlite:///{tmp_path / 'seqlab-runs' / 'mlflow.db'}")


def family(client: MlflowClient, experiment: str):
    [exp] = [e for e in client.search_experiments() if e.name == experiment]
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def test_a_job_file_runs_as_a_pipeline_and_lands_in_mlflow(tmp_path):
    (tmp_path / "job.yaml").write_text(JOB)
    proc = subprocess.run([*SEQLAB, "run", "job.yaml", "--num-cpus", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "0 restart(s)" in proc.stdout
    client = store(tmp_path)
    [parent], [child] = family(client, "jobs")
    assert parent.info.status == "FINISHED" and parent.data.tags["seqlab.kind"] == "job"
    assert child.data.params["pipeline_stages"] == "2" and child.data.params["micro_batches"] == "2"
    assert child.data.tags["seqlab.device"] == "cpu"
    steps = [m.step for m in client.get_metric_history(child.info.run_id, "train/loss")]
    assert steps == [1, 2, 3, 4]
    assert [m.step for m in client.get_metric_history(child.info.run_id, "val/loss")] == [2, 4]


def test_a_sweep_with_a_parallelism_block_runs_each_trial_as_a_pipeline(tmp_path):
    (tmp_path / "sweep.yaml").write_text(SWEEP)
    proc = subprocess.run([*SEQLAB, "run", "sweep.yaml", "--num-cpus", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    client = store(tmp_path)
    [parent], children = family(client, "tiny-psweep")
    assert sorted(c.data.params["micro_batches"] for c in children) == ["1", "2"]
    for child in children:
        assert child.data.tags["seqlab.status"] == "completed" and child.data.tags["seqlab.device"] == "cpu"
        assert [m.step for m in client.get_metric_history(child.info.run_id, "val/loss")] == [2, 4]


def test_a_pipeline_the_cluster_cannot_hold_is_refused_before_it_starts(tmp_path):
    (tmp_path / "sweep.yaml").write_text(SWEEP.replace("parallelism: {pipeline_stages: 2}", "parallelism: {pipeline_stages: 2, data_parallel: 2}"))
    proc = subprocess.run([*SEQLAB, "run", "sweep.yaml", "--num-cpus", "2"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "4 workers need 3.6 CPUs" in proc.stderr and "Traceback" not in proc.stderr


def test_zero_stage_2_in_a_sweep_is_a_validation_error(tmp_path):
    (tmp_path / "sweep.yaml").write_text(SWEEP.replace("parallelism: {pipeline_stages: 2}", "parallelism: {pipeline_stages: 2, zero_stage: 2}"))
    proc = subprocess.run([*SEQLAB, "validate", "sweep.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 2
    assert "parallelism.zero_stage: zero_stage must be 0 or 1" in proc.stderr


def test_a_pipeline_rank_given_a_gpu_torch_cannot_see_fails_naming_it(monkeypatch):
    import torch

    from orchestrator.pipeline_worker import check_visible_gpu
    from orchestrator.devices import NoVisibleGPU

    check_visible_gpu(False)  # a CPU rank is not checked
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # this machine's truth, made explicit for GPU hosts
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    with pytest.raises(NoVisibleGPU, match="CUDA_VISIBLE_DEVICES=3.*resources.gpu: 0"):
        check_visible_gpu(True)
