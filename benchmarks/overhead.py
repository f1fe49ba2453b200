"""Seqlab's own cost: CLI start-up, and sweeps through `seqlab run` vs plain Ray Tune.

Cases: 50 and 500 no-op trials, and 40 trials that each sleep 1 s (ideal: 20 s at concurrency
2). Both sides run as fresh processes (each starts its own Ray), with the same Optuna TPE search,
the same concurrency (2) and actor reuse; Seqlab's side also records every trial in MLflow
(SQLite) and the study in Optuna's journal. Aims (issue #20): ratio ≤ 1.15 on the no-op cases,
≤ 1.25× the ideal on the sleeping one.

    python benchmarks/overhead.py [--cases 50,500,40x1] [--out benchmarks/results/overhead.md]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

PLAIN = """\
import os, sys
os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
from orchestrator import auth
auth.enable()
import ray
from ray import tune
from ray.tune.search import ConcurrencyLimiter
from ray.tune.search.optuna import OptunaSearch
import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)

SLEEP = float(sys.argv[3])

def noop(config):
    if SLEEP:
        import time
        time.sleep(SLEEP)
    tune.report({"val/loss": (config["lr"] - 0.1) ** 2, "step": 1})

ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
search = OptunaSearch(space={"lr": optuna.distributions.FloatDistribution(1e-3, 0.3, log=True)},
                      metric="val/loss", mode="min", sampler=optuna.samplers.TPESampler(seed=0))
tuner = tune.Tuner(
    tune.with_resources(noop, {"cpu": 1}),
    tune_config=tune.TuneConfig(search_alg=ConcurrencyLimiter(search, 2), num_samples=int(sys.argv[1]),
                                max_concurrent_trials=2, reuse_actors=True),
    run_config=tune.RunConfig(name="plain", storage_path=sys.argv[2], verbose=0),
)
results = tuner.fit()
assert len(results) == int(sys.argv[1]) and not results.errors
"""

SWEEP = """\
name: noop
workload: quadratic
objective: {metric: val/loss, mode: min}
search: {sampler: tpe, seed: 0, num_trials: TRIALS, max_concurrent: 2}
parameters: {lr: {type: float, low: 1.0e-3, high: 0.3, log: true}}
fixed: {steps: 1, eval_every: 1, dim: 2, sleep_s: SLEEP}
"""


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


CASES = {"50": (50, 0.0), "500": (500, 0.0), "40x1": (40, 1.0)}  # name -> (trials, seconds each)


def run_case(trials: int, sleep: float) -> tuple[float, float]:
    """(plain Tune seconds, seqlab seconds) for one case, side by side."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "plain.py").write_text(PLAIN)
        (work / "noop.yaml").write_text(SWEEP.replace("TRIALS", str(trials)).replace("SLEEP", str(sleep)))
        plain = timed([sys.executable, "plain.py", str(trials), str(work / "tune"), str(sleep)], work)
        ours = timed([sys.executable, "-m", "orchestrator.cli", "run", "noop.yaml", "--num-cpus", "2"], work)
    return plain, ours


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="50,500,40x1", help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    seqlab = [sys.executable, "-m", "orchestrator.cli"]
    root = Path(__file__).resolve().parents[1]
    load_before = os.getloadavg()[0]

    cli = {
        "seqlab --help": min(timed([*seqlab, "--help"], root) for _ in range(3)),
        "seqlab validate sweeps/quickstart.yaml": min(
            timed([*seqlab, "validate", "sweeps/quickstart.yaml"], root) for _ in range(3)
        ),
    }
    rows = [f"| `{k}` | {v:.2f} s | | |" for k, v in cli.items()]
    for name in args.cases.split(","):
        trials, sleep = CASES[name]
        plain, ours = run_case(trials, sleep)
        what = f"{trials} trials of {sleep:g} s" if sleep else f"{trials} no-op trials"
        rows.append(f"| {what}, plain Ray Tune + OptunaSearch | {plain:.1f} s | | |")
        if sleep:
            ideal = trials * sleep / 2
            rows.append(f"| {what}, `seqlab run` (with MLflow) | {ours:.1f} s | {ours / plain:.2f} | "
                        f"{ours / ideal:.2f}× the ideal {ideal:.0f} s (aim ≤ 1.25; Tune alone {plain / ideal:.2f}×) |")
        else:
            rows.append(f"| {what}, `seqlab run` (with MLflow) | {ours:.1f} s | {ours / plain:.2f} | aim ≤ 1.15 |")
    lines = [
        f"Machine: {describe()}; load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after.",
        "",
        "| what | wall time | seqlab / plain | note |",
        "|---|---|---|---|",
        *rows,
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(textwrap.dedent(text))


if __name__ == "__main__":
    main()
