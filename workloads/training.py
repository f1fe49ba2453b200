"""What the hand-written trainers of the workloads share: a cosine schedule with a floor, one
clipped optimiser step, and the (model, optimiser, schedule) checkpoint for the contract's
``state_dict`` / ``load_state_dict``. Free functions over torch objects; torch is imported by
the caller's module, never at ``seqlab list`` time."""

from __future__ import annotations

import contextlib
import contextvars
import math
from typing import Any, Iterator

# Set while a trial restores a checkpoint saved under other hyperparameters (a PBT exploit).
_RETUNING: contextvars.ContextVar[bool] = contextvars.ContextVar("retuning", default=False)


@contextlib.contextmanager
def retuning() -> Iterator[None]:
    """Restores inside this block keep the optimisers' hyperparameters of the new Config.

    A population-based-training exploit restores another trial's checkpoint into a model
    built from a perturbed Config. The optimiser's state dict carries the donor's learning
    rate (and momentum, weight decay, ...), which would silently undo the perturbation. Inside
    this block :func:`load_training_state` keeps the per-parameter state (moments, step counts)
    from the checkpoint and the hyperparameters from the optimiser as built now; a schedule
    keeps its position, rescaled to the new base learning rate. The orchestrator enters it when
    the checkpoint's Config differs from the trial's; a plain resume restores everything.
    """
    token = _RETUNING.set(True)
    try:
        yield
    finally:
        _RETUNING.reset(token)


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
    fresh = _hyperparameters(opt) if _RETUNING.get() else None
    _load(opt, state["opt"], "opt")
    if sched is not None:
        _load(sched, state["sched"], "sched")
    if fresh is not None:
        _retune(opt, sched, fresh)
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


def _optimisers(opt: Any) -> list[Any]:
    return list(opt.values()) if isinstance(opt, dict) else [opt]


def _hyperparameters(opt: Any) -> list[list[dict]]:
    """Each optimiser's param groups without their parameters, as built from the Config."""
    return [[{k: v for k, v in group.items() if k != "params"} for group in o.param_groups] for o in _optimisers(opt)]


def _retune(opt: Any, sched: Any, fresh: list[list[dict]]) -> None:
    """Put the new Config's hyperparameters on restored optimisers (see :func:`retuning`).

    A group's learning rate is the new base rate times where the restored schedule stands
    (``lr / initial_lr`` of the checkpoint; 1 without a schedule)."""
    for o, groups in zip(_optimisers(opt), fresh):
        for group, new in zip(o.param_groups, groups):
            base = new.get("initial_lr", new.get("lr"))
            position = group["lr"] / group["initial_lr"] if group.get("initial_lr") else 1.0
            group.update(new)
            if base is not None:
                group["lr"] = base * position
                if "initial_lr" in group:
                    group["initial_lr"] = base
    for s in _optimisers(sched) if sched is not None else []:
        if hasattr(s, "base_lrs"):
            s.base_lrs = [group.get("initial_lr", group["lr"]) for group in s.optimizer.param_groups]
