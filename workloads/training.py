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


def training_state(model: Any, opt: Any, sched: Any = None, **extra: Any) -> dict:
    """The checkpoint of a run: ``{"model", "opt"[, "sched"], **extra}``. ``model`` and ``opt``
    may each be one object or a mapping name -> object (several models / optimisers); objects
    in ``extra`` that have ``state_dict`` are saved by it, anything else (step counters, RNG
    states) as is."""
    state = {"model": _save(model), "opt": _save(opt)}
    if sched is not None:
        state["sched"] = _save(sched)
    for key, value in extra.items():
        if key in state:
            raise ValueError(f"training_state: extra entry {key!r} clashes with a reserved key")
        state[key] = _save(value) if hasattr(value, "state_dict") else value
    return state


def load_training_state(state: dict, model: Any, opt: Any, sched: Any = None, **extra: Any) -> dict:
    """Restore what :func:`training_state` saved, in place; ``extra`` names objects with
    ``load_state_dict`` to restore from their entries. Returns the plain extra entries (those
    not restored here). A missing or unexpected entry raises ``KeyError`` naming it."""
    expected = {"model", "opt", *extra} | ({"sched"} if sched is not None else set())
    missing = expected - state.keys()
    if missing:
        raise KeyError(f"checkpoint lacks {sorted(missing)} (has {sorted(state)})")
    if sched is None and "sched" in state:
        raise KeyError("checkpoint has a 'sched' entry but no schedule was given to restore it into")
    _load(model, state["model"], "model")
    _load(opt, state["opt"], "opt")
    if sched is not None:
        _load(sched, state["sched"], "sched")
    for key, target in extra.items():
        _load(target, state[key], key)
    return {k: v for k, v in state.items() if k not in expected}


def _save(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {name: o.state_dict() for name, o in obj.items()}
    return obj.state_dict()


def _load(obj: Any, saved: Any, what: str) -> None:
    if isinstance(obj, dict):
        if set(obj) != set(saved):
            raise KeyError(f"checkpoint {what!r} holds {sorted(saved)}, expected {sorted(obj)}")
        for name, o in obj.items():
            o.load_state_dict(saved[name])
    else:
        obj.load_state_dict(saved)
