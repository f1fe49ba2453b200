"""What every chaos test checks after its fault: nothing lost, nothing twice, resources back."""

from __future__ import annotations

import time
from collections import Counter


def assert_every_step_once(outcome, curves: dict[str, list[int]], trials: int) -> list:
    """One child run per trial, each with ``curves[metric]`` steps exactly once; returns the children."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(outcome.tracking_uri)
    children = client.search_runs([outcome.experiment_id], f"tags.`mlflow.parentRunId` = '{outcome.parent_run_id}'")
    assert len(children) == trials, f"{len(children)} child runs for {trials} trials"
    for child in children:
        for metric, expected in curves.items():
            steps = Counter(m.step for m in client.get_metric_history(child.info.run_id, metric))
            assert [s for s, n in steps.items() if n > 1] == [], f"{metric} logged twice at some step"
            assert sorted(steps) == expected, f"{metric} of {child.info.run_name}: steps {sorted(steps)}"
    return children


def wait_cpus_free(ray, cpus: float, within: float = 60.0) -> float:
    """Seconds until ``cpus`` CPUs are available again; fails past ``within`` (Ray's chaos-test bar)."""
    started = time.monotonic()
    while ray.available_resources().get("CPU", 0) < cpus and time.monotonic() - started < within:
        time.sleep(0.5)
    assert ray.available_resources().get("CPU", 0) == cpus, f"CPUs still held {within:.0f} s after the fault"
    return time.monotonic() - started
