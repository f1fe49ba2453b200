"""Training throughput (tokens per second of process CPU time, forward + backward + AdamW) of the
recurrent-family workloads' models at their claim shapes: mamba, s4_survey (S4D, S4, S5, LSTM)
and s4 (S4, S4D, Transformer, LSTM). Median of 3 steps after a warm-up step, 1 thread.

Run: python -m benchmarks.ssm_throughput
"""

from __future__ import annotations

import os
import statistics
import time

CASES = [
    ("mamba", {"selective": True}, lambda c: c.batch * (c.seq_len + c.n_data)),
    ("mamba", {"selective": False}, lambda c: c.batch * (c.seq_len + c.n_data)),
    *[("s4_survey", {"model": m, "batch": 16}, lambda c: c.batch * c.seq_len) for m in ("s4d", "s4", "s5", "lstm")],
    *[("s4", {"model": m}, lambda c: c.batch * c.side**2) for m in ("s4", "s4d", "transformer", "lstm")],
]


def main() -> None:
    """Print one row per workload and model, and the machine."""
    import torch

    from benchmarks.machine import describe
    from orchestrator.registry import load

    torch.set_num_threads(1)
    print(describe("cpu", 1), f"| load average {os.getloadavg()[0]:.1f}")
    print("| workload | config | tokens/step | step (CPU s) | tokens/s |")
    print("|---|---|---|---|---|")
    for name, over, tokens in CASES:
        wl = load(name)
        cfg = wl.make_config({**over, "eval_batch": 2})
        run = wl.build(cfg, "cpu")
        run.train_step(0)
        times = []
        for step in range(1, 4):
            start = time.process_time()
            run.train_step(step)
            times.append(time.process_time() - start)
        t = statistics.median(times)
        print(f"| {name} | {over} | {tokens(cfg)} | {t:.3f} | {tokens(cfg) / t:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
