"""The workload contract: what a paper plugin gives Seqlab, and what Seqlab asks of it.

A workload is one folder ``workloads/<slug>/`` whose ``__init__.py`` defines ``WORKLOAD``,
a :class:`WorkloadDef`, and is registered in pyproject under the entry-point group
``seqlab.workloads``. That module stays light (pydantic only): the model code and torch are
imported inside ``build``, so ``seqlab list`` answers without loading any of them.

The orchestrator owns the loop::

    inst = wl.build(cfg, "cpu")
    for step in range(cfg.steps):
        inst.train_step(step)                 # one optimisation step
        if (step + 1) % cfg.eval_every == 0 or step + 1 == cfg.steps:
            report(inst.evaluate(), step)     # holds wl.metric

and seeding, reporting, checkpoints, pruning and time limits with it, so no workload imports
Ray or MLflow.

Rules a workload keeps (the conformance suite in ``workloads.testing`` checks them):

* ``build`` seeds everything it draws from ``cfg.seed``.
* The batch of ``train_step(step)`` depends only on ``(cfg.seed, step)``. Calling
  ``train_step(0)`` again and again therefore trains on one fixed batch, and a restored
  trial sees the same data it would have seen without the interruption.
* ``train_step`` returns finite floats including ``"loss"``.
* ``evaluate`` is deterministic for a given state and returns ``wl.metric``.
* ``state_dict``/``load_state_dict``, where offered, restore everything ``evaluate`` and
  later ``train_step`` calls depend on (model, optimiser, schedules).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["min", "max"]


class WorkloadConfig(BaseModel):
    """Fields every workload's ``Config`` carries; a workload adds its own below them.

    Configs are frozen and reject unknown fields. Every field carries a one-line
    ``description``: ``seqlab describe`` prints it, and the sweep validator checks sweep
    parameters against these fields and their types. A constraint between fields (``n_min <=
    n_max``, ``d_model`` divisible by ``n_heads``) goes in a ``@model_validator(mode="after")``
    whose message names the fields and their values (shared ones: :mod:`workloads.checks`), so
    ``seqlab validate`` refuses the file instead of every trial failing in ``build``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(0, description="Seeds model init, data and every random draw.")
    steps: int = Field(100, ge=1, description="Optimisation steps (train_step calls).")
    eval_every: int = Field(50, ge=1, description="Evaluate and report every this many steps.")


@runtime_checkable
class Trainable(Protocol):
    """What ``build`` returns: one run of a workload, driven step by step."""

    def train_step(self, step: int) -> Mapping[str, float]:
        """One optimisation step on the batch for ``step``; returns at least ``loss``.

        Metrics are a function of (seed, step) and the state, except those under ``time/``
        (e.g. ``time/tokens_per_s``), which the conformance suite's restore check ignores.
        """
        ...

    def evaluate(self) -> Mapping[str, float]:
        """Deterministic evaluation; returns at least the workload's objective metric."""
        ...


@runtime_checkable
class Checkpointable(Protocol):
    """Optional: lets a retried or restored trial resume instead of restarting."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class WorkloadDef:
    """A workload's registration: what the orchestrator needs to know to drive it.

    Args:
        name: the entry-point name, also the folder name (``mamba``).
        title: the paper's title.
        arxiv: the paper's arXiv id (``"2312.00752"``), or ``""`` when it has none.
        family: the issue family (foundation, recurrent, attention, ...).
        config: the frozen pydantic ``Config`` class; its defaults are the paper's toy setting.
        build: ``build(cfg, device) -> Trainable``; imports torch and the model inside.
        metric: the objective metric name reported by ``evaluate`` (``val/acc``).
        mode: ``"max"`` or ``"min"`` for ``metric``.
        summary: one line for ``seqlab list``.
        pipeline: optional; for workloads that can run as a DeepSpeed pipeline
            (``kind: job`` with a ``parallelism`` block). See ``orchestrator/job.py``.
        uses_torch: False for a workload that never touches torch (numpy only): its trials then
            skip importing torch (about a second per trial process) to set threads and seeds.
        checkpointable: False for a workload whose runs offer no ``state_dict`` (the conformance
            suite checks the flag); population-based training refuses it.
    """

    name: str
    title: str
    arxiv: str
    family: str
    config: type[WorkloadConfig]
    build: Callable[[Any, str], Trainable]
    metric: str
    mode: Mode
    summary: str = ""
    pipeline: Callable[[Any], Any] | None = None
    uses_torch: bool = True
    checkpointable: bool = True

    def make_config(self, values: Mapping[str, Any] | None = None) -> WorkloadConfig:
        """The workload's Config from plain (YAML) values; raises pydantic's ValidationError."""
        return self.config.model_validate(dict(values or {}))
