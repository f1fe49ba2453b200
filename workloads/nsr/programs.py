"""Semantics: each symbol's meaning is a program from a small DSL, induced by enumeration.

A program maps the list of its node's (non-empty) children values to a value mod 100.
The DSL: constants 0..99 (arity 0), identity (arity 1), and add, sub, rsub, mul, max, min,
first, second (arity 2), all mod 100. Nothing says which symbol means what: ``induce`` picks,
per symbol, the program that explains the most abduced examples (input values, output value).

Parentheses carry no value (EMPTY), as in the reference implementation (liqing-ustc/NSR,
which does not learn parenthesis semantics either); their children's values are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

MOD = 100
EMPTY = -1  # the value of a parenthesis: ignored by its parent
MISSING = None  # no value: wrong arity, or an unknown program


@dataclass(frozen=True)
class Program:
    """One DSL program: a name, an arity and its function on a tuple of ints."""

    name: str
    arity: int
    fn: Callable[[tuple[int, ...]], int]

    def __call__(self, inputs: tuple[int, ...]):
        """The value on ``inputs``, or MISSING when the arity does not match."""
        if len(inputs) != self.arity:
            return MISSING
        return self.fn(inputs)


def _const(c: int) -> Program:
    return Program(str(c), 0, lambda xs: c)


BINARY = [
    Program("add", 2, lambda xs: (xs[0] + xs[1]) % MOD),
    Program("sub", 2, lambda xs: (xs[0] - xs[1]) % MOD),
    Program("rsub", 2, lambda xs: (xs[1] - xs[0]) % MOD),
    Program("mul", 2, lambda xs: (xs[0] * xs[1]) % MOD),
    Program("max", 2, lambda xs: max(xs)),
    Program("min", 2, lambda xs: min(xs)),
    Program("first", 2, lambda xs: xs[0]),
    Program("second", 2, lambda xs: xs[1]),
]
DSL: list[Program] = [_const(c) for c in range(MOD)] + [Program("id", 1, lambda xs: xs[0])] + BINARY
UNKNOWN = Program("?", -1, lambda xs: MISSING)  # before any induction: explains nothing
EMPTY_PROG = Program("empty", -1, lambda xs: EMPTY)


def run(prog: Program, inputs: tuple[int, ...]):
    """A node's value from its program and its children's values (EMPTY children dropped)."""
    if prog is EMPTY_PROG:
        return EMPTY
    if any(v is MISSING for v in inputs):
        return MISSING
    return prog(tuple(v for v in inputs if v != EMPTY))


def solve(prog: Program, inputs: tuple, pos: int, targets: frozenset[int]) -> frozenset[int]:
    """Values of ``inputs[pos]`` (among the non-EMPTY inputs) that make ``prog`` hit ``targets``."""
    if prog is EMPTY_PROG or any(v is MISSING for i, v in enumerate(inputs) if i != pos):
        return frozenset()
    out = set()
    xs = list(inputs)
    for v in range(MOD):
        xs[pos] = v
        if run(prog, tuple(xs)) in targets:
            out.add(v)
    return frozenset(out)


def induce(examples: list[tuple[tuple[int, ...], int]]) -> tuple[Program, float]:
    """The DSL program matching the most (inputs, output) examples, and its match rate."""
    if not examples:
        return UNKNOWN, 0.0
    by_arity: dict[int, list] = {}
    for xs, y in examples:
        by_arity.setdefault(len(xs), []).append((xs, y))
    consts: dict[int, int] = {}
    for _, y in by_arity.get(0, []):
        consts[y] = consts.get(y, 0) + 1
    best, best_hits = UNKNOWN, 0
    for prog in DSL:
        if prog.arity == 0:
            hits = consts.get(int(prog.name), 0)
        else:
            hits = sum(prog.fn(xs) == y for xs, y in by_arity.get(prog.arity, []))
        if hits > best_hits:
            best, best_hits = prog, hits
    return best, best_hits / len(examples)
