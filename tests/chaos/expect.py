"""What every chaos test checks after its fault: nothing lost, nothing twice, resources back.

With ``SEQLAB_CHAOS_RECORD`` set to a file, each test also appends one JSON line per fault (what
it injected and what it found); ``benchmarks/chaos.py`` runs the suite that way and prints the table.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter


def audit_steps(client, runs, curves: dict[str, list[int]]) -> tuple[int, int, int]:
    """(duplicated, missing, unexpected) (run, metric, step) rows over ``runs`` against ``curves``."""
    duplicates = lost = unexpected = 0
    for run in runs:
        for metric, expected in curves.items():
            steps = Counter(m.step for m in client.get_metric_history(run.info.run_id, metric))
            duplicates += sum(n - 1 for n in steps.values())
            lost += len(set(expected) - set(steps))
            unexpected += len(set(steps) - set(expected))
    return duplicates, lost, unexpected


def assert_steps_once(client, runs, curves: dict[str, list[int]]) -> tuple[int, int]:
    """Every run holds exactly the steps of ``curves[metric]``, each once; the (duplicated,
    missing) counts, 0 and 0 when it passes, for :func:`record`."""
    duplicates, lost, unexpected = audit_steps(client, runs, curves)
    assert (duplicates, lost, unexpected) == (0, 0, 0), \
        f"(run, metric, step) rows: {duplicates} twice, {lost} missing, {unexpected} at steps not expected"
    return duplicates, lost


def assert_every_step_once(outcome, curves: dict[str, list[int]], trials: int) -> tuple[list, int, int]:
    """One child run per trial, each with ``curves[metric]`` steps exactly once.

    Returns the children and the (duplicated, missing) counts (both 0 when it passes).
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient(outcome.tracking_uri)
    children = client.search_runs([outcome.experiment_id], f"tags.`mlflow.parentRunId` = '{outcome.parent_run_id}'")
    assert len(children) == trials, f"{len(children)} child runs for {trials} trials"
    return (children, *assert_steps_once(client, children, curves))


def wait_cpus_free(ray, cpus: float, within: float = 60.0) -> float:
    """Seconds until ``cpus`` CPUs are available again; fails past ``within`` (Ray's chaos-test bar)."""
    started = time.monotonic()
    while ray.available_resources().get("CPU", 0) < cpus and time.monotonic() - started < within:
        time.sleep(0.5)
    assert ray.available_resources().get("CPU", 0) == cpus, f"CPUs still held {within:.0f} s after the fault"
    return time.monotonic() - started


def recording() -> bool:
    """Whether this run records its faults for ``benchmarks/chaos.py`` (and so times baselines too)."""
    return bool(os.environ.get("SEQLAB_CHAOS_RECORD"))


def record(fault: str, *, injected: int, finished: str, duplicates: int, lost: int, seconds: float,
           baseline_s: float | None, free_s: float) -> None:
    """Append one row of the chaos table (a no-op unless ``SEQLAB_CHAOS_RECORD`` names a file).

    ``seconds`` is the faulted run's wall time (all its drivers together), ``baseline_s`` the same
    work uninterrupted, ``free_s`` how long resources took to come back after the fault ended.
    """
    path = os.environ.get("SEQLAB_CHAOS_RECORD")
    if path:
        row = dict(fault=fault, injected=injected, finished=finished, duplicates=duplicates, lost=lost,
                   seconds=round(seconds, 1), baseline_s=None if baseline_s is None else round(baseline_s, 1),
                   free_s=round(free_s, 1))  # fmt: skip
        with open(path, "a") as out:
            out.write(json.dumps(row) + "\n")


def baseline_seconds(run) -> float | None:
    """Wall time of ``run()``, the same work without the fault; only when recording (else None)."""
    if not recording():
        return None
    started = time.monotonic()
    run()
    return time.monotonic() - started
