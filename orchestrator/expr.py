"""The claim expression grammar: a tiny parser and evaluator (never ``eval``).

::

    expectation := sum CMP sum                    CMP: < <= > >= ==
    sum         := term (("+" | "-") term)*
    term        := unary (("*" | "/") unary)*
    unary       := "-" unary | atom
    atom        := NUMBER | "(" sum ")" | "abs" "(" sum ")"
                 | STAT "(" ARM ["," STRING] ")"  STAT: mean std min max

``mean(s6)`` is the mean over seeds of arm ``s6``'s final value of the claim's metric;
``mean(s6, 'val/loss')`` names another metric the arm reports.
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence, Union

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
    r"|(?P<str>'[^']*'|\"[^\"]*\")|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><=|>=|==|[-+*/(),<>]))"
)
STATS: dict[str, Callable[[Sequence[float]], float]] = {
    "mean": statistics.fmean,
    "std": lambda xs: statistics.stdev(xs) if len(xs) > 1 else 0.0,
    "min": min,
    "max": max,
}
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12),
}


MAX_DEPTH = 100  # nesting an expectation may use (brackets, abs, minus signs)


class ExprError(ValueError):
    """An expectation that does not parse, or names an arm that does not exist."""


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Stat:
    fn: str
    arm: str
    metric: str | None


@dataclass(frozen=True)
class Abs:
    arg: "Node"


@dataclass(frozen=True)
class Neg:
    arg: "Node"


@dataclass(frozen=True)
class BinOp:
    op: str
    left: "Node"
    right: "Node"


Node = Union[Num, Stat, Abs, Neg, BinOp]


@dataclass(frozen=True)
class Expectation:
    text: str
    left: Node
    op: str
    right: Node

    def arms(self) -> set[str]:
        return _arms(self.left) | _arms(self.right)


def _arms(node: Node) -> set[str]:
    if isinstance(node, Stat):
        return {node.arm}
    if isinstance(node, (Abs, Neg)):
        return _arms(node.arg)
    if isinstance(node, BinOp):
        return _arms(node.left) | _arms(node.right)
    return set()


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExprError(f"cannot read {text[pos:].strip()[:12]!r} in {text!r}")
        kind = match.lastgroup
        out.append((kind, match[kind]))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0  # open brackets and leading minus signs, bounded so evaluate() cannot recurse too deep

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError(f"nested more than {MAX_DEPTH} deep (brackets, abs or minus signs) in {self.text[:60]!r}")

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value) or (kind is not None and tok[0] != kind):
            want = value or kind or "more"
            got = tok[1] if tok else "the end"
            raise ExprError(f"expected {want} but found {got} in {self.text!r}")
        self.i += 1
        return tok[1]

    def expectation(self) -> Expectation:
        left = self.sum()
        tok = self.peek()
        if tok is None or tok[1] not in COMPARISONS:
            raise ExprError(f"an expectation needs one comparison (< <= > >= ==): {self.text!r}")
        op = self.take()
        right = self.sum()
        if self.peek() is not None:
            raise ExprError(f"unexpected {self.peek()[1]!r} after the comparison in {self.text!r}")
        return Expectation(self.text, left, op, right)

    def sum(self) -> Node:
        node = self.term()
        while self.peek() and self.peek()[1] in "+-" and self.peek()[0] == "op":
            op = self.take()
            node = BinOp(op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.peek() and self.peek()[1] in ("*", "/"):
            op = self.take()
            node = BinOp(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.peek() and self.peek()[1] == "-":
            self.take()
            self.nest()
            node = Neg(self.unary())
            self.depth -= 1
            return node
        return self.atom()

    def atom(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise ExprError(f"expression ends early: {self.text!r}")
        kind, value = tok
        if kind == "num":
            self.take()
            return Num(float(value))
        if value == "(":
            self.take()
            self.nest()
            node = self.sum()
            self.take(")")
            self.depth -= 1
            return node
        if kind == "name" and value == "abs":
            self.take()
            self.take("(")
            self.nest()
            node = self.sum()
            self.take(")")
            self.depth -= 1
            return Abs(node)
        if kind == "name" and value in STATS:
            self.take()
            self.take("(")
            arm = self.take(kind="name")
            metric = None
            if self.peek() and self.peek()[1] == ",":
                self.take(",")
                metric = self.take(kind="str")[1:-1]
            self.take(")")
            return Stat(value, arm, metric)
        raise ExprError(
            f"unknown name {value!r} in {self.text!r} (use mean/std/min/max(arm), abs(...), numbers)"
        )


def parse(text: str) -> Expectation:
    """Parse one expectation; :class:`ExprError` says what is wrong with it."""
    try:
        return _Parser(text).expectation()
    except RecursionError:  # only from a caller already deep in the stack: MAX_DEPTH bounds the parser
        raise ExprError(f"nested too deeply (brackets, abs or minus signs) in {text[:60]!r}") from None


Values = Mapping[str, Mapping[str, Sequence[float]]]  # arm -> metric -> one value per seed


def evaluate(node: Node, values: Values, default_metric: str) -> float:
    """The value of ``node`` given each arm's per-seed metric values."""
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Stat):
        metric = node.metric or default_metric
        series = list(values.get(node.arm, {}).get(metric, []))
        if not series:
            raise ExprError(f"arm {node.arm!r} has no results for {metric!r}")
        if not all(math.isfinite(x) for x in series):  # a diverged seed: statistics.stdev would raise
            raise ExprError(f"arm {node.arm!r} has a non-finite {metric!r} ({', '.join(f'{x:g}' for x in series)})")
        try:
            return STATS[node.fn](series)
        except OverflowError:
            raise ExprError(f"{node.fn}({node.arm}) overflows on {metric!r}") from None
    if isinstance(node, Abs):
        return abs(evaluate(node.arg, values, default_metric))
    if isinstance(node, Neg):
        return -evaluate(node.arg, values, default_metric)
    left = evaluate(node.left, values, default_metric)
    right = evaluate(node.right, values, default_metric)
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    if right == 0:
        raise ExprError("division by zero")
    return left / right


def check(exp: Expectation, values: Values, default_metric: str) -> tuple[bool, float | None, float | None, str | None]:
    """(holds, left value, right value, problem) for one expectation."""
    try:
        left = evaluate(exp.left, values, default_metric)
        right = evaluate(exp.right, values, default_metric)
    except ExprError as err:
        return False, None, None, str(err)
    return COMPARISONS[exp.op](left, right), left, right, None
