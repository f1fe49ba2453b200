"""Chaos: trial worker processes SIGKILLed at random moments during a sweep.

A killer thread waits a random time (seeded), picks one of the live trial worker processes of
this test's own Ray and SIGKILLs it, three times. Expectations (issue #18): every trial ends
completed; a killed trial resumes from its last checkpoint (its MLflow step history never
restarts); every (trial, metric, step) is in MLflow exactly once; the retries are within
``max_failures`` and reported (``seqlab.retries``); all CPUs are free again within 60 s.
"""

from __future__ import annotations

import random
import signal
import textwrap
import threading
import time

import psutil
import pytest

from orchestrator.runs import run_sweep
from orchestrator.spec import load_sweep
from tests.chaos.expect import assert_every_step_once, baseline_seconds, record, wait_cpus_free

pytestmark = [pytest.mark.chaos, pytest.mark.usefixtures("ray_local")]

SWEEP = """\
name: chaos-trials
workload: quadratic
objective: {metric: val/loss, mode: min}
search: {sampler: random, seed: 3, num_trials: 6, max_concurrent: 2}
parameters: {lr: {type: float, low: 0.01, high: 0.2, log: true}}
fixed: {steps: 24, eval_every: 2, sleep_s: 0.12}
limits: {max_failures: 3}
tracking: {log_every: 1}
"""


def trial_workers() -> list[psutil.Process]:
    """Live Tune trial actors of this process's Ray (function trainables run as ImplicitFunc)."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if any("ImplicitFunc" in part for part in proc.cmdline()):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def killer(kills: int, seed: int, stop: threading.Event, log: list[tuple[float, int]]) -> None:
    rng, started = random.Random(seed), time.monotonic()
    while len(log) < kills and not stop.is_set():
        if stop.wait(rng.uniform(1.0, 3.0)):
            return
        victims = trial_workers()
        if victims:
            victim = rng.choice(victims)
            try:
                victim.send_signal(signal.SIGKILL)
                log.append((time.monotonic() - started, victim.pid))
            except psutil.Error:
                continue


def test_trials_killed_at_random_resume_from_their_checkpoints_and_nothing_is_lost(tmp_path, ray_local):
    path = tmp_path / "sweep.yaml"
    path.write_text(textwrap.dedent(SWEEP))
    spec, text = load_sweep(path)
    stop, log = threading.Event(), []
    thread = threading.Thread(target=killer, args=(3, 7, stop, log), daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        outcome = run_sweep(spec, text, runs_dir=tmp_path / "runs")
    finally:
        stop.set()
        thread.join(10)
    seconds = time.monotonic() - started
    assert len(log) >= 2, f"the killer found too few trial processes to kill: {log}"

    assert sorted(t.outcome for t in outcome.trials) == ["completed"] * 6
    retries = sum(t.retries for t in outcome.trials)
    assert 1 <= retries <= len(log)  # a kill between trials (a reused, idle actor) costs no retry
    assert all(t.retries <= 3 for t in outcome.trials)

    children, duplicates, lost = assert_every_step_once(
        outcome, {"val/loss": list(range(2, 25, 2)), "train/loss": list(range(1, 25))}, 6)
    for child in children:  # resumed where it stopped: no step lost, none repeated
        trial = next(t for t in outcome.trials if t.trial_id == child.data.tags["seqlab.trial_id"])
        assert child.data.tags.get("seqlab.retries", "0") == str(trial.retries)
        assert child.data.tags["seqlab.status"] == "completed" and child.info.status == "FINISHED"
    free_s = wait_cpus_free(ray_local, 2)
    record("trial workers SIGKILLed", injected=len(log), finished=f"{len(children)}/6", duplicates=duplicates,
           lost=lost, seconds=seconds, free_s=free_s,
           baseline_s=baseline_seconds(lambda: run_sweep(spec, text, runs_dir=tmp_path / "baseline")))
