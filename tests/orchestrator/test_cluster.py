"""`seqlab up`, `submit`, `status`, `logs`, `stop`, `down` against a real local Ray head and MLflow server.

One `up` per module (private SEQLAB_HOME, free ports, 2 CPUs), always taken down at the end.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator import cluster, ray_jobs
from orchestrator.cli import app

PROBE = """\
# Probe sweep for the operations tests. Run: seqlab submit probe.yaml
name: ops-probe
workload: quadratic
objective: {metric: val/loss, mode: min}
search: {sampler: random, seed: 0, num_trials: 3, max_concurrent: 2}
parameters: {lr: {type: float, low: 1.0e-3, high: 0.3, log: true}}
fixed: {steps: 6, eval_every: 2}
"""


def make_workdir(root: Path) -> Path:
    """A working directory with a sweep and the kinds of files a job must not carry."""
    (root / "probe.yaml").write_text(PROBE)
    (root / "seqlab-runs" / "old").mkdir(parents=True)
    (root / "seqlab-runs" / "old" / "result.json").write_text("{}")
    (root / ".venv").mkdir()
    (root / ".venv" / "big.bin").write_bytes(b"0" * 1024)
    (root / "mlflow.db").write_bytes(b"sqlite")
    return root


@pytest.fixture(scope="module")
def home():
    where = Path(tempfile.mkdtemp(prefix="sq", dir="/tmp"))  # short: Ray's socket paths live under it
    old = os.environ.get("SEQLAB_HOME")
    os.environ["SEQLAB_HOME"] = str(where)
    yield where
    if old is None:
        os.environ.pop("SEQLAB_HOME", None)
    else:
        os.environ["SEQLAB_HOME"] = old


@pytest.fixture(scope="module")
def opts():
    return cluster.UpOptions(dashboard_port=cluster.free_port(), mlflow_port=cluster.free_port(), ray_port=cluster.free_port(),
                             client_port=cluster.free_port(), num_cpus=2)  # fmt: skip


@pytest.fixture(scope="module")
def local(home, opts):
    with cluster.running(opts, home) as state:
        yield state


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return make_workdir(tmp_path_factory.mktemp("wd"))


@pytest.fixture(scope="module")
def finished_job(local, workdir):
    """The probe sweep submitted through the CLI and run to its end."""
    result = CliRunner().invoke(app, ["submit", str(workdir / "probe.yaml"), "--working-dir", str(workdir)])
    assert result.exit_code == 0, result.output
    status = ray_jobs.wait(local["ray"]["dashboard"], "seqlab-ops-probe", timeout=300)
    return result.output, status


def test_job_id_is_derived_from_the_sweep_name():
    assert ray_jobs.submission_id("ops-probe") == "seqlab-ops-probe"
    assert ray_jobs.submission_id("a b/c") == "seqlab-a-b-c"


def test_packaged_working_dir_leaves_out_run_outputs_and_environments(workdir, tmp_path):
    from ray._private.runtime_env.packaging import create_package

    target = tmp_path / "pkg.zip"
    create_package(str(workdir), target, include_gitignore=True, excludes=cluster.EXCLUDES)
    names = zipfile.ZipFile(target).namelist()
    assert "probe.yaml" in names
    assert not [n for n in names if n.startswith(("seqlab-runs", ".venv")) or n.endswith(".db")], names


def test_submission_modes_map_to_run_resume_and_fresh(workdir):
    new = ray_jobs.build_submission(workdir / "probe.yaml", working_dir=workdir, runs_dir="/r", mlflow_uri="http://127.0.0.1:1")
    resume = ray_jobs.build_submission(workdir / "probe.yaml", working_dir=workdir, runs_dir="/r", mlflow_uri=None, mode="resume")
    fresh = ray_jobs.build_submission(workdir / "probe.yaml", working_dir=workdir, runs_dir="/r", mlflow_uri=None, mode="fresh")
    assert new.entrypoint == "python -m orchestrator.cli run probe.yaml --runs-dir /r"
    assert resume.entrypoint.endswith("run probe.yaml --resume --runs-dir /r")
    assert "--fresh" in fresh.entrypoint
    assert new.metadata == {"job_name": "ops-probe", "seqlab.sweep": "ops-probe", "seqlab.workload": "quadratic", "seqlab.kind": "sweep",
                            "seqlab.file": "probe.yaml", "seqlab.mode": "new"}  # fmt: skip
    assert new.runtime_env["env_vars"]["MLFLOW_TRACKING_URI"] == "http://127.0.0.1:1"
    assert "MLFLOW_TRACKING_URI" not in resume.runtime_env["env_vars"]


def test_a_file_outside_the_working_dir_is_refused(workdir, tmp_path):
    from orchestrator.yamlio import SpecError

    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(PROBE)
    with pytest.raises(SpecError, match="outside the working directory"):
        ray_jobs.build_submission(outside, working_dir=workdir, runs_dir="/r", mlflow_uri=None)


def test_up_twice_says_it_is_already_up(local, opts):
    result = CliRunner().invoke(app, ["up", "--dashboard-port", str(opts.dashboard_port), "--mlflow-port", str(opts.mlflow_port),
                                      "--ray-port", str(opts.ray_port), "--client-port", str(opts.client_port)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "already up" in result.output
    assert local["ray"]["dashboard"] in result.output and local["mlflow"]["url"] in result.output
    assert cluster.read_state()["ray"]["pid"] == local["ray"]["pid"]


def test_submitted_sweep_runs_as_a_ray_job_and_logs_to_the_clusters_mlflow(local, finished_job):
    output, status = finished_job
    assert "submitted seqlab-ops-probe" in output
    assert f"{local['ray']['dashboard']}/#/jobs/seqlab-ops-probe" in output
    assert status == "SUCCEEDED", ray_jobs.logs(local["ray"]["dashboard"], "seqlab-ops-probe")[-3000:]
    info = ray_jobs.job_info(local["ray"]["dashboard"], "seqlab-ops-probe")
    assert info["metadata"]["seqlab.sweep"] == "ops-probe" and info["metadata"]["seqlab.workload"] == "quadratic"

    from mlflow.tracking import MlflowClient

    client = MlflowClient(local["mlflow"]["url"])
    parents = client.search_runs([e.experiment_id for e in client.search_experiments()], "tags.`seqlab.sweep` = 'ops-probe'")
    assert len(parents) == 1
    kids = client.search_runs([parents[0].info.experiment_id], f"tags.`mlflow.parentRunId` = '{parents[0].info.run_id}'")
    assert len(kids) == 3 and all("val/loss" in k.data.metrics for k in kids)


def test_status_and_logs_come_through_the_jobs_api(local, finished_job):
    runner = CliRunner()
    table = runner.invoke(app, ["status"])
    assert table.exit_code == 0
    row = next(line for line in table.output.splitlines() if line.startswith("seqlab-ops-probe "))
    assert "SUCCEEDED" in row and "ops-probe" in row and "quadratic" in row
    one = runner.invoke(app, ["status", "seqlab-ops-probe"])
    assert "SUCCEEDED" in one.output and "seqlab.workload: quadratic" in one.output
    logs = runner.invoke(app, ["logs", "seqlab-ops-probe", "--follow"])
    assert logs.exit_code == 0
    assert "trials: 3 completed" in logs.output and logs.output.rstrip().endswith("seqlab-ops-probe: SUCCEEDED")
    missing = runner.invoke(app, ["status", "no-such-job"])
    assert missing.exit_code == 1 and "no-such-job" in missing.output


def test_same_sweep_is_not_submitted_twice_unless_forced_and_stop_ends_it(local, finished_job, workdir):
    runner = CliRunner()
    again = runner.invoke(app, ["submit", str(workdir / "probe.yaml"), "--working-dir", str(workdir)])
    assert again.exit_code == 1
    assert "already ran as seqlab-ops-probe" in again.output and "--resume" in again.output
    forced = runner.invoke(app, ["submit", str(workdir / "probe.yaml"), "--working-dir", str(workdir), "--force"])
    assert forced.exit_code == 0, forced.output
    assert "submitted seqlab-ops-probe-fresh2" in forced.output
    address = local["ray"]["dashboard"]
    assert "--fresh" in ray_jobs.job_info(address, "seqlab-ops-probe-fresh2")["entrypoint"]
    stopped = runner.invoke(app, ["stop", "seqlab-ops-probe-fresh2"])
    assert stopped.exit_code == 0
    assert ray_jobs.wait(address, "seqlab-ops-probe-fresh2", timeout=120) in ("STOPPED", "SUCCEEDED")


def test_a_sweep_whose_run_folder_exists_is_refused_before_it_is_submitted(local, workdir):
    # up; submit; down; up; submit: the new cluster has no record of the job, the folder remains
    (workdir / "leftover.yaml").write_text(PROBE.replace("name: ops-probe", "name: ops-leftover"))
    folder = Path(local["runs_dir"]) / "ops-leftover"
    folder.mkdir(parents=True)
    (folder / "seqlab-sweep.json").write_text("{}")
    result = CliRunner().invoke(app, ["submit", str(workdir / "leftover.yaml"), "--working-dir", str(workdir)])
    assert result.exit_code == 1, result.output
    assert f"already has a run in {folder}" in result.output and "--resume" in result.output and "--force" in result.output
    assert all(j["job_id"] != "seqlab-ops-leftover" for j in ray_jobs.jobs(local["ray"]["dashboard"]))


BOARD_CLAIM = """\
name: ops-board-{k}
paper: "probe paper"
metric: val/loss
calibration_seeds: [100]
seeds: [0, 1]
max_concurrent: 1
arms:
  bowl: {{workload: quadratic, fixed: {{steps: 4, eval_every: 2}}}}
expect:
  - "mean(bowl) < 1.0e9"
"""


def test_a_folder_of_claims_is_submitted_as_one_board_job(workdir):
    board = workdir / "board"
    board.mkdir(exist_ok=True)
    for k in range(2):
        (board / f"c{k}.yaml").write_text(BOARD_CLAIM.format(k=k))
    sub = ray_jobs.build_submission(board, working_dir=workdir, runs_dir="/r", mlflow_uri=None)
    assert sub.entrypoint == "python -m orchestrator.cli claims --dir board --runs-dir /r --report /r/board-board.md"
    assert sub.metadata["seqlab.kind"] == "board" and sub.metadata["job_name"] == "board-board"
    assert sub.job_id == "seqlab-board-board" and sub.metadata["seqlab.workload"] == "quadratic"
    from orchestrator.yamlio import SpecError

    with pytest.raises(SpecError, match="a board cannot be resumed"):
        ray_jobs.build_submission(board, working_dir=workdir, runs_dir="/r", mlflow_uri=None, mode="resume")
    empty = workdir / "empty-board"
    empty.mkdir(exist_ok=True)
    with pytest.raises(SpecError, match="no claim files"):
        ray_jobs.build_submission(empty, working_dir=workdir, runs_dir="/r", mlflow_uri=None)
    (board / "c9.yaml").write_text(BOARD_CLAIM.format(k=9).replace("quadratic", "no_such_workload"))
    with pytest.raises(SpecError, match="no_such_workload"):  # every claim is checked before anything is sent
        ray_jobs.build_submission(board, working_dir=workdir, runs_dir="/r", mlflow_uri=None)
    (board / "c9.yaml").unlink()


def test_a_submitted_board_fans_its_claims_out_and_writes_the_board(local, workdir):
    board = workdir / "board"
    board.mkdir(exist_ok=True)
    for k in range(2):
        (board / f"c{k}.yaml").write_text(BOARD_CLAIM.format(k=k))
    result = CliRunner().invoke(app, ["submit", str(board), "--working-dir", str(workdir)])
    assert result.exit_code == 0, result.output
    address = local["ray"]["dashboard"]
    status = ray_jobs.wait(address, "seqlab-board-board", timeout=300)
    assert status == "SUCCEEDED", ray_jobs.logs(address, "seqlab-board-board")[-3000:]
    text = (Path(local["runs_dir"]) / "board-board.md").read_text()
    assert "2 at a time" in text  # 2 CPUs, claims one trial wide
    assert text.count("| PASS") >= 2 and "c0" in text and "c1" in text

    from mlflow.tracking import MlflowClient

    client = MlflowClient(local["mlflow"]["url"])
    parents = client.search_runs([e.experiment_id for e in client.search_experiments()], "tags.`seqlab.kind` = 'claim'")
    assert {"claim-ops-board-0", "claim-ops-board-1"} <= {run.info.run_name for run in parents}


def test_a_failed_jobs_reason_is_its_drivers_last_error_line():
    message = ("Job entrypoint command failed with exit code 2, last available logs (truncated to 20,000 chars):\n"
               "2026-12-05 INFO starting\nseqlab: 'ops-probe' already has a run in /r/ops-probe: pass --resume\n")
    assert ray_jobs.failure_reason(message) == "'ops-probe' already has a run in /r/ops-probe: pass --resume"
    assert ray_jobs.failure_reason("Job was stopped\nmore") == "Job was stopped"
    assert ray_jobs.failure_reason("x" * 500).endswith("…") and len(ray_jobs.failure_reason("x" * 500)) == 160


def test_down_stops_what_up_started_and_nothing_else(local, home):
    """Last in the module: takes the module's cluster down (the fixture's own down is then a no-op)."""
    import psutil

    bystander = psutil.Popen(["sleep", "60"])  # a process of ours that `down` must leave alone
    try:
        started = [local["ray"]["pid"], local["mlflow"]["pid"]]
        tree = started + [c.pid for p in started for c in psutil.Process(p).children(recursive=True)]
        assert len(tree) > 4  # gcs, raylet, dashboard, workers, uvicorn...
        result = CliRunner().invoke(app, ["down"])
        assert result.exit_code == 0 and "stopped mlflow" in result.output and "ray" in result.output
        alive = [p for p in tree if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        assert not alive
        assert bystander.is_running()
        assert cluster.read_state(home) is None
        assert CliRunner().invoke(app, ["down"]).output.startswith("nothing to stop")
    finally:
        bystander.kill()
