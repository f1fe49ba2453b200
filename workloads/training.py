"""What the hand-written trainers of the workloads share: a cosine schedule with a floor, one
clipped optimiser step, and the (model, optimiser, schedule) checkpoint for the contract's
``state_dict`` / ``load_state_dict``. Free functions over torch objects; torch is imported by
the caller's module, never at ``seqlab list`` time."""

from __future__ import annotations

import math
from typing import Any


def cosine_schedule(opt: Any, steps: int, floor: float = 0.0) -> Any:
    """LambdaLR from 1 down to ``floor`` over ``steps`` (a half cosine), then held at ``floor``."""
    import torch

    def factor(step: int) -> float:
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * min(step, steps) / steps))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def optimiser_step(loss: Any, model: Any, opt: Any, sched: Any = None, clip: float | None = 1.0) -> float:
    """Backward of ``loss``, gradient-norm clip at ``clip`` (None: no clip), one optimiser and
    schedule step; returns the loss as a float."""
    import torch

    opt.zero_grad()
    loss.backward()
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    if sched is not None:
        sched.step()
    return float(loss.detach())


def training_state(model: Any, opt: Any, sched: Any) -> dict:
    """The checkpoint of a run: model, optimiser and schedule state dicts."""
    return {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}


def load_training_state(state: dict, model: Any, opt: Any, sched: Any) -> None:
    """Restore what :func:`training_state` saved, in place."""
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["opt"])
    sched.load_state_dict(state["sched"])
