"""A `seqlab` driver as a child process: start it, SIGKILL it at a chosen moment, check what it left.

Shared by the chaos tests that kill or starve the driver itself (not its trials).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest

from tests.chaos.expect import assert_steps_once

SEQLAB = [sys.executable, "-m", "orchestrator.cli"]

#: Ray's node agents learn of their raylet's death at once but first try to tell the (dead) GCS,
#: with a timeout fixed at 60 s inside Ray (``publish_error_to_driver``); they hold no resources.
RAY_AGENTS = ("ray::DashboardAgent", "ray::RuntimeEnvAgent")


def start(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``seqlab <args> --num-cpus 2`` in ``cwd``, stdout and stderr merged.

    A thread collects the output as it comes into ``proc.lines`` (the progress lines are the
    timely view of a run: Tune writes result.json seconds late); ``proc.started`` and, once it
    ends or is killed, ``proc.ended`` time the driver.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen([*SEQLAB, *args, "--num-cpus", "2"], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    proc.started, proc.ended, proc.lines = time.monotonic(), None, []
    proc.reader = threading.Thread(target=lambda: proc.lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    proc.reader.start()
    return proc


def output(proc: subprocess.Popen) -> str:
    return "".join(proc.lines)


def finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    """Wait for the driver to end; its output."""
    proc.wait(timeout)
    proc.ended = time.monotonic()
    proc.reader.join(10)
    return output(proc)


def done_trials(proc: subprocess.Popen) -> int:
    """Trials finished so far, by the driver's own progress line (``name: 3/8 done | ...``)."""
    counts = [int(m.group(1)) for m in map(PROGRESS.search, list(proc.lines)) if m]
    return max(counts, default=0)


PROGRESS = re.compile(r": (\d+)/\d+ done \|")


def driver_seconds(*procs: subprocess.Popen) -> float:
    """Wall time of the drivers, each from its start to its end or kill (waits between them excluded)."""
    return sum(p.ended - p.started for p in procs)


def finished_trials(folder: Path, steps: int) -> int:
    """Trials of the Tune run in ``folder`` whose result.json reached ``steps``."""
    done = 0
    for result in folder.glob("*/result.json"):
        lines = [json.loads(line) for line in result.read_text().splitlines() if line.strip()]
        done += bool(lines) and lines[-1].get("step") == steps
    return done


def kill_when(proc: subprocess.Popen, ready, timeout: float = 240) -> list[psutil.Process]:
    """SIGKILL the driver once ``ready()``; returns the processes it had started."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the driver ended or stalled before the kill point: {output(proc)[-2000:]}")
        time.sleep(0.05)
    family = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    proc.ended = time.monotonic()
    return family


def all_gone(family: list[psutil.Process], within: float = 60.0, agents_within: float = 90.0) -> list[str]:
    """The processes of ``family`` (pid and command) still running after ``within`` seconds
    (Ray's agents: ``agents_within``).

    A zombie has exited: orphans are reparented to PID 1, and a container's PID 1 may never reap
    them, so exited-but-unreaped processes count as gone.
    """
    started = time.monotonic()
    while True:
        waited = time.monotonic() - started
        alive = [f"{p.pid} {_command(p)}" for p in family if _running(p)]
        late = [line for line in alive if waited > (agents_within if line.split(" ", 1)[1] in RAY_AGENTS else within)]
        if not alive or late:
            return late
        time.sleep(0.5)


def _command(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline()).strip()[:120]
    except psutil.NoSuchProcess:
        return "?"


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def assert_one_parent_and_every_step_once(store: Path, experiment: str, children: int, curves: dict[str, list[int]]):
    """The experiment in the SQLite store ``store`` holds one finished parent run and ``children``
    child runs, one per trial, each with every step of ``curves[metric]`` exactly once."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{store}")
    [found] = [e for e in client.search_experiments() if e.name == experiment]
    runs = client.search_runs([found.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    kids = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED", [(p.info.run_name, p.info.status) for p in parents]
    assert len(kids) == children, f"{len(kids)} child runs for {children} trials"
    assert max(Counter(c.data.tags["seqlab.trial_id"] for c in kids).values()) == 1, "a trial has two child runs"
    assert [c.info.run_name for c in kids if c.info.status != "FINISHED"] == [], "child runs left unfinished"
    assert_steps_once(client, kids, curves)
    return parents[0], kids
