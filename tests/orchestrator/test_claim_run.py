"""A board's claims fanned out over a multi-node cluster (``ray.cluster_utils.Cluster``).

Three claims of the sleeping probe workload (two seeds each, one trial at a time) run one
after another, or fanned out over the cluster's one-claim-wide slots, all at once. The head offers no CPUs, so every trial lands on a worker node, while each claim's
Tune driver (a zero-CPU task) stays on the head beside the runs folder.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from orchestrator.claims import load_claim

CLAIM = """
name: sleepy-{k}
paper: "probe paper"
metric: val/loss
calibration_seeds: [100, 101]
seeds: [0, 1]
max_concurrent: 1
arms:
  slow: {{workload: quadratic, fixed: {{steps: 4, eval_every: 2, sleep_s: 1.5}}}}
expect:
  - "mean(slow) < {bar}"
"""


@pytest.fixture(scope="module")
def cluster():
    """Head (0 CPU) and two worker nodes of 2 fake CPUs each."""
    import ray
    from ray.cluster_utils import Cluster

    small = {"object_store_memory": 80 * 1024**2, "include_dashboard": False}
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, **small})
    try:
        for _ in range(2):
            nodes.add_node(num_cpus=2, **small)
        ray.init(address=nodes.address, log_to_driver=False, logging_level="ERROR")
        nodes.wait_for_nodes()
        yield nodes
    finally:
        ray.shutdown()
        nodes.shutdown()


def _claims(folder: Path, bars: list[float]):
    folder.mkdir(parents=True)
    chosen = []
    for k, bar in enumerate(bars):
        path = folder / f"sleepy_{k}.yaml"
        path.write_text(CLAIM.format(k=k, bar=bar))
        spec, text = load_claim(path)
        chosen.append((path, spec, text))
    return chosen


def test_auto_parallel_fills_the_cluster_at_each_claims_own_concurrency(cluster, tmp_path):
    from orchestrator.claim_run import auto_parallel

    specs = [spec for _, spec, _ in _claims(tmp_path / "claims", [1e9] * 6)]
    assert auto_parallel(specs) == 4  # 4 worker CPUs / (max_concurrent 1 × 1 CPU)
    wide = specs[0].model_copy(update={"max_concurrent": 2})
    assert auto_parallel([wide, *specs[1:]]) == 2
    assert auto_parallel(specs[:3]) == 3  # never more than there are claims


def test_fanned_out_claims_run_at_once_and_keep_every_verdict(cluster, tmp_path, monkeypatch):
    from orchestrator.claim_run import fan_out

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    # the last claim's bar cannot be met: its FAIL must survive the fan-out as it is
    chosen = _claims(tmp_path / "claims", [1e9, 1e9, -1.0])
    seen = []

    started = time.monotonic()
    serial = fan_out(chosen, runs_dir=tmp_path / "serial", parallel=1)
    serial_s = time.monotonic() - started
    started = time.monotonic()
    fanned = fan_out(chosen, runs_dir=tmp_path / "fanned", parallel=3, on_done=lambda row, n: seen.append(row[1].stem))
    fanned_s = time.monotonic() - started

    for rows in (serial, fanned):
        assert [path.stem for _, path, _ in rows] == [f"sleepy_{k}" for k in range(3)]  # file order kept
        assert [problem for _, _, problem in rows] == [""] * 3
        assert [result.verdict for result, _, _ in rows] == ["PASS", "PASS", "FAIL"]
        assert all(result.seeds_done == {"slow": [0, 1]} for result, _, _ in rows)
    assert sorted(seen) == [f"sleepy_{k}" for k in range(3)]
    # each claim is its own MLflow parent in the one store of the runs folder
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'fanned' / 'mlflow.db'}")
    parents = client.search_runs([client.get_experiment_by_name("claims").experiment_id],
                                 "tags.`seqlab.kind` = 'claim'")  # fmt: skip
    assert sorted(run.info.run_name for run in parents) == [f"claim-sleepy-{k}" for k in range(3)]
    assert {run.data.tags["seqlab.verdict"] for run in parents} == {"PASS", "FAIL"}
    # all three claims were running at one moment (the time it saves is a benchmark's business:
    # 3 claims × 2 trials × 6 s of sleep took 55 s serially and 29 s fanned out on 2 loaded cores)
    assert max(run.info.start_time for run in parents) < min(run.info.end_time for run in parents)
    assert serial_s >= 36  # the sleeps really happened
    print(f"serial {serial_s:.1f} s, fanned out {fanned_s:.1f} s")


def test_a_claim_that_breaks_gives_its_row_and_the_others_finish(cluster, tmp_path, monkeypatch):
    from orchestrator.claim_run import fan_out

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    chosen = _claims(tmp_path / "claims", [1e9, 1e9])
    path, spec, text = chosen[1]
    broken = spec.model_copy(update={"arms": {"slow": spec.arms["slow"].model_copy(update={"workload": "no_such"})}})
    rows = fan_out([chosen[0], (path, broken, text)], runs_dir=tmp_path / "runs", parallel=2)
    assert rows[0][0] is not None and rows[0][0].verdict == "PASS", (rows[0][0].reason, rows[0][0].failed_trials)
    assert rows[1][0] is None and "no_such" in rows[1][2], rows[1]
