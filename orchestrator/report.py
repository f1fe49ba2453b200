"""What a finished sweep or claim prints: best trial and where it is, or the claim's evidence."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from orchestrator.claims import ClaimResult
from orchestrator.bridge import RunOutcome


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
    retried = [t for t in outcome.trials if t.retries]
    again = f" ({len(retried)} retried {sum(t.retries for t in retried)} time(s) after failures)" if retried else ""
    console.print("trials: " + ", ".join(f"{n} {k}" for k, n in sorted(tally.items())) + again)
    for t in outcome.trials:
        if t.outcome in ("failed", "timeout") and t.error:
            last = [line for line in t.error.strip().splitlines() if line.strip()][-1:]
            console.print(f"  [red]{t.trial_id} {t.outcome}[/red]: {last[0][:150] if last else ''}")
    best = best_trial(outcome, metric, mode)
    if best is not None:
        table = Table("best trial", metric, *best.params.keys(), box=None)
        table.add_row(best.trial_id, f"{best.metrics[metric]:.6g}", *(f"{v:.4g}" if isinstance(v, float) else str(v) for v in best.params.values()))
        console.print(table)
    if outcome.best_checkpoint:
        console.print(f"Best checkpoint: {outcome.best_checkpoint}")
    console.print(f"MLflow: {run_link(outcome.tracking_uri, outcome.experiment_id, outcome.parent_run_id)}")
    console.print(f"Tune:   {outcome.path}")
    for problem in outcome.tracking_errors:
        console.print(f"[yellow]tracking: {problem}[/yellow]")


def _print_checks(console: Console, title: str, checks: list, held: list | None) -> None:
    table = Table(title, "value", "", *(["holdout", ""] if held is not None else []), box=None)
    for i, e in enumerate(checks):
        row = [e.text, f"{e.left:.4g} vs {e.right:.4g}" if e.left is not None else (e.problem or ""),
               "[green]holds[/green]" if e.holds else "[red]fails[/red]"]
        if held is not None:
            other = held[i]
            row += [f"{other.left:.4g} vs {other.right:.4g}" if other.left is not None else (other.problem or ""),
                    "[green]holds[/green]" if other.holds else "[red]fails[/red]"]
        table.add_row(*row)
    console.print(table)


def print_claim(result: ClaimResult) -> None:
    """The claim's evidence: per arm its budget, seeds run and per-seed values; claim and sanity apart; caveats."""
    console = Console(width=160)
    held = result.holdout
    console.print(f"[bold]{result.name}[/bold]: {result.paper}")
    columns = [f"arm ({result.metric})", "budget", "seeds", "per seed", "mean ± std"] + (["holdout per seed"] if held else [])
    table = Table(*columns, box=None)
    for arm in result.arm_order:
        summary = result.summary(arm)
        row = [arm, result.budgets.get(arm, ""), f"{len(result.seeds_done.get(arm, []))}/{len(result.seeds)}",
               ", ".join(f"{v:.4g}" for _, v in result.per_seed(arm)) or "none",
               f"{summary[0]:.4g} ± {summary[1]:.2g}" if summary else "no results"]
        if held:
            row.append(", ".join(f"{v:.4g}" for _, v in held.per_seed(arm)) or "none")
        table.add_row(*row)
    console.print(table)
    _print_checks(console, "the paper's claim (expect)", result.expectations, held.expectations if held else None)
    if result.sanity:
        _print_checks(console, "sanity (the setup)", result.sanity, held.sanity if held else None)
    for failure in result.failed_trials + ([f"holdout {f}" for f in held.failed_trials] if held else []):
        console.print(f"[yellow]trial {failure}[/yellow]")
    for caveat in result.caveats:
        console.print(f"[yellow]caveat:[/yellow] {caveat}")
    for run in [result] + ([held] if held else []):
        colour = "green" if run.verdict == "PASS" else "red"
        reason = f" ({run.reason})" if run.reason else ""
        console.print(
            f"[{colour}]{run.verdict}[/{colour}]{reason} on {run.seed_set} seeds {', '.join(map(str, run.seeds))} "
            f"in {run.seconds:.0f} s; MLflow parent run {run.parent_run_id}; claim file {run.spec_hash} @ {run.commit}"
        )
