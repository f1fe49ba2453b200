"""Cross-field checks that workload Configs share (pydantic only: no torch, no numpy).

A Config calls these from a ``@model_validator(mode="after")`` so that ``seqlab validate``
refuses a value combination that would fail in every trial, naming the fields and their values.
Each raises ``ValueError`` (pydantic turns it into a ``ValidationError``) and returns nothing.
The runtime checks in the model and task code stay: they guard direct callers.
"""

from __future__ import annotations

from pydantic import BaseModel


def _named(cfg: BaseModel, name: str) -> str:
    return f"{name} ({getattr(cfg, name)})"


def _why(why: str) -> str:
    return f": {why}" if why else ""


def at_most(cfg: BaseModel, low: str, high: str, *, strict: bool = False, why: str = "") -> None:
    """``cfg.low <= cfg.high`` (``<`` with ``strict``)."""
    a, b = getattr(cfg, low), getattr(cfg, high)
    if (a >= b) if strict else (a > b):
        raise ValueError(f"{_named(cfg, low)} must be {'<' if strict else '<='} {_named(cfg, high)}{_why(why)}")


def divisible(cfg: BaseModel, numerator: str | tuple[str, ...], denominator: str, *, why: str = "") -> None:
    """The field ``numerator`` (or the product of the fields in a tuple) divides by ``denominator``."""
    names = (numerator,) if isinstance(numerator, str) else numerator
    value = 1
    for name in names:
        value *= getattr(cfg, name)
    shown = " x ".join(_named(cfg, n) for n in names) + (f" = {value}" if len(names) > 1 else "")
    if value % getattr(cfg, denominator):
        raise ValueError(f"{shown} is not divisible by {_named(cfg, denominator)}{_why(why)}")


def heads_fit(cfg: BaseModel, width: str = "d_model", heads: str = "n_heads", *, rope: bool = False) -> None:
    """Attention heads split ``width`` evenly (and, for rotary positions, into heads of even size)."""
    divisible(cfg, width, heads, why="attention splits it into equal heads")
    if rope and (getattr(cfg, width) // getattr(cfg, heads)) % 2:
        raise ValueError(
            f"{_named(cfg, width)} / {_named(cfg, heads)} = {getattr(cfg, width) // getattr(cfg, heads)}: "
            "rotary positions need an even head size"
        )


def odd(cfg: BaseModel, name: str, *, why: str = "") -> None:
    """The field is odd (a same-size convolution pads kernel // 2 on each side)."""
    if getattr(cfg, name) % 2 == 0:
        raise ValueError(f"{_named(cfg, name)} must be odd{_why(why)}")


def power_of_two(cfg: BaseModel, name: str, *, limit: int = 1024, why: str = "") -> None:
    """The field is a power of two in [1, limit]."""
    value = getattr(cfg, name)
    if value < 1 or value > limit or value & (value - 1):
        raise ValueError(f"{_named(cfg, name)} must be a power of two in [1, {limit}]{_why(why)}")
