"""Free space in the runs folder: a sweep stops while it can still save its state.

Tune's experiment state, trial checkpoints and the SQLite MLflow store all live under the runs
folder. Writing them to a full disk fails half-way (a truncated checkpoint, a store that refuses
rows), so the driver watches the free space and, below ``SEQLAB_MIN_FREE_MB`` (default 64 MB),
stops the sweep the way Ctrl-C does: the state is saved and ``seqlab run --resume`` finishes it
once space is back.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from orchestrator.yamlio import SpecError

MIN_FREE_MB = 64.0  # default floor; SEQLAB_MIN_FREE_MB overrides it


def min_free_mb() -> float:
    raw = os.environ.get("SEQLAB_MIN_FREE_MB", str(MIN_FREE_MB))
    try:
        value = float(raw)
    except ValueError:
        raise SpecError(f"SEQLAB_MIN_FREE_MB must be a number of megabytes, got {raw!r}") from None
    if value < 0:
        raise SpecError(f"SEQLAB_MIN_FREE_MB must be ≥ 0, got {raw!r}")
    return value


def shortage(folder: Path) -> str | None:
    """A one-line reason when ``folder``'s filesystem has less free space than the floor, else None."""
    floor = min_free_mb()
    probe = Path(folder)
    while not probe.exists() and probe != probe.parent:  # the folder may not be made yet
        probe = probe.parent
    free = shutil.disk_usage(probe).free / 2**20
    if free >= floor:
        return None
    return f"disk full: {Path(folder).resolve()} has {free:.0f} MB free, below SEQLAB_MIN_FREE_MB = {floor:g}"


def check_space(folder: Path) -> None:
    """Refuse to start a run in a folder whose disk is already (nearly) full."""
    reason = shortage(folder)
    if reason:
        raise SpecError(f"{reason}; free space there (or point --runs-dir elsewhere) and run again")
