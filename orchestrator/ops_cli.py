"""Operations commands (up, down, submit, status, logs, stop, compare), added onto the main CLI.

Light at import (Typer and the standard library): Ray, MLflow and matplotlib are imported by
the commands that use them. The logic lives in :mod:`orchestrator.cluster` and
:mod:`orchestrator.compare`.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Optional

import typer

ADDRESS = typer.Option(None, "--address", help="Ray dashboard URL (default: the `seqlab up` cluster, else RAY_ADDRESS, else http://127.0.0.1:8265).")


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"seqlab: {message}", err=True)
    raise typer.Exit(code)


def _address(address: Optional[str]) -> str:
    from orchestrator.ray_jobs import default_address

    return address or default_address()


def _when(stamp_ms) -> str:
    if not stamp_ms:
        return ""
    return _dt.datetime.fromtimestamp(stamp_ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def register(app) -> None:
    """Add the operations commands to the ``seqlab`` Typer app."""

    @app.command()
    def up(
        host: str = typer.Option("127.0.0.1", "--host", help="Interface for the dashboard and MLflow. Anything but 127.0.0.1 exposes them: prefer an SSH tunnel."),
        dashboard_port: int = typer.Option(8265, "--dashboard-port", help="Ray dashboard and Jobs API port."),
        mlflow_port: int = typer.Option(5000, "--mlflow-port", help="MLflow tracking server port."),
        ray_port: int = typer.Option(6379, "--ray-port", help="Ray GCS port."),
        client_port: int = typer.Option(10001, "--client-port", help="Ray client server port."),
        num_cpus: Optional[int] = typer.Option(None, "--num-cpus", help="CPUs the head offers (default: all)."),
        num_gpus: Optional[int] = typer.Option(None, "--num-gpus", help="GPUs the head offers (default: detected)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be started, start nothing."),
    ) -> None:
        """Start a local Ray head (token auth) and an MLflow server, both on 127.0.0.1 by default."""
        from orchestrator import cluster

        opts = cluster.UpOptions(host, dashboard_port, mlflow_port, ray_port, client_port, num_cpus, num_gpus)
        warning = cluster.exposure_warning(host)
        if warning:
            typer.echo(warning, err=True)
        else:
            typer.echo(f"dashboard and MLflow will listen on {cluster.LOCAL} only")
        if dry_run:
            for name, cmd in cluster.up_commands(opts, cluster.home()).items():
                typer.echo(f"{name}: {' '.join(cmd)}")
            return
        try:
            state, started = cluster.up(opts, echo=typer.echo)
        except cluster.ClusterError as err:
            _fail(str(err), code=1)
        if not started:
            typer.echo("seqlab is already up (seqlab down stops it)")
        typer.echo(f"Ray dashboard: {state['ray']['dashboard']}   (Jobs API; token auth on)")
        typer.echo(f"MLflow:        {state['mlflow']['url']}")
        typer.echo(f"token:         {state['token_path']}   (the dashboard asks for it; keep it private)")
        typer.echo(f"state:         {Path(state['home']) / cluster.STATE_FILE}")
        typer.echo("submit with:   seqlab submit sweeps/quickstart.yaml")

    @app.command()
    def down() -> None:
        """Stop the Ray head and MLflow server that `seqlab up` started, and nothing else."""
        from orchestrator import cluster

        stopped = cluster.down()
        typer.echo("stopped " + ", ".join(stopped) if stopped else "nothing to stop: seqlab is not up")

    @app.command()
    def submit(
        file: Path = typer.Argument(..., help="Sweep, job or claim YAML, or a folder of claims (a board), inside the working directory."),
        address: Optional[str] = ADDRESS,
        force: bool = typer.Option(False, "--force", help="Submit even if this sweep was submitted before (starts it over)."),
        resume: bool = typer.Option(False, "--resume", help="Continue the sweep's earlier run on the cluster."),
        working_dir: Path = typer.Option(Path("."), "--working-dir", help="Folder packaged for the job (run outputs excluded)."),
        runs_dir: Optional[str] = typer.Option(None, "--runs-dir", help="Runs folder on the cluster (default: the up cluster's, else $HOME/seqlab-runs)."),
        mlflow_uri: Optional[str] = typer.Option(None, "--mlflow-uri", help="MLflow URI the job logs to, as the cluster sees it (default: the up cluster's server, else MLFLOW_TRACKING_URI)."),
    ) -> None:
        """Submit a sweep as a Ray Job (id from its name); prints the job id and dashboard URL."""
        from orchestrator import cluster, ray_jobs
        from orchestrator.yamlio import SpecError

        try:
            sub = ray_jobs.submit(file, address=_address(address), working_dir=working_dir, runs_dir=runs_dir,
                                 mlflow_uri=mlflow_uri, force=force, resume=resume)  # fmt: skip
        except SpecError as err:
            _fail(str(err))
        except cluster.ClusterError as err:
            _fail(str(err), code=1)
        typer.echo(f"submitted {sub.job_id}")
        typer.echo(f"dashboard: {sub.dashboard_url}")
        mlflow = sub.runtime_env["env_vars"].get("MLFLOW_TRACKING_URI")
        typer.echo(f"MLflow:    {mlflow or 'the sqlite store in the runs folder on the cluster'}")
        typer.echo(f"follow:    seqlab logs {sub.job_id} --follow")

    @app.command()
    def status(job: Optional[str] = typer.Argument(None, help="A job id; all jobs when left out."), address: Optional[str] = ADDRESS) -> None:
        """Status of one job, or a table of the cluster's jobs."""
        from orchestrator import cluster, ray_jobs

        addr = _address(address)
        try:
            if job:
                info = ray_jobs.job_info(addr, job)
                message = ray_jobs.failure_reason(info["message"]) if info["status"] == "FAILED" else info["message"]
                typer.echo(f"{info['job_id']}: {info['status']}  {message}")
                for key, value in sorted(info["metadata"].items()):
                    typer.echo(f"  {key}: {value}")
                typer.echo(f"  started: {_when(info['start'])}  ended: {_when(info['end'])}")
                return
            rows = ray_jobs.jobs(addr)
        except cluster.ClusterError as err:
            _fail(str(err), code=1)
        if not rows:
            typer.echo(f"no jobs on {addr}")
            return
        typer.echo(f"{'job':40} {'status':10} {'sweep':28} {'workload':16} started")
        for r in rows:
            typer.echo(f"{r['job_id']:40} {r['status']:10} {r['sweep']:28} {r['workload']:16} {_when(r['start'])}")
            if r["status"] == "FAILED" and r["message"]:
                typer.echo(f"{'':40} why: {ray_jobs.failure_reason(r['message'])}")

    @app.command()
    def logs(
        job: str = typer.Argument(..., help="A job id (seqlab status lists them)."),
        follow: bool = typer.Option(False, "--follow", "-f", help="Keep streaming until the job ends."),
        address: Optional[str] = ADDRESS,
    ) -> None:
        """The job's driver log (the sweep's progress and summary)."""
        from orchestrator import cluster, ray_jobs

        addr = _address(address)
        try:
            if follow:
                final = ray_jobs.follow_logs(addr, job, lambda text: typer.echo(text, nl=False))
                typer.echo(f"\n{job}: {final}")
            else:
                typer.echo(ray_jobs.logs(addr, job), nl=False)
        except cluster.ClusterError as err:
            _fail(str(err), code=1)

    @app.command("stop")
    def stop_job(job: str = typer.Argument(..., help="A job id."), address: Optional[str] = ADDRESS) -> None:
        """Stop a running job (its trials end; `seqlab submit --resume` continues it)."""
        from orchestrator import cluster, ray_jobs

        try:
            was_running = ray_jobs.stop(_address(address), job)
        except cluster.ClusterError as err:
            _fail(str(err), code=1)
        typer.echo(f"{job}: stop requested" if was_running else f"{job}: was not running")

    @app.command()
    def compare(
        name: str = typer.Argument(..., help="A sweep or claim name (its MLflow parent run), or a parent run id."),
        metric: Optional[str] = typer.Option(None, "--metric", help="Metric to rank by (default: the sweep's objective)."),
        top: int = typer.Option(5, "--top", help="Best trials in the table and learning-curve plot."),
        out: Optional[Path] = typer.Option(None, "--out", help="Folder for the CSV and plots (default: seqlab-runs/compare/NAME)."),
        tracking_uri: Optional[str] = typer.Option(None, "--tracking-uri", help="MLflow URI (default: MLFLOW_TRACKING_URI, else ./seqlab-runs/mlflow.db)."),
        runs_dir: Path = typer.Option(Path("seqlab-runs"), "--runs-dir", help="Where the local SQLite MLflow store lives."),
    ) -> None:
        """Tables, CSV and plots of a sweep or claim from MLflow, logged back to its parent run."""
        from orchestrator import compare as cmp
        from orchestrator.tracking import default_uri

        uri = tracking_uri or default_uri(runs_dir)
        try:
            report = cmp.compare(uri, name, metric=metric, top=top, out=out)
        except cmp.CompareError as err:
            _fail(str(err))
        typer.echo(report.text)
        typer.echo(f"files: {report.folder} ({', '.join(sorted(p.name for p in report.files))})")
        typer.echo(f"logged to parent run {report.parent_run_id} under {cmp.ARTIFACT_DIR}/")
