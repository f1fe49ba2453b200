"""Chaos: the MLflow store unavailable mid-sweep, then back.

Two outages (issue #18): the SQLite file locked by another process, and an MLflow tracking
server stopped and started again. Expectations: the sweep finishes, the writer warns that it is
retrying, every (trial, metric, step) reported during the outage reaches MLflow exactly once,
the summary names the outage, and all CPUs are free within 60 s.

MLflow's SQLite store waits up to 20 s on a lock by itself, so a shorter lock only delays the
writer; the lock here lasts 25 s so that writes fail and Seqlab's own retry is what saves them.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from orchestrator.cluster import _bin, free_port
from orchestrator.runs import run_sweep
from orchestrator.spec import load_sweep
from tests.chaos.expect import assert_every_step_once, baseline_seconds, record, wait_cpus_free

pytestmark = [pytest.mark.chaos, pytest.mark.usefixtures("ray_local")]

STEPS = 30
SWEEP = f"""\
name: chaos-store
workload: quadratic
objective: {{metric: val/loss, mode: min}}
search: {{sampler: random, seed: 1, num_trials: 4, max_concurrent: 2}}
parameters: {{lr: {{type: float, low: 0.01, high: 0.2, log: true}}}}
fixed: {{steps: {STEPS}, eval_every: 3, sleep_s: 0.3}}
tracking: {{log_every: 1}}
"""
CURVES = {"val/loss": list(range(3, STEPS + 1, 3)), "train/loss": list(range(1, STEPS + 1))}
LOCK_S = 25.0


def sweep_file(tmp_path: Path) -> tuple:
    path = tmp_path / "sweep.yaml"
    path.write_text(textwrap.dedent(SWEEP))
    return load_sweep(path)


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def child_runs(uri: str) -> int:
    """Child runs in the store so far (0 while it cannot be read)."""
    from mlflow.tracking import MlflowClient

    try:
        client = MlflowClient(uri)
        return sum(len(client.search_runs([e.experiment_id], "tags.`seqlab.trial_id` != ''"))
                   for e in client.search_experiments())  # fmt: skip
    except Exception:
        return 0


def check_outage_ridden_out(fault: str, outcome, seconds: float, baseline, caplog, ray) -> None:
    assert sorted(t.outcome for t in outcome.trials) == ["completed"] * 4
    _, duplicates, lost = assert_every_step_once(outcome, CURVES, 4)
    assert [e for e in outcome.tracking_errors if "none lost" not in e] == [], outcome.tracking_errors
    assert any("none lost" in e for e in outcome.tracking_errors), "the summary does not name the outage"
    said = [r.getMessage() for r in caplog.records if r.name == "seqlab"]
    assert any("retrying" in m for m in said) and any("back after" in m for m in said), said
    free_s = wait_cpus_free(ray, 2)
    record(fault, injected=1, finished=f"{len(outcome.trials)}/4", duplicates=duplicates, lost=lost,
           seconds=seconds, free_s=free_s, baseline_s=baseline_seconds(baseline))


def test_sqlite_store_locked_by_another_process(tmp_path, ray_local, caplog):
    caplog.set_level(logging.WARNING, logger="seqlab")
    spec, text = sweep_file(tmp_path)
    db = tmp_path / "runs" / "mlflow.db"
    locker: list[subprocess.Popen] = []

    def lock_when_trials_run() -> None:
        wait_for(lambda: db.exists() and child_runs(f"sqlite:///{db}") >= 2, 120, "two child runs")
        hold = f"import sqlite3, time; c = sqlite3.connect({str(db)!r}, isolation_level=None); " \
               f"c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep({LOCK_S}); c.execute('ROLLBACK')"
        locker.append(subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True))

    thread = threading.Thread(target=lock_when_trials_run, daemon=True)
    thread.start()
    started = time.monotonic()
    outcome = run_sweep(spec, text, runs_dir=tmp_path / "runs")
    seconds = time.monotonic() - started
    thread.join(5)
    assert locker and locker[0].wait(60) == 0 and locker[0].stdout.read().strip() == "locked"
    check_outage_ridden_out(f"SQLite store locked {LOCK_S:.0f} s", outcome, seconds,
                            lambda: run_sweep(spec, text, runs_dir=tmp_path / "baseline"), caplog, ray_local)


def start_server(where: Path, port: int) -> subprocess.Popen:
    cmd = [_bin("mlflow"), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
           "--backend-store-uri", f"sqlite:///{where / 'mlflow.db'}",
           "--serve-artifacts", "--artifacts-destination", str(where / "mlartifacts")]  # fmt: skip
    log = open(where / f"server-{time.monotonic_ns()}.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def healthy() -> bool:
        assert proc.poll() is None, (where / log.name).read_text()[-2000:]
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).status == 200
        except OSError:
            return False

    wait_for(healthy, 90, "the MLflow server")
    return proc


def stop_server(proc: subprocess.Popen) -> None:
    import os

    os.killpg(proc.pid, signal.SIGTERM)  # the server and its uvicorn worker
    proc.wait(30)


def test_mlflow_server_stopped_and_restarted_mid_sweep(tmp_path, ray_local, caplog, monkeypatch):
    caplog.set_level(logging.WARNING, logger="seqlab")
    port, where = free_port(), tmp_path / "server"
    where.mkdir()
    uri = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    servers = [start_server(where, port)]
    spec, text = sweep_file(tmp_path)

    def restart_when_trials_run() -> None:
        wait_for(lambda: child_runs(uri) >= 2, 120, "two child runs")
        stop_server(servers[0])
        time.sleep(8)  # down long enough for several reports to queue up
        servers.append(start_server(where, port))

    thread = threading.Thread(target=restart_when_trials_run, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        outcome = run_sweep(spec, text, runs_dir=tmp_path / "runs")
        seconds = time.monotonic() - started
        thread.join(120)
        assert len(servers) == 2, "the server was never restarted"
        check_outage_ridden_out("MLflow server down 8 s", outcome, seconds,
                                lambda: run_sweep(spec, text, runs_dir=tmp_path / "baseline"), caplog, ray_local)
    finally:
        for proc in servers:
            if proc.poll() is None:
                stop_server(proc)
