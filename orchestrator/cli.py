"""``seqlab``: run, validate and inspect sweeps; check claims.

Exit status: 0 success, 1 the run finished badly (a claim FAILs, a sweep stopped or every trial
failed), 2 bad input (one line on stderr naming the problem, no traceback). Heavy libraries are
imported only by the commands that run something, so ``--help``, ``list``, ``describe`` and
``validate`` answer in about a second.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from orchestrator.yamlio import SpecError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Seqlab: sweeps of sequence-model workloads on Ray Tune + Optuna, tracked in MLflow.",
)
RUNS_DIR = typer.Option(Path("seqlab-runs"), "--runs-dir", help="Where runs, Tune state and the SQLite MLflow store live.")


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"seqlab: {message}", err=True)
    raise typer.Exit(code)


def _quiet_libraries() -> None:
    """Keep the terminal for Seqlab's own progress display."""
    import logging

    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    for name in ("mlflow", "alembic", "optuna", "ray", "ray.tune", "ray.train"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
    except ImportError:
        pass


@app.command()
def run(
    file: Path = typer.Argument(..., help="Sweep YAML (or a job YAML with kind: job)."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run of this sweep."),
    fresh: bool = typer.Option(False, "--fresh", help="Start over; the old run's folder is kept beside it."),
    runs_dir: Path = RUNS_DIR,
    num_cpus: Optional[int] = typer.Option(None, "--num-cpus", help="CPUs for the in-process Ray (default: all)."),
) -> None:
    """Run a sweep: validate, search with Optuna inside Ray Tune, record in MLflow."""
    from orchestrator.spec import load_sweep

    if resume and fresh:
        _fail("--resume and --fresh exclude each other")
    if _kind(file) == "job":
        _run_job(file, runs_dir=runs_dir, resume=resume, num_cpus=num_cpus)
        return
    try:
        spec, text = load_sweep(file)
    except SpecError as err:
        _fail(str(err))
    _quiet_libraries()
    from orchestrator.progress import Progress
    from orchestrator.runs import best_trial, run_sweep

    objective = spec.objectives[0]
    with Progress(spec.name, objective.metric, objective.mode) as progress:
        try:
            outcome = run_sweep(spec, text, runs_dir=runs_dir, resume=resume, fresh=fresh, on_change=progress.update, num_cpus=num_cpus)
        except SpecError as err:
            progress.stop()
            _fail(str(err))
    from orchestrator.report import print_sweep_summary

    print_sweep_summary(outcome, objective.metric, objective.mode)
    if outcome.interrupted:  # Ctrl-C, or a full disk (stopped_reason): the state is saved
        why = outcome.stopped_reason or "interrupted"
        _fail(f"{why}; `seqlab run --resume {file}` continues the sweep", code=1 if outcome.stopped_reason else 130)
    if outcome.stopped_reason:
        _fail(f"sweep stopped: {outcome.stopped_reason}", code=1)
    if best_trial(outcome, objective.metric, objective.mode) is None:
        _fail("no trial finished with a value for the objective", code=1)


def _kind(file: Path) -> str:
    """``job``, ``claim`` or ``sweep`` (bad files: a one-line error, exit 2)."""
    from orchestrator.files import file_kind

    try:
        return file_kind(file)
    except SpecError as err:
        _fail(str(err))


def _run_job(file: Path, *, runs_dir: Path, resume: bool, num_cpus: int | None) -> None:
    from orchestrator.job import load_job

    try:
        spec, text = load_job(file)
    except SpecError as err:
        _fail(str(err))
    _quiet_libraries()
    from orchestrator.report import run_link
    from orchestrator.runs import run_job_file

    def on_step(metrics: dict, step: int) -> None:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in metrics.items() if k != "step")
        typer.echo(f"{spec.name} step {step}: {shown}")

    try:
        result, parent = run_job_file(spec, text, runs_dir=runs_dir, resume=resume, on_step=on_step, num_cpus=num_cpus)
    except SpecError as err:
        _fail(str(err))
    typer.echo(f"finished {len(result.reports)} reports, {result.restarts} restart(s); final: {result.final}")
    typer.echo(f"MLflow: {run_link(parent.uri, parent.experiment_id, parent.run_id) if parent else 'not recorded'}")
    typer.echo(f"Train:  {result.run_dir}")


@app.command()
def validate(file: Path = typer.Argument(..., help="Sweep or claim YAML.")) -> None:
    """Check a sweep, claim or job file without running it."""
    kind = _kind(file)
    try:
        if kind == "job":
            from orchestrator.job import load_job

            job, _ = load_job(file)
            par = job.parallelism
            typer.echo(f"{file}: valid job '{job.name}' ({job.workload}, {par.pipeline_stages} stages x {par.data_parallel} data-parallel)")
            return
        if kind == "claim":
            from orchestrator.claims import load_claim

            spec, _ = load_claim(file)
            typer.echo(
                f"{file}: valid claim '{spec.name}' ({len(spec.arms)} arms x {len(spec.seeds)} seeds; "
                f"seeds: calibration {spec.calibration_seeds}, evaluation {spec.seeds}, holdout {spec.holdout_seeds}; "
                f"{len(spec.expect)} expectations, {len(spec.sanity)} sanity checks, {len(spec.caveats)} caveats)"
            )
            return
        from orchestrator.spec import load_sweep

        spec, _ = load_sweep(file)
    except SpecError as err:
        _fail(str(err))
    typer.echo(f"{file}: valid sweep '{spec.name}' ({spec.workload}, {spec.search.sampler}, {spec.search.num_trials} trials)")


@app.command()
def schema(kind: str = typer.Option("sweep", "--kind", help="sweep, claim or job.")) -> None:
    """Print the JSON Schema of a sweep (or claim, or job) file, for editor completion and checks."""
    if kind == "sweep":
        from orchestrator.spec import sweep_json_schema

        schema_ = sweep_json_schema()
    elif kind == "job":
        from orchestrator.job import job_json_schema

        schema_ = job_json_schema()
    elif kind == "claim":
        from orchestrator.claims import ClaimSpec

        schema_ = {**ClaimSpec.model_json_schema(), "title": "Seqlab claim"}
    else:
        _fail(f"--kind must be sweep, claim or job, got {kind!r}")
    typer.echo(json.dumps(schema_, indent=2))


@app.command("list")
def list_workloads() -> None:
    """List registered workloads: name, family, paper and objective."""
    from rich.console import Console
    from rich.table import Table

    from orchestrator.registry import load, names

    table = Table("workload", "family", "paper", "objective", box=None)
    for name in names():
        try:
            wl = load(name)
        except Exception as err:  # a broken plugin is listed, not fatal
            table.add_row(name, "?", f"[red]cannot load: {err}[/red]", "")
            continue
        arxiv = f" (arXiv {wl.arxiv})" if wl.arxiv else ""
        table.add_row(name, wl.family, f"{wl.title}{arxiv}", f"{wl.mode} {wl.metric}")
    Console(width=200).print(table)


@app.command()
def describe(workload: str = typer.Argument(..., help="A workload name (seqlab list).")) -> None:
    """Show a workload's paper, objective and every Config field with type, default and doc."""
    from rich.console import Console
    from rich.table import Table

    from orchestrator.registry import UnknownWorkload, load

    try:
        wl = load(workload)
    except UnknownWorkload as err:
        _fail(str(err))
    console = Console(width=200)
    console.print(f"[bold]{wl.name}[/bold]: {wl.title}" + (f" (arXiv {wl.arxiv})" if wl.arxiv else ""))
    if wl.summary:
        console.print(wl.summary)
    console.print(f"objective: {wl.mode} {wl.metric}   family: {wl.family}")
    table = Table("field", "type", "default", "description", box=None)
    for name, field in wl.config.model_fields.items():
        annotation = getattr(field.annotation, "__name__", str(field.annotation))
        table.add_row(name, annotation, repr(field.default), field.description or "")
    console.print(table)


@app.command()
def kernels() -> None:
    """Show each kernel op's backends on this machine and which one runs by default."""
    from rich.console import Console
    from rich.table import Table

    from kernels.dispatch import BACKENDS
    from kernels.inventory import inspect, ops

    table = Table("op", *BACKENDS, "default on CPU", "default on CUDA", box=None)
    for op in ops():
        found = inspect(op)
        cells = [b if b in ("yes", "—") else f"[red]no[/red]: {b}" for b in found.backends.values()]
        table.add_row(op, *cells, found.auto_cpu, found.auto_cuda or "(no CUDA here)")
    Console(width=220).print(table)


from orchestrator import claims_cli, ops_cli  # noqa: E402 - light: Typer commands only

ops_cli.register(app)
claims_cli.register(app, _quiet_libraries)


def main() -> None:
    """Console-script entry point."""
    from orchestrator import auth

    auth.enable()  # Ray reads RAY_AUTH_MODE when it is first imported
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("seqlab: interrupted; `seqlab run --resume FILE` continues a sweep", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
