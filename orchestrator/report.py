"""What a finished sweep or claim prints: best trial and where it is, or the claim's evidence."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from orchestrator.claims import ClaimResult
from orchestrator.sweep import RunOutcome


def run_link(uri: str, experiment_id: str | None, run_id: str | None) -> str:
    """How to open a run: the MLflow UI command for a local store, else the run's ids."""
    if run_id is None:
        return "(MLflow run not recorded)"
    if uri.startswith("sqlite:"):
        return f"run {run_id} (experiment {experiment_id}); browse with: mlflow ui --backend-store-uri {uri}"
    return f"{uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def print_sweep_summary(outcome: RunOutcome, metric: str, mode: str) -> None:
    from orchestrator.runs import best_trial

    console = Console(width=160)
    tally: dict[str, int] = {}
    for t in outcome.trials:
        tally[t.outcome] = tally.get(t.outcome, 0) + 1
    console.print("trials: " + ", ".join(f"{n} {k}" for k, n in sorted(tally.items())))
    for t in outcome.trials:
        if t.outcome in ("failed", "timeout") and t.error:
            last = [line for line in t.error.strip().splitlines() if line.strip()][-1:]
            console.print(f"  [red]{t.trial_id} {t.outcome}[/red]: {last[0][:150] if last else ''}")
    best = best_trial(outcome, metric, mode)
    if best is not None:
        table = Table("best trial", metric, *best.params.keys(), box=None)
        table.add_row(best.trial_id, f"{best.metrics[metric]:.6g}", *(f"{v:.4g}" if isinstance(v, float) else str(v) for v in best.params.values()))
        console.print(table)
    console.print(f"MLflow: {run_link(outcome.tracking_uri, outcome.experiment_id, outcome.parent_run_id)}")
    console.print(f"Tune:   {outcome.path}")
    for problem in outcome.tracking_errors:
        console.print(f"[yellow]tracking: {problem}[/yellow]")


def print_claim(result: ClaimResult) -> None:
    console = Console(width=160)
    table = Table(f"arm ({result.metric})", "mean ± std", "seeds", box=None)
    for arm in result.arm_order:
        summary = result.summary(arm)
        table.add_row(arm, f"{summary[0]:.4g} ± {summary[1]:.2g}" if summary else "no results", str(summary[2] if summary else 0))
    console.print(f"[bold]{result.name}[/bold]: {result.paper}")
    console.print(table)
    checks = Table("expectation", "value", "", box=None)
    for e in result.expectations:
        value = f"{e.left:.4g} vs {e.right:.4g}" if e.left is not None else (e.problem or "")
        checks.add_row(e.text, value, "[green]PASS[/green]" if e.holds else "[red]FAIL[/red]")
    console.print(checks)
    for failure in result.failed_trials:
        console.print(f"[yellow]trial {failure}[/yellow]")
    colour = "green" if result.verdict == "PASS" else "red"
    console.print(f"[{colour}]{result.verdict}[/{colour}] in {result.seconds:.0f} s; MLflow parent run {result.parent_run_id}")
