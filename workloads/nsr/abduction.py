"""Deduction and abduction over one parse: evaluate the tree; when its value is wrong, search
for the most probable minimal edit that yields the gold value.

Edits, each with a cost (lower is more probable):

* value edit: force one node's value (found top-down: the root must equal y, so each child
  must take a value that makes its parent's program hit the parent's targets); cost
  ``c_val + conf(symbol)``, where conf = -log(1 - likelihood of the symbol's program);
* program edit: give one operator-like symbol another binary DSL program, cost ``c_prog + conf``;
* tree edit: rotate one arc (the child takes the parent's place, as in a tree rotation,
  keeping the tree projective and in order), cost ``c_tree``.

A beam search (width ``beam``, depth ``depth``) over tree and program edits, with value edits
closing a branch, returns the cheapest fix at the smallest depth that has one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from workloads.nsr.programs import BINARY, EMPTY, EMPTY_PROG, MISSING, Program, run, solve


@dataclass
class Fix:
    """An explanation of one example: a tree, program overrides, forced values, its cost."""

    head: list[int]
    cost: float
    progs: dict[int, Program] = field(default_factory=dict)
    forced: dict[int, int] = field(default_factory=dict)
    values: list = field(default_factory=list)


def children(head: list[int]) -> list[list[int]]:
    """Children of each node, in sentence order."""
    kids: list[list[int]] = [[] for _ in head]
    for d, h in enumerate(head):
        if h >= 0:
            kids[h].append(d)
    return kids


def evaluate(sent, head, progs, forced=None) -> list:
    """Every node's value, bottom-up (``forced`` values override a node's program)."""
    kids = children(head)
    vals: list = [MISSING] * len(sent)
    order, stack = [], [head.index(-1)]
    while stack:  # pre-order, then reversed = children before parents
        n = stack.pop()
        order.append(n)
        stack.extend(kids[n])
    for n in reversed(order):
        if forced and n in forced:
            vals[n] = forced[n]
        else:
            vals[n] = run(progs[sent[n]], tuple(vals[c] for c in kids[n]))
    return vals


def rotate(head: list[int], h: int, t: int) -> list[int]:
    """Rotate the arc h -> t: t takes h's place and h becomes t's child, staying projective."""
    head = head[:]
    kids = children(head)
    head[t], head[h] = head[h], t
    if h < t:  # t is a right child of h
        for j in kids[h]:
            if j > t:
                head[j] = t  # h's right children beyond t move under t
        for j in kids[t]:
            if j < t:
                head[j] = h  # t's left children move under h
    else:
        for j in kids[h]:
            if j < t:
                head[j] = t
        for j in kids[t]:
            if j > t:
                head[j] = h
    return head


class Abducer:
    """Finds fixes for (sentence, parse, gold value) under the current programs."""

    def __init__(self, progs: dict[int, Program], lik: dict[int, float], c_val: float, c_prog: float, c_tree: float, beam: int, depth: int) -> None:
        self.progs, self.beam, self.depth = progs, beam, depth
        self.conf = {s: -math.log(1.0 - min(lik.get(s, 0.0), 0.999) + 0.01) for s in progs}
        self.c_val, self.c_prog, self.c_tree = c_val, c_prog, c_tree

    def _progs(self, over: dict[int, Program]) -> dict[int, Program]:
        return {**self.progs, **over} if over else self.progs

    def value_edits(self, sent, fix: Fix, y: int) -> list[Fix]:
        """Fixes that force one node's value, found by propagating targets top-down."""
        progs = self._progs(fix.progs)
        kids = children(fix.head)
        out, todo = [], [(fix.head.index(-1), frozenset([y]))]
        while todo:
            n, targets = todo.pop()
            prog = progs[sent[n]]
            if prog is EMPTY_PROG:
                continue
            cost = fix.cost + self.c_val + self.conf[sent[n]]
            out.append(Fix(fix.head, cost, fix.progs, {**fix.forced, n: min(targets)}))
            inputs = tuple(fix.values[c] for c in kids[n])
            for pos, c in enumerate(kids[n]):
                if fix.values[c] == EMPTY:
                    continue
                sub = solve(prog, inputs, pos, targets)
                if sub:
                    todo.append((c, sub))
        return out

    def neighbours(self, sent, fix: Fix) -> list[Fix]:
        """One tree edit (an arc rotation) or one program edit away from ``fix``."""
        out = []
        for t, h in enumerate(fix.head):
            if h >= 0:
                out.append(Fix(rotate(fix.head, h, t), fix.cost + self.c_tree, fix.progs, {}))
        kids = children(fix.head)
        progs = self._progs(fix.progs)
        seen = set()
        for n, s in enumerate(sent):
            if s in seen or s in fix.progs or progs[s] is EMPTY_PROG:
                continue
            if sum(fix.values[c] != EMPTY for c in kids[n]) == 2:
                seen.add(s)
                for p in BINARY:
                    if p is not progs[s]:
                        out.append(Fix(fix.head, fix.cost + self.c_prog + self.conf[s], {**fix.progs, s: p}, {}))
        return out

    def search(self, sent, starts: list[Fix], y: int) -> tuple[Fix | None, int]:
        """The cheapest fix at the smallest edit depth (None if none), and that depth."""
        frontier, frontier_prev = starts, []
        for depth in range(self.depth + 1):
            sols, rest = [], []
            for fix in frontier:
                fix.values = evaluate(sent, fix.head, self._progs(fix.progs), fix.forced)
                (sols if fix.values[fix.head.index(-1)] == y else rest).append(fix)
            if depth > 0:
                for fix in frontier_prev:
                    sols.extend(self.value_edits(sent, fix, y))
            if sols:
                best = min(sols, key=lambda f: f.cost)
                if not best.values:
                    best.values = evaluate(sent, best.head, self._progs(best.progs), best.forced)
                return best, depth
            if depth == self.depth:
                break
            frontier_prev = sorted(rest, key=lambda f: f.cost)[: self.beam]
            frontier, seen = [], set()
            for fix in frontier_prev:
                for nb in self.neighbours(sent, fix):
                    key = (tuple(nb.head), tuple(sorted((k, p.name) for k, p in nb.progs.items())))
                    if key not in seen:
                        seen.add(key)
                        frontier.append(nb)
        # last resort at full depth: value edits on the remaining beam
        sols = [f for fix in sorted(rest, key=lambda f: f.cost)[: self.beam] for f in self.value_edits(sent, fix, y)]
        if not sols:
            return None, -1
        best = min(sols, key=lambda f: f.cost)
        best.values = evaluate(sent, best.head, self._progs(best.progs), best.forced)
        return best, self.depth + 1
