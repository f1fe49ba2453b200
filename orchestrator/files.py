"""The three kinds of Seqlab file (sweep, job, claim): which one a file is, and loading it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from orchestrator.yamlio import read_yaml

Kind = Literal["sweep", "job", "claim"]


def kind_of(data: Any) -> Kind:
    """``job`` (``kind: job``), ``claim`` (has ``arms``) or ``sweep``, from the top-level keys."""
    if isinstance(data, dict) and data.get("kind") == "job":
        return "job"
    if isinstance(data, dict) and "arms" in data:
        return "claim"
    return "sweep"  # a file that is none of them is reported by the sweep loader


def file_kind(path: Path) -> Kind:
    """The kind of the file at ``path``; a :class:`SpecError` when it is missing or not YAML."""
    data, _ = read_yaml(path)
    return kind_of(data)


def load_any(path: Path, *, check: bool = True) -> tuple[Kind, Any, str]:
    """(kind, validated spec, text) of a sweep, job or claim file, as ``seqlab run`` reads it.

    ``check=False`` skips a job's checks against the live cluster (its resources).
    """
    kind = file_kind(path)
    if kind == "claim":
        from orchestrator.claims import load_claim

        spec, text = load_claim(path)
    elif kind == "job":
        from orchestrator.job_spec import load_job

        spec, text = load_job(path, check=check)
    else:
        from orchestrator.spec import load_sweep

        spec, text = load_sweep(path)
    return kind, spec, text


def workload_of(kind: Kind, spec: Any) -> str:
    """The workload a spec runs; a claim's arms' workloads, comma-separated."""
    if kind == "claim":
        return ",".join(sorted({arm.workload for arm in spec.arms.values()}))
    return spec.workload
