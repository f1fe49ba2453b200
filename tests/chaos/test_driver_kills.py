"""Chaos: a `seqlab` driver SIGKILLed at random points, then run again with `--resume`.

A sweep's driver is killed three times: before the first trial (the run folder exists, Tune has
stored nothing), mid-sweep (a random moment after some trials finished) and during the final
summary (every trial finished, the driver still closing). A claim's driver is killed mid-run and
a pipelined job's driver between two checkpoints. Expectations (issue #18): the resumed run ends
with exactly its trials, one parent run, one child per trial and no (trial, metric, step) twice
(the job resumes from its last all-rank checkpoint); every process a killed driver started is
gone within 60 s, but Ray's two node agents, which wait out a 60 s timeout of Ray's own first
(within 90 s).
"""

from __future__ import annotations

import random
import re
import time

import pytest

from tests.chaos.drivers import (all_gone, assert_one_parent_and_every_step_once, done_trials, driver_seconds, finish,
                                 finished_trials, kill_when, start)
from tests.chaos.expect import baseline_seconds, record

pytestmark = [pytest.mark.chaos, pytest.mark.slow]  # a few minutes: CI runs the fast chaos tests only

SWEEP = """\
name: chaos-driver
workload: quadratic
objective: {metric: val/loss, mode: min}
search: {sampler: tpe, seed: 0, num_trials: 8, max_concurrent: 2}
parameters: {lr: {type: float, low: 0.01, high: 0.2, log: true}}
fixed: {steps: 20, eval_every: 4, sleep_s: 0.3}  # 6 s a trial: Tune's result.json lags the trials by seconds
tracking: {log_every: 1}
"""
CURVES = {"val/loss": [4, 8, 12, 16, 20], "train/loss": list(range(1, 21))}


def test_a_sweep_driver_killed_before_during_and_after_its_trials_resumes_to_exactly_its_trials(tmp_path):
    (tmp_path / "sweep.yaml").write_text(SWEEP)
    folder = tmp_path / "seqlab-runs" / "chaos-driver"
    rng = random.Random(5)

    first = start(tmp_path, "run", "sweep.yaml")  # killed once its run folder exists, before Tune stored anything
    orphans = kill_when(first, lambda: (folder / "seqlab-sweep.json").exists())
    assert all_gone(orphans) == [], "processes of the killed driver outlived it"

    second = start(tmp_path, "run", "sweep.yaml", "--resume")  # killed at a random moment after two trials finished
    pause = rng.uniform(0.0, 2.0)
    orphans = kill_when(second, lambda: done_trials(second) >= 2 and not time.sleep(pause))
    assert all_gone(orphans) == [], "processes of the killed driver outlived it"
    assert 2 <= done_trials(second) < 8

    third = start(tmp_path, "run", "sweep.yaml", "--resume")  # killed in its summary: every trial has finished
    orphans = kill_when(third, lambda: done_trials(third) == 8)
    waited = time.monotonic()
    assert all_gone(orphans) == [], "processes of the killed driver outlived it"
    free_s = time.monotonic() - waited

    last = start(tmp_path, "run", "sweep.yaml", "--resume")
    out = finish(last)
    seconds = driver_seconds(first, second, third, last)
    assert last.returncode == 0, out[-3000:]
    assert "trials: 8 completed" in out
    _, children = assert_one_parent_and_every_step_once(tmp_path / "seqlab-runs" / "mlflow.db", "chaos-driver", 8, CURVES)
    assert all(c.data.tags["seqlab.status"] == "completed" for c in children)
    assert finished_trials(folder, 20) == 8

    def uninterrupted() -> None:
        (tmp_path / "base").mkdir()
        (tmp_path / "base" / "sweep.yaml").write_text(SWEEP)
        assert finish(start(tmp_path / "base", "run", "sweep.yaml")) is not None

    record("sweep driver SIGKILLed (before, during, after trials)", injected=3, finished=f"{len(children)}/8",
           duplicates=0, lost=0, seconds=seconds, free_s=free_s, baseline_s=baseline_seconds(uninterrupted))


CLAIM = """\
name: chaos-claim
paper: "a probe claim"
metric: val/loss
calibration_seeds: [100, 101, 102]
seeds: [0, 1, 2]
max_concurrent: 2
arms:
  small: {workload: quadratic, fixed: {lr: 0.05, steps: 20, eval_every: 4, sleep_s: 0.3}}
  large: {workload: quadratic, fixed: {lr: 0.2, steps: 20, eval_every: 4, sleep_s: 0.3}}
expect:
  - "mean(large) <= mean(small)"
tracking: {log_every: 1}
"""


def test_a_claim_driver_killed_mid_run_is_finished_by_resume_without_repeating_a_trial(tmp_path):
    (tmp_path / "claim.yaml").write_text(CLAIM)
    first = start(tmp_path, "claim", "claim.yaml")
    orphans = kill_when(first, lambda: done_trials(first) >= 2)
    waited = time.monotonic()
    assert all_gone(orphans) == [], "processes of the killed driver outlived it"
    free_s = time.monotonic() - waited
    assert 2 <= done_trials(first) < 6

    again = start(tmp_path, "claim", "claim.yaml", "--resume")
    out = finish(again)
    seconds = driver_seconds(first, again)
    assert again.returncode in (0, 1), out[-3000:]  # PASS or FAIL: a verdict, from all six trials
    assert re.search(r"\b(PASS|FAIL)\b", out), out[-2000:]
    parent, children = assert_one_parent_and_every_step_once(
        tmp_path / "seqlab-runs" / "mlflow.db", "claims", 6, CURVES)
    assert parent.info.run_name == "claim-chaos-claim" and "seqlab.verdict" in parent.data.tags
    assert parent.data.tags["seqlab.verdict"] in ("PASS", "FAIL") and "failed" not in parent.data.tags["seqlab.verdict_reason"]

    def uninterrupted() -> None:
        (tmp_path / "base").mkdir()
        (tmp_path / "base" / "claim.yaml").write_text(CLAIM)
        finish(start(tmp_path / "base", "claim", "claim.yaml"))

    record("claim driver SIGKILLed mid-run", injected=1, finished=f"{len(children)}/6", duplicates=0, lost=0,
           seconds=seconds, free_s=free_s, baseline_s=baseline_seconds(uninterrupted))


JOB = """\
kind: job
name: chaos-job
workload: gpipe
config: {steps: 24, eval_every: 8, n_layers: 2, d_model: 32, batch_size: 8}
parallelism: {pipeline_stages: 2, micro_batches: 2}
resources: {cpu: 1, gpu: 0}
checkpoints: {every: 4, keep: 2}
report_every: 1
tracking: {experiment: chaos-jobs}
"""
STEP = re.compile(r"chaos-job step (\d+):")


def test_a_job_driver_killed_between_checkpoints_resumes_from_the_last_one(tmp_path):
    (tmp_path / "job.yaml").write_text(JOB)
    first = start(tmp_path, "run", "job.yaml")
    step = lambda: max((int(m.group(1)) for m in map(STEP.search, list(first.lines)) if m), default=0)  # noqa: E731
    orphans = kill_when(first, lambda: step() >= 10, timeout=400)  # between the checkpoints at 8 and 12
    waited = time.monotonic()
    assert all_gone(orphans) == [], "processes of the killed driver outlived it"
    free_s = time.monotonic() - waited
    killed_at = step()

    again = start(tmp_path, "run", "job.yaml", "--resume")
    out = finish(again, timeout=400)
    seconds = driver_seconds(first, again)
    assert again.returncode == 0, out[-3000:]
    resumed = [int(m.group(1)) for m in map(STEP.search, out.splitlines()) if m]
    # from a checkpoint, not step 0 (its workers may have trained on for a few steps past the kill)
    assert resumed and resumed[0] % 4 == 1 and resumed[0] > 1, (killed_at, resumed[:3])
    assert resumed[-1] == 24
    assert_one_parent_and_every_step_once(tmp_path / "seqlab-runs" / "mlflow.db", "chaos-jobs", 1,
                                          {"train/loss": list(range(1, 25))})  # fmt: skip

    def uninterrupted() -> None:
        (tmp_path / "base").mkdir()
        (tmp_path / "base" / "job.yaml").write_text(JOB)
        finish(start(tmp_path / "base", "run", "job.yaml"), timeout=400)

    record("pipelined job driver SIGKILLed", injected=1, finished="1/1", duplicates=0, lost=0,
           seconds=seconds, free_s=free_s, baseline_s=baseline_seconds(uninterrupted))
