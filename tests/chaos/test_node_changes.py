"""Chaos: a worker node leaves mid-sweep and a new one joins (``ray.cluster_utils.Cluster``).

The cluster is a head with no CPUs and two 1-CPU workers, A and B. As soon as a trial runs on B,
B is removed (its raylet and every process on it die at once) and a fresh 1-CPU node C is added.
Expectations (issue #18): every trial completes with all its steps; the sweep goes on placing
trials on C; every (trial, metric, step) is in MLflow exactly once; both CPUs are free again
within 60 s.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from orchestrator.runs import run_sweep
from orchestrator.spec import parse_sweep
from tests.chaos.expect import assert_every_step_once, baseline_seconds, record, wait_cpus_free
from tests.ray_views import node_of_pid, trial_actors_on, trial_rows

pytestmark = pytest.mark.chaos

SMALL = {"object_store_memory": 80 * 1024**2}
SWEEP = {
    "name": "chaos-nodes",
    "workload": "quadratic",
    "objective": {"metric": "val/loss", "mode": "min"},
    "search": {"sampler": "random", "seed": 1, "num_trials": 6, "max_concurrent": 2},
    "parameters": {"lr": {"type": "float", "low": 0.01, "high": 0.2, "log": True}},
    "fixed": {"steps": 10, "eval_every": 2, "sleep_s": 0.5},
    "limits": {"max_failures": 3},
    "tracking": {"log_every": 1},
}


@pytest.fixture(scope="module")
def cluster():
    """Head (0 CPU) and two 1-CPU worker nodes (the second is the one removed); shut down at the end."""
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False, **SMALL})
    try:
        cluster.add_node(num_cpus=1, **SMALL)
        victim = cluster.add_node(num_cpus=1, **SMALL)
        ray.init(address=cluster.address, log_to_driver=False, logging_level="ERROR")
        cluster.wait_for_nodes()
        yield cluster, victim
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_a_node_removed_mid_sweep_loses_nothing_and_a_new_node_takes_trials(cluster, tmp_path, monkeypatch):
    import ray

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cluster, victim = cluster
    box: dict = {}
    sweep = lambda: box.update(outcome=run_sweep(parse_sweep(SWEEP), json.dumps(SWEEP), runs_dir=tmp_path / "runs"))
    runner = threading.Thread(target=sweep, daemon=True)  # nodes are added from the main thread only
    started = time.monotonic()
    runner.start()
    new, deadline = None, time.monotonic() + 180
    while new is None and runner.is_alive() and time.monotonic() < deadline:
        if trial_actors_on(victim.node_id):
            time.sleep(1.5)  # it has reported (and checkpointed) at least once
            cluster.remove_node(victim)
            new = cluster.add_node(num_cpus=1, **SMALL)
        time.sleep(0.2)
    runner.join(300)
    seconds = time.monotonic() - started
    assert new is not None, "no trial ever ran on the node to be removed"
    assert not runner.is_alive(), "the sweep did not finish within 300 s of the node change"
    outcome = box["outcome"]

    assert sorted(t.outcome for t in outcome.trials) == ["completed"] * 6
    assert all(t.metrics["step"] == 10 for t in outcome.trials)
    where = node_of_pid()
    nodes_used = {where.get(row["pid"]) for rows in trial_rows(outcome).values() for row in rows}
    assert new.node_id in nodes_used, "no trial ran on the node that joined"
    _, duplicates, lost = assert_every_step_once(
        outcome, {"val/loss": list(range(2, 11, 2)), "train/loss": list(range(1, 11))}, 6)
    free_s = wait_cpus_free(ray, 2)
    record("worker node removed, another added", injected=1, finished=f"{len(outcome.trials)}/6",
           duplicates=duplicates, lost=lost, seconds=seconds, free_s=free_s,
           baseline_s=baseline_seconds(lambda: run_sweep(parse_sweep(SWEEP), json.dumps(SWEEP), runs_dir=tmp_path / "base")))
