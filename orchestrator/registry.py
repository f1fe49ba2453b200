"""Workloads are found through the ``seqlab.workloads`` entry points, and nowhere else.

Names are listed without importing anything; a workload's module is imported only when it is
selected (:func:`load`). A sweep file can therefore never name code to import.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points

from workloads.api import WorkloadDef

GROUP = "seqlab.workloads"


class UnknownWorkload(LookupError):
    """A name that no installed entry point provides."""


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def names() -> list[str]:
    """Sorted names of every registered workload, without importing any of them."""
    return sorted(_entry_points())


def closest(name: str, choices: list[str], n: int = 3) -> list[str]:
    """Up to ``n`` of ``choices`` that look like ``name`` (for 'did you mean' errors)."""
    return difflib.get_close_matches(name, choices, n=n, cutoff=0.5)


def load(name: str) -> WorkloadDef:
    """The workload registered as ``name``; imports its (light) module only now."""
    eps = _entry_points()
    if name not in eps:
        hint = closest(name, list(eps))
        suggestion = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise UnknownWorkload(f"unknown workload '{name}'{suggestion} (seqlab list shows all)")
    wl = eps[name].load()
    if not isinstance(wl, WorkloadDef):
        raise TypeError(f"entry point '{name}' gives {type(wl).__name__}, not a WorkloadDef")
    if wl.name != name:
        raise ValueError(f"entry point '{name}' gives a workload named '{wl.name}'")
    return wl
