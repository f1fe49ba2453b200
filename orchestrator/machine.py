"""Where a figure came from: the CPU, its cores and the load (boards and benchmarks record it)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load() -> str:
    """The 1, 5 and 15-minute load averages."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def describe() -> str:
    """CPU model, cores and load average, in one line."""
    return f"{cpu_model()}, {os.cpu_count()} cores; load average {load()}"
