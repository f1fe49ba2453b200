"""Training metrics landing in MLflow: steps per second with two trials, every step logged.

Two `quadratic` trials of 5,000 steps run side by side (local Ray, SQLite MLflow), recording
`train/loss` at every step (`tracking.log_every: 1`). The rate is the steps whose metric is in
MLflow at the end, over the sweep's wall time: what a researcher gets as a learning curve.
Rows: the batched curve (`eval_every` 500: ten reports per trial, each carrying 500 points) and
a report at every step (`eval_every` 1, a checkpoint each time), the way curves were recorded
before. Aim: >= 500 steps/s for the batched curve.

    python benchmarks/metrics_rate.py [--steps 5000] [--out benchmarks/results/metrics_rate.md]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

SWEEP = """\
name: curve-EVAL
workload: quadratic
objective: {metric: val/loss, mode: min}
search: {sampler: random, seed: 0, num_trials: 2, max_concurrent: 2}
parameters: {lr: {type: float, low: 1.0e-3, high: 0.1, log: true}}
fixed: {steps: STEPS, eval_every: EVAL, dim: 2}
tracking: {log_every: 1}
"""


def measure(steps: int, eval_every: int, root: Path) -> tuple[float, int]:
    """(wall seconds of the sweep, steps of train/loss found in MLflow over both trials)."""
    from mlflow.tracking import MlflowClient

    from orchestrator.runs import run_sweep
    from orchestrator.spec import load_sweep

    path = root / f"curve-{eval_every}.yaml"
    path.write_text(SWEEP.replace("STEPS", str(steps)).replace("EVAL", str(eval_every)))
    spec, text = load_sweep(path)
    start = time.perf_counter()
    outcome = run_sweep(spec, text, runs_dir=root / "runs")
    wall = time.perf_counter() - start
    client = MlflowClient(outcome.tracking_uri)
    children = client.search_runs([outcome.experiment_id], f"tags.`mlflow.parentRunId` = '{outcome.parent_run_id}'")
    landed = sum(len(client.get_metric_history(c.info.run_id, "train/loss")) for c in children)
    return wall, landed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--out", type=Path, default=None, help="Append the table to this markdown file.")
    args = parser.parse_args()

    from orchestrator.sweep import ensure_ray

    ensure_ray(2)
    machine = describe()
    rows = []
    with tempfile.TemporaryDirectory(prefix="seqlab-curve-") as tmp:
        for label, eval_every in (("batched curve (eval_every 500)", 500), ("report every step (eval_every 1)", 1)):
            wall, landed = measure(args.steps, eval_every, Path(tmp))
            rows.append((label, wall, landed, landed / wall))
    table = textwrap.dedent(f"""\
        ### Training metrics landing in MLflow (2 trials x {args.steps} steps, train/loss every step)

        Machine: {machine}

        | case | wall (s) | steps in MLflow | steps/s |
        |---|---|---|---|
    """) + "".join(f"| {label} | {wall:.1f} | {landed} | {rate:.0f} |\n" for label, wall, landed, rate in rows)
    table += f"\nRatio, batched over per-step reports: {rows[0][3] / rows[1][3]:.1f}x (one run).\n"
    print(table)
    if args.out:
        with args.out.open("a") as fh:
            fh.write("\n" + table)


if __name__ == "__main__":
    main()
