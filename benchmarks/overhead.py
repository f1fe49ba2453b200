"""Seqlab's own cost: CLI start-up, and 50 no-op trials through `seqlab run` vs plain Ray Tune.

Both sides run as fresh processes (each starts its own Ray), with the same Optuna TPE search,
the same concurrency (2) and actor reuse; Seqlab's side also records every trial in MLflow
(SQLite). Aim: ratio ≤ 1.10.

    python benchmarks/overhead.py [--trials 50] [--repeats 1] [--out benchmarks/results/foundation.md]
"""

from __future__ import annotations

import argparse
import statistics
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

def noop(config):
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
fixed: {steps: 1, eval_every: 1, dim: 2}
"""


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    seqlab = [sys.executable, "-m", "orchestrator.cli"]
    root = Path(__file__).resolve().parents[1]

    cli = {
        "seqlab --help": min(timed([*seqlab, "--help"], root) for _ in range(3)),
        "seqlab validate sweeps/quickstart.yaml": min(
            timed([*seqlab, "validate", "sweeps/quickstart.yaml"], root) for _ in range(3)
        ),
    }
    plain_times, seqlab_times = [], []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "plain.py").write_text(PLAIN)
            (work / "noop.yaml").write_text(SWEEP.replace("TRIALS", str(args.trials)))
            plain_times.append(timed([sys.executable, "plain.py", str(args.trials), str(work / "tune")], work))
            seqlab_times.append(timed([*seqlab, "run", "noop.yaml", "--num-cpus", "2"], work))
    plain, ours = statistics.median(plain_times), statistics.median(seqlab_times)
    lines = [
        f"Machine: {describe()}",
        "",
        "| what | wall time |",
        "|---|---|",
        *(f"| `{k}` | {v:.2f} s |" for k, v in cli.items()),
        f"| {args.trials} no-op trials, plain Ray Tune + OptunaSearch | {plain:.1f} s |",
        f"| {args.trials} no-op trials, `seqlab run` (with MLflow) | {ours:.1f} s |",
        f"| ratio seqlab / plain (aim ≤ 1.10) | {ours / plain:.2f} |",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(textwrap.dedent(text))


if __name__ == "__main__":
    main()
