"""Chaos: the runs folder's disk fills up mid-sweep, then space comes back.

The runs folder lives on a 96 MB tmpfs mounted for the test (root only; skipped elsewhere). Once
two trials have finished, a filler file takes the free space below ``SEQLAB_MIN_FREE_MB``.
Expectations (issue #18): the driver stops with a one-line error naming the folder and exit code 1,
and leaves no process behind; with the filler gone, ``seqlab run --resume`` finishes the sweep
with exactly its trials, one parent run and every (trial, metric, step) once.
"""

from __future__ import annotations

import shutil
import subprocess
import time

import psutil
import pytest

from tests.chaos.drivers import all_gone, assert_one_parent_and_every_step_once, done_trials, driver_seconds, finish, start
from tests.chaos.expect import record

pytestmark = [pytest.mark.chaos, pytest.mark.slow]  # two drivers, about a minute

SWEEP = """\
name: chaos-disk
workload: quadratic
objective: {metric: val/loss, mode: min}
search: {sampler: tpe, seed: 0, num_trials: 8, max_concurrent: 2}
parameters: {lr: {type: float, low: 0.01, high: 0.2, log: true}}
fixed: {steps: 20, eval_every: 4, sleep_s: 0.3}
tracking: {log_every: 1}
"""
CURVES = {"val/loss": [4, 8, 12, 16, 20], "train/loss": list(range(1, 21))}
FLOOR_MB = 16


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(mount)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here (needs root): {made.stderr.strip()[:200]}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill(disk, leave_mb: float):
    """A file that leaves about ``leave_mb`` free on ``disk``."""
    filler = disk / "filler.bin"
    chunk = b"\0" * 2**20
    with open(filler, "wb") as out:
        for _ in range(int(shutil.disk_usage(disk).free / 2**20 - leave_mb)):
            out.write(chunk)
    return filler


def test_a_full_disk_stops_the_sweep_with_a_clear_error_and_resume_finishes_it(tmp_path, small_disk):
    (tmp_path / "sweep.yaml").write_text(SWEEP)
    runs = small_disk / "runs"
    env = {"SEQLAB_MIN_FREE_MB": str(FLOOR_MB)}
    first = start(tmp_path, "run", "sweep.yaml", "--runs-dir", str(runs), env=env)
    deadline = time.monotonic() + 240
    while done_trials(first) < 2:
        assert first.poll() is None and time.monotonic() < deadline, "the sweep ended or stalled before the disk filled"
        time.sleep(0.1)
    family = psutil.Process(first.pid).children(recursive=True)
    filler = fill(small_disk, FLOOR_MB / 2)
    out = finish(first, timeout=120)
    waited = time.monotonic()
    assert first.returncode == 1, out[-3000:]
    said = [line for line in out.splitlines() if line.startswith("seqlab: disk full")]
    assert len(said) == 1, out[-3000:]
    line = said[0]
    assert str(runs.resolve()) in line and f"SEQLAB_MIN_FREE_MB = {FLOOR_MB}" in line, line
    assert "--resume" in line, line
    assert "Traceback" not in out, out[-3000:]
    assert all_gone(family) == [], "processes of the stopped driver outlived it"
    free_s = time.monotonic() - waited
    assert 2 <= done_trials(first) < 8

    filler.unlink()
    again = start(tmp_path, "run", "sweep.yaml", "--runs-dir", str(runs), "--resume", env=env)
    out = finish(again)
    seconds = driver_seconds(first, again)
    assert again.returncode == 0, out[-3000:]
    assert "trials: 8 completed" in out
    _, children = assert_one_parent_and_every_step_once(runs / "mlflow.db", "chaos-disk", 8, CURVES)
    record("runs folder's disk full", injected=1, finished=f"{len(children)}/8", duplicates=0, lost=0,
           seconds=seconds, free_s=free_s, baseline_s=None)
