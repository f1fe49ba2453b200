"""Training throughput of the recurrent-2 workloads (rnn_review, deltaproduct,
flow_equivariant_rnn) at their claim configs, one thread, CPU path.

Run: python benchmarks/recurrent2_throughput.py [--steps 20]
Prints a table (ms/step wall and process CPU, tokens/s from CPU time) and the machine line.
Tokens per step: sequences × length (frames for flow_equivariant_rnn: observed + predicted).
"""

from __future__ import annotations

import argparse
import time

# workload, config overrides (the claim arms), tokens per train_step
CASES = [
    ("rnn_review", {"task": "adding", "cell": "lstm", "length": 100}, 64 * 100),
    ("rnn_review", {"task": "adding", "cell": "rnn", "length": 100}, 64 * 100),
    ("rnn_review", {"task": "tagging", "cell": "lstm", "bidirectional": True, "length": 30}, 64 * 30),
    ("deltaproduct", {"n_householder": 2, "negative_eigenvalues": True}, 32 * 32),
    ("deltaproduct", {"n_householder": 1, "negative_eigenvalues": True}, 32 * 32),
    ("flow_equivariant_rnn", {"max_velocity": 2}, 32 * 20),
    ("flow_equivariant_rnn", {"max_velocity": 0}, 32 * 20),
]


def main() -> None:
    """Time ``--steps`` train steps per case after 3 warm-up steps."""
    import torch

    from benchmarks.machine import describe
    from orchestrator.registry import load

    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(describe(threads=1))
    print(f"| workload | config | ms/step (wall) | ms/step (CPU) | tokens/s (CPU) |")
    print("|---|---|---|---|---|")
    for name, over, tokens in CASES:
        wl = load(name)
        inst = wl.build(wl.make_config(over), "cpu")
        for step in range(3):
            inst.train_step(step)
        w0, c0 = time.perf_counter(), time.process_time()
        for step in range(3, 3 + args.steps):
            inst.train_step(step)
        wall, cpu = (time.perf_counter() - w0) / args.steps, (time.process_time() - c0) / args.steps
        print(f"| {name} | {over} | {1000 * wall:.1f} | {1000 * cpu:.1f} | {tokens / cpu:.0f} |", flush=True)
    print(describe(threads=1))


if __name__ == "__main__":
    main()
