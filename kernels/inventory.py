"""Which backend of each op can run on this machine, and which one the automatic choice takes.

``seqlab kernels`` prints it: the first thing to look at when a run is slower than expected (no
C++ compiler, so the chunked path instead of the compiled CPU kernel; no CUDA; Triton missing).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from kernels.dispatch import BACKENDS, BackendUnavailable, pick_backend


def ops() -> list[str]:
    """Every op folder under kernels/ (a package with a public function of its own name)."""
    root = Path(__file__).resolve().parent
    return sorted(p.parent.name for p in root.glob("*/__init__.py"))


@dataclass(frozen=True)
class OpBackends:
    """One op: per backend "yes" or why it cannot run here ("—" when the op has none), and the
    automatic choice on CPU and on CUDA (None when this machine has no CUDA)."""

    op: str
    backends: dict[str, str]
    auto_cpu: str
    auto_cuda: str | None


def _compiled_loader(op: str):
    """The op's compiled-kernel loader (``kernels/<op>/cpp.py: library``), or None."""
    try:
        return importlib.import_module(f"kernels.{op}.cpp").library
    except ModuleNotFoundError:
        return None


def inspect(op: str) -> OpBackends:
    """Try every backend of ``op`` on this machine without running it."""
    import torch

    package = importlib.import_module(f"kernels.{op}")
    loader = _compiled_loader(op)
    cuda = torch.cuda.is_available()
    status = {}
    for backend in BACKENDS:
        if f"{backend}_{op}" not in package.__all__:
            status[backend] = "—"
            continue
        device = "cuda" if backend == "triton" and cuda else "cpu"
        try:
            pick_backend(op, backend, device, compiled_cpu=loader)
            status[backend] = "yes"
        except BackendUnavailable as err:
            status[backend] = str(err).split(" requested but ", 1)[-1].replace(f"tensors are on {device}; ", "")
    return OpBackends(
        op=op,
        backends=status,
        auto_cpu=pick_backend(op, None, "cpu", compiled_cpu=loader),
        auto_cuda=pick_backend(op, None, "cuda", compiled_cpu=loader) if cuda else None,
    )
