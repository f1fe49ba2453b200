"""Training throughput of the algorithmic-2 workloads (verbatim_memory, bigram_subnetworks,
structformer) at their default (claim) configs, one thread, on this machine.

Run: python benchmarks/algorithmic2_throughput.py [--steps 30]
Prints a table (steps/s, tokens/s) and the machine (CPU model, cores, torch, load average).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

# workload, config overrides, tokens per train_step at those settings
CASES = [
    ("verbatim_memory", {"arch": "transformer", "n_layers": 2}, 16 * 95),
    ("verbatim_memory", {"arch": "transformer", "n_layers": 1}, 16 * 95),
    ("verbatim_memory", {"arch": "lstm"}, 16 * 95),
    ("bigram_subnetworks", {}, 16 * 63),  # LM phase (steps < lm_steps)
    ("structformer", {}, None),  # 64 sentences of 5-20 words
]


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or platform's guess)."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    """Time ``--steps`` train steps per case after 3 warm-up steps."""
    import torch

    from orchestrator.registry import load

    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"CPU: {cpu_model()}, cores: {os.cpu_count()}, torch {torch.__version__}, load {os.getloadavg()}")
    print(f"{'workload':20s} {'config':38s} {'ms/step':>8s} {'steps/s':>8s} {'tokens/s':>9s}")
    for name, over, tokens in CASES:
        wl = load(name)
        inst = wl.build(wl.make_config(over), "cpu")
        for step in range(3):
            inst.train_step(step)
        t0 = time.perf_counter()
        for step in range(3, 3 + args.steps):
            inst.train_step(step)
        dt = (time.perf_counter() - t0) / args.steps
        tok = f"{tokens / dt:9.0f}" if tokens else f"{'~' + str(int(64 * 10.5 / dt)):>9s}"
        print(f"{name:20s} {str(over):38s} {1000 * dt:8.1f} {1 / dt:8.1f} {tok}")
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
