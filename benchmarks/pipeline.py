"""GPipe micro-batching on this machine: step time and tokens/s of a 2-stage pipeline against m.

Each micro-batch count m runs the same gpipe job (2 stages, two Ray Train CPU workers with one
thread each, gloo) through ``orchestrator.job.run_job``; the step time is the median over the
steps after ``--warmup``. Beside each figure: GPipe's predicted bubble (p − 1)/(m + p − 1) and
its predicted step time relative to m = 1, (m + p − 1)/(p·m) (the pipeline runs m + p − 1 slots
of a micro-batch's stage time; with fixed mini-batch, m = 1 is p slots of the whole batch). A
single-process, one-thread step of the same model is measured as the no-pipeline reference.

GPipe claim 3 checks the direction only: measured time per sample should fall as m grows. On a
shared 2-core machine the load is recorded beside the figures; absolute numbers are inflated.

    python benchmarks/pipeline.py                         # m in 1,2,4,8,16; writes the results (~6 min)
    python benchmarks/pipeline.py --micro-batches 1,4 --steps 10 --no-write
    python benchmarks/pipeline.py --launcher local --out /tmp/pipeline.md   # without Ray
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results" / "pipeline.md"
# Big enough that a micro-batch's compute (W/(p·m)) outweighs its fixed cost (p2p send/recv and
# DeepSpeed's per-instruction work, ~10 ms here under load) up to m = 8: with d = 128, T = 64 the
# fixed cost won from m = 4 on (2026-11-27, load 15: 0.198, 0.172, 0.209, 0.249, 0.276 s/step).
MODEL = {"d_model": 256, "n_heads": 4, "n_layers": 4, "seq_len": 128, "batch_size": 32, "eval_every": 10_000}


def machine() -> str:
    """CPU model, cores, torch/deepspeed/ray versions and the load average, in one line."""
    import deepspeed
    import torch

    try:
        import ray

        ray_version = ray.__version__
    except ImportError:
        ray_version = "not installed"

    from machine import cpu_model  # benchmarks/machine.py, shared by every benchmark script

    cpu = cpu_model()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{cpu}; {os.cpu_count()} cores; torch {torch.__version__}, deepspeed {deepspeed.__version__}, "
        f"ray {ray_version}; load average {load}"
    )


def single_process_step(steps: int, warmup: int) -> float:
    """Median seconds per step of the same model in one process, one thread, full batch."""
    import torch

    from orchestrator.registry import load

    torch.set_num_threads(1)
    wl = load("gpipe")
    inst = wl.build(wl.make_config({**MODEL, "steps": steps}), "cpu")
    times = []
    for step in range(steps):
        began = time.perf_counter()
        inst.train_step(step)
        times.append(time.perf_counter() - began)
    return statistics.median(times[warmup:])


def pipelined_step(m: int, stages: int, steps: int, warmup: int, storage: Path, launcher: str) -> float:
    """Median seconds per step of the 2-stage job with ``m`` micro-batches.

    ``launcher``: ``ray`` runs it through ``run_job`` (Ray Train workers); ``local`` as plain
    local processes over gloo (``pipeline_worker.run_local``), for a machine without Ray.
    """
    from orchestrator.job import JobSpec, loop_config, run_job
    from orchestrator.pipeline_worker import run_local

    spec = JobSpec.model_validate(
        {
            "kind": "job",
            "name": f"bench-m{m}",
            "workload": "gpipe",
            "config": {**MODEL, "steps": steps},
            "parallelism": {"pipeline_stages": stages, "micro_batches": m},
            "checkpoints": {"every": 10_000},
        }
    )
    reports = run_local(loop_config(spec, False)) if launcher == "local" else run_job(spec, storage_dir=storage).reports
    times = [r["train/step_time_s"] for r in reports if r["step"] > warmup]
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--micro-batches", default="1,2,4,8,16", help="comma-separated m values")
    parser.add_argument("--steps", type=int, default=10, help="steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="first steps left out of the median")
    parser.add_argument("--launcher", choices=["ray", "local"], default="ray", help="Ray Train workers, or local processes")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the table")
    parser.add_argument("--no-write", action="store_true", help="print only; write nothing")
    args = parser.parse_args()
    os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.25")
    os.environ.setdefault("DS_ACCELERATOR", "cpu")  # a CPU benchmark, also on a machine with a GPU

    from orchestrator.job import prepare_deepspeed_ops
    from workloads.gpipe.schedule import predicted_bubble

    stages = 2
    ms = [int(x) for x in args.micro_batches.split(",")]
    prepare_deepspeed_ops()
    before = machine()
    single = single_process_step(args.steps, args.warmup)
    if args.launcher == "ray":
        import ray

        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    rows = []
    with tempfile.TemporaryDirectory(prefix="seqlab-bench-") as tmp:
        for m in ms:
            seconds = pipelined_step(m, stages, args.steps, args.warmup, Path(tmp), args.launcher)
            rows.append((m, seconds))
            print(f"m={m}: {seconds:.4f} s/step", flush=True)
    if args.launcher == "ray":
        ray.shutdown()
    after = machine()

    tokens = MODEL["batch_size"] * MODEL["seq_len"]
    base = dict(rows).get(1, rows[0][1])
    lines = [
        "| m | step time (s) | tokens/s | ms per sample | measured T(m)/T(1) | predicted (m+p-1)/(p·m) | predicted bubble (p-1)/(m+p-1) |",
        "|---|---|---|---|---|---|---|",
    ]
    for m, seconds in rows:
        lines.append(
            f"| {m} | {seconds:.4f} | {tokens / seconds:,.0f} | {1000 * seconds / MODEL['batch_size']:.2f} | "
            f"{seconds / base:.3f} | {(m + stages - 1) / (stages * m):.3f} | {predicted_bubble(stages, m):.3f} |"
        )
    falling = all(b[1] < a[1] for a, b in zip(rows, rows[1:]))
    verdict = (
        f"Direction (claim 3): time per sample {'falls' if falling else 'does NOT fall'} at every increase of m "
        f"({' -> '.join(f'{s:.3f}' for _, s in rows)} s/step)."
    )
    text = "\n".join(
        [
            f"# GPipe micro-batching: 2-stage DeepSpeed pipeline ({'Ray Train workers' if args.launcher == 'ray' else 'local processes, no Ray'}; CPU, gloo)",
            "",
            f"Written by `python benchmarks/pipeline.py` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.",
            "",
            f"- Machine before: {before}",
            f"- Machine after: {after}",
            f"- Model: gpipe {MODEL} (embedding + {MODEL['n_layers']} blocks + head, cut uniformly in 2);"
            f" {tokens} tokens per mini-batch; one thread per worker; median of steps {args.warmup + 1}-{args.steps}.",
            f"- Single process, one thread, same model, full batch: {single:.4f} s/step ({tokens / single:,.0f} tokens/s).",
            "",
            *lines,
            "",
            verdict,
            "",
        ]
    )
    print(text)
    if not args.no_write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
