"""One line that says where a benchmark's numbers came from (shared by every script here)."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone

from orchestrator.machine import cpu_model


def describe(device: str = "cpu", threads: int | None = None) -> str:
    """Date, CPU model and cores, GPU if used, torch version, threads and load average."""
    import torch

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    gpu = f", GPU {torch.cuda.get_device_name()}" if device == "cuda" and torch.cuda.is_available() else ""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    thread_note = f"; {threads} thread(s)" if threads else ""
    return (
        f"{when}; {cpu_model()}, {os.cpu_count()} cores{gpu}; Python {platform.python_version()}; "
        f"torch {torch.__version__}{thread_note}; load average {load}"
    )
