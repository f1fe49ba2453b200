"""Safe defaults: the Jobs API needs the token, the dashboard and MLflow listen on 127.0.0.1 unless
told otherwise (and then say so), MLflow refuses foreign Host headers, the token never travels in a
job, and a sweep file cannot name code to import."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator import auth, cluster, ray_jobs
from orchestrator.cli import app
from orchestrator.yamlio import SpecError


@pytest.fixture(scope="module")
def local():
    where = Path(tempfile.mkdtemp(prefix="sq", dir="/tmp"))
    old = os.environ.get("SEQLAB_HOME")
    os.environ["SEQLAB_HOME"] = str(where)
    opts = cluster.UpOptions(dashboard_port=cluster.free_port(), mlflow_port=cluster.free_port(), ray_port=cluster.free_port(),
                             client_port=cluster.free_port(), num_cpus=1)  # fmt: skip
    try:
        with cluster.running(opts, where) as state:
            yield state, opts
    finally:
        if old is None:
            os.environ.pop("SEQLAB_HOME", None)
        else:
            os.environ["SEQLAB_HOME"] = old


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def test_jobs_api_answers_401_without_the_token(local):
    state, _ = local
    jobs = f"{state['ray']['dashboard']}/api/jobs/"
    assert _status(jobs) == 401
    assert _status(jobs, {"Authorization": "Bearer " + "0" * 64}) in (401, 403)
    assert _status(jobs, auth.headers()) == 200


def test_seqlab_with_a_wrong_token_is_refused_with_a_clear_message(local, monkeypatch):
    state, _ = local
    monkeypatch.setenv("RAY_AUTH_TOKEN", "f" * 64)
    result = CliRunner().invoke(app, ["status", "--address", state["ray"]["dashboard"]])
    assert result.exit_code == 1
    assert "refused the token" in result.output or "401" in result.output


def _listening(state) -> dict[int, set[str]]:
    import psutil

    out: dict[int, set[str]] = {}
    for name in ("ray", "mlflow"):
        root = psutil.Process(state[name]["pid"])
        for proc in [root, *root.children(recursive=True)]:
            try:
                for conn in proc.net_connections(kind="inet"):
                    if conn.status == psutil.CONN_LISTEN:
                        out.setdefault(conn.laddr.port, set()).add(conn.laddr.ip)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
    return out


def test_dashboard_and_mlflow_listen_on_loopback_only_by_default(local):
    state, opts = local
    ports = _listening(state)
    assert ports.get(opts.dashboard_port) == {"127.0.0.1"}
    assert ports.get(opts.mlflow_port) == {"127.0.0.1"}


def test_mlflow_refuses_requests_for_other_host_names(local):
    state, _ = local
    api = f"{state['mlflow']['url']}/api/2.0/mlflow/experiments/search?max_results=1"
    assert _status(api) == 200
    assert _status(api, {"Host": "attacker.example.com"}) in (400, 403)  # DNS rebinding


def test_up_binds_loopback_by_default_and_warns_when_told_otherwise():
    runner = CliRunner()
    default = runner.invoke(app, ["up", "--dry-run"])
    assert default.exit_code == 0
    assert "listen on 127.0.0.1 only" in default.output
    assert "--dashboard-host=127.0.0.1" in default.output and "--host 127.0.0.1" in default.output
    exposed = runner.invoke(app, ["up", "--dry-run", "--host", "0.0.0.0"])
    assert exposed.exit_code == 0
    assert "WARNING: binding the Ray dashboard and MLflow to 0.0.0.0" in exposed.output
    assert "--dashboard-host=0.0.0.0" in exposed.output


def test_the_token_never_travels_in_a_job(tmp_path):
    (tmp_path / "s.yaml").write_text(textwrap.dedent("""\
        name: tokenless
        workload: quadratic
        objective: {metric: val/loss, mode: min}
        parameters: {lr: {type: float, low: 1.0e-3, high: 0.3}}
    """))
    sub = ray_jobs.build_submission(tmp_path / "s.yaml", working_dir=tmp_path, runs_dir="/r", mlflow_uri="http://127.0.0.1:5000")
    sent = json.dumps([sub.entrypoint, sub.runtime_env, sub.metadata])
    assert auth.ensure_token() not in sent and "RAY_AUTH_TOKEN" not in sent


@pytest.mark.parametrize(
    "workload",
    ["evil_seqlab_probe", "evil_seqlab_probe:WORKLOAD", "os:system", "workloads.quadratic:WORKLOAD", "workloads.quadratic"],
)
def test_a_sweep_file_cannot_name_code_to_import(tmp_path, monkeypatch, workload):
    from orchestrator.spec import load_sweep

    marker = tmp_path / "imported"
    (tmp_path / "evil_seqlab_probe.py").write_text(f"open({str(marker)!r}, 'w').write('pwned')\nWORKLOAD = None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"name: x\nworkload: '{workload}'\nobjective: {{metric: val/loss, mode: min}}\n"
                     "parameters: {lr: {type: float, low: 0.001, high: 0.1}}\n")  # fmt: skip
    with pytest.raises(SpecError, match="unknown workload"):
        load_sweep(sweep)
    assert not marker.exists() and "evil_seqlab_probe" not in sys.modules


def test_yaml_tags_that_would_run_code_are_refused(tmp_path):
    from orchestrator.spec import load_sweep

    marker = tmp_path / "ran"
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"name: !!python/object/apply:os.system ['touch {marker}']\nworkload: quadratic\n")
    with pytest.raises(SpecError):
        load_sweep(sweep)
    assert not marker.exists()
