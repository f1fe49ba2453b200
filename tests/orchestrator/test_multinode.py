"""Sweeps on a multi-node cluster (``ray.cluster_utils.Cluster``: one machine, several raylets).

The head offers no CPUs; worker nodes declare GPUs (declared, not real: Ray still assigns ids and
sets CUDA_VISIBLE_DEVICES). The probe workload reports its CUDA_VISIBLE_DEVICES
(``report_env``); which node ran a trial comes from Ray's actor table (the trial's pid).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from orchestrator.spec import parse_sweep
from orchestrator.yamlio import SpecError
from tests.ray_views import node_of_pid, trial_rows

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def nodes():
    """Head (0 CPU), a GPU node (2 CPU, 2 GPU) and a CPU node (1 CPU); shut down at the end."""
    import ray
    from ray.cluster_utils import Cluster

    small = {"object_store_memory": 80 * 1024**2, "include_dashboard": False}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, **small})
    try:
        gpu = cluster.add_node(num_cpus=2, num_gpus=2, **small)
        cpu = cluster.add_node(num_cpus=1, **small)
        ray.init(address=cluster.address, log_to_driver=False, logging_level="ERROR")
        cluster.wait_for_nodes()
        yield cluster, gpu, cpu
    finally:
        ray.shutdown()
        cluster.shutdown()


def _spec(name: str, **overrides):
    data = {
        "name": name,
        "workload": "quadratic",
        "objective": {"metric": "val/loss", "mode": "min"},
        "search": {"sampler": "random", "seed": 0, "num_trials": 4, "max_concurrent": 4},
        "parameters": {"lr": {"type": "float", "low": 1.0e-3, "high": 0.3, "log": True}},
        "fixed": {"steps": 6, "eval_every": 2, "sleep_s": 0.3, "report_env": True},
    }
    data.update(overrides)
    return parse_sweep(data), json.dumps(data)


def _run(spec, text, tmp_path, monkeypatch):
    from orchestrator.runs import run_sweep

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return run_sweep(spec, text, runs_dir=tmp_path / "runs")


def test_gpu_trials_land_only_on_gpu_nodes_each_with_its_own_device(nodes, tmp_path, monkeypatch):
    _, gpu, cpu = nodes
    spec, text = _spec("multinode-gpu", resources={"cpu": 1, "gpu": 1})
    outcome = _run(spec, text, tmp_path, monkeypatch)
    assert sorted(t.outcome for t in outcome.trials) == ["completed"] * 4
    results = trial_rows(outcome)
    where = node_of_pid()
    placed = {tid: where[rows[-1]["pid"]] for tid, rows in results.items()}
    assert set(placed.values()) == {gpu.node_id}, f"GPU trials ran on {placed}; cpu node is {cpu.node_id}"
    masks = {tid: rows[-1]["env/cuda_visible_devices"] for tid, rows in results.items()}
    assert set(masks.values()) <= {1.0, 2.0}  # exactly one device each: id 0 or id 1
    assert set(masks.values()) == {1.0, 2.0}  # two at a time on a 2-GPU node: different devices


def test_a_torch_trial_given_a_gpu_torch_cannot_see_fails_saying_so(nodes, tmp_path, monkeypatch):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a real GPU: the trial would train on it")
    spec, text = _spec("multinode-blind-gpu", workload="ar_net", parameters={"lr": {"type": "float", "low": 1e-3, "high": 1e-2}},
                       fixed={"steps": 2, "eval_every": 1}, resources={"cpu": 1, "gpu": 1},
                       search={"sampler": "random", "seed": 0, "num_trials": 1})  # fmt: skip
    outcome = _run(spec, text, tmp_path, monkeypatch)
    [trial] = outcome.trials
    assert trial.outcome == "failed"
    assert "was given GPU" in trial.error and "torch" in trial.error and "sees no GPU" in trial.error


def test_an_impossible_request_is_a_clear_error_before_anything_runs(nodes, tmp_path, monkeypatch):
    spec, text = _spec("multinode-impossible", resources={"cpu": 1, "gpu": 3})
    started = time.monotonic()
    with pytest.raises(SpecError, match=r"gpu: 3.*largest node of this cluster has cpu: 2, gpu: 2 \(3 node\(s\)\)"):
        _run(spec, text, tmp_path, monkeypatch)
    assert time.monotonic() - started < 30
    assert not (tmp_path / "runs" / "multinode-impossible").exists()


def test_resource_check_counts_the_node_types_the_autoscaler_may_add(nodes, monkeypatch):
    from orchestrator.sweep import check_resources

    monkeypatch.setenv("SEQLAB_CLUSTER_CONFIG", str(ROOT / "cluster.yaml"))
    check_resources(8, 1)  # no node has 8 CPUs now, but cluster.yaml's gpu_worker does
    with pytest.raises(SpecError, match="node type\\(s\\) the autoscaler may add"):
        check_resources(1, 4)
    monkeypatch.delenv("SEQLAB_CLUSTER_CONFIG")
    with pytest.raises(SpecError, match="cpu: 8"):
        check_resources(8, 1)
