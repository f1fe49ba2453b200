"""Count-based next-element predictors: Markov-k with back-off, the prefix-tree automaton, ALERGIA.

Each predictor is fitted on a list of traces and answers ``counts(prefix) -> Counter`` (how often
each event followed the state the prefix reaches) and ``predict(prefix) -> event id`` (the most
frequent one). ``BOS`` pads the start so a context can say "the trace begins here".
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np

BOS = -1


class MarkovBackoff:
    """k-th order Markov chain: the longest context (k, k−1, …, 0 events) seen in training decides."""

    def __init__(self, traces: list[np.ndarray], k: int) -> None:
        self.k = k
        self.table: dict[tuple, Counter] = defaultdict(Counter)
        for trace in traces:
            padded = [BOS] * k + trace.tolist()
            for i in range(k, len(padded)):
                for j in range(0, k + 1):  # every context length, for back-off
                    self.table[tuple(padded[i - j : i])][padded[i]] += 1

    def counts(self, prefix: list[int]) -> Counter:
        """Next-event counts after the longest suffix of ``prefix`` seen in training."""
        padded = [BOS] * self.k + list(prefix)
        for j in range(self.k, -1, -1):
            ctx = tuple(padded[len(padded) - j :]) if j else ()
            if ctx in self.table:
                return self.table[ctx]
        raise ValueError("empty model")

    def predict(self, prefix: list[int]) -> int:
        """Most frequent next event after the longest seen suffix of ``prefix``."""
        return self.counts(prefix).most_common(1)[0][0]


class PrefixTree:
    """Transition system with the full prefix as state (process mining); unseen prefixes back off to ``fallback``."""

    def __init__(self, traces: list[np.ndarray], fallback: MarkovBackoff) -> None:
        self.fallback = fallback
        self.table: dict[tuple, Counter] = defaultdict(Counter)
        for trace in traces:
            t = trace.tolist()
            for i in range(len(t)):
                self.table[tuple(t[:i])][t[i]] += 1

    def counts(self, prefix: list[int]) -> Counter:
        """Continuation counts of exactly this prefix, else the fallback's."""
        key = tuple(prefix)
        return self.table[key] if key in self.table else self.fallback.counts(prefix)

    def predict(self, prefix: list[int]) -> int:
        """Most frequent continuation of exactly this prefix, else the fallback's prediction."""
        return self.counts(prefix).most_common(1)[0][0]


class _Node:
    __slots__ = ("count", "out", "child")

    def __init__(self) -> None:
        self.count = 0
        self.out: Counter = Counter()
        self.child: dict[int, _Node] = {}


class Alergia:
    """ALERGIA (Carrasco and Oncina 1994): merge states of the frequency prefix tree that pass a
    Hoeffding test at level ``alpha``, in red-blue order. The END event is an ordinary symbol.
    A prefix that leaves the learned automaton is answered by ``fallback``.
    """

    def __init__(self, traces: list[np.ndarray], alpha: float, fallback: MarkovBackoff) -> None:
        self.alpha, self.fallback = alpha, fallback
        self.root = _Node()
        for trace in traces:
            node = self.root
            for event in trace.tolist():
                node.count += 1
                node.out[event] += 1
                node = node.child.setdefault(event, _Node())
        self._merge_all()

    def _different(self, n1: int, f1: int, n2: int, f2: int) -> bool:
        bound = math.sqrt(0.5 * math.log(2.0 / self.alpha)) * (1 / math.sqrt(n1) + 1 / math.sqrt(n2))
        return abs(f1 / n1 - f2 / n2) > bound

    def _compatible(self, a: _Node, b: _Node) -> bool:
        if a.count == 0 or b.count == 0:
            return True
        for sym in set(a.out) | set(b.out):
            if self._different(a.count, a.out[sym], b.count, b.out[sym]):
                return False
        return all(self._compatible(a.child[s], b.child[s]) for s in set(a.child) & set(b.child))

    def _fold(self, red: _Node, blue: _Node) -> None:
        red.count += blue.count
        red.out.update(blue.out)
        for sym, sub in blue.child.items():
            if sym in red.child:
                self._fold(red.child[sym], sub)
            else:
                red.child[sym] = sub

    def _merge_all(self) -> None:
        red: list[_Node] = [self.root]
        red_ids = {id(self.root)}
        while True:
            blue = [(r, s, c) for r in red for s, c in sorted(r.child.items()) if id(c) not in red_ids]
            if not blue:
                return
            parent, sym, node = blue[0]
            for r in red:
                if self._compatible(r, node):
                    parent.child[sym] = r
                    self._fold(r, node)
                    break
            else:
                red.append(node)
                red_ids.add(id(node))

    def n_states(self) -> int:
        """States of the learned automaton (reachable from the root)."""
        seen, stack = set(), [self.root]
        while stack:
            n = stack.pop()
            if id(n) not in seen:
                seen.add(id(n))
                stack.extend(n.child.values())
        return len(seen)

    def counts(self, prefix: list[int]) -> Counter:
        """Outgoing counts of the state the prefix reaches, else the fallback's."""
        node = self.root
        for event in prefix:
            if event not in node.child:
                return self.fallback.counts(prefix)
            node = node.child[event]
        return node.out if node.out else self.fallback.counts(prefix)

    def predict(self, prefix: list[int]) -> int:
        """Most frequent continuation from the state the prefix reaches, else the fallback's."""
        return self.counts(prefix).most_common(1)[0][0]
