"""HINT-lite: arithmetic expressions over digits with + - x and parentheses, values mod 100.

An expression is a random binary tree of ``n_ops`` operators over single digits, written in
infix with the parentheses that precedence and left associativity require, plus redundant
ones with probability ``p_paren``. Only (tokens, value) pairs leave this module for training;
``gold_heads`` (a dependency tree in HINT's convention) exists for tests and diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DIGITS = [str(i) for i in range(10)]
OPERATORS = ["+", "-", "*"]
PARENS = ["(", ")"]
VOCAB = DIGITS + OPERATORS + PARENS
W2I = {w: i for i, w in enumerate(VOCAB)}
MOD = 100
_PREC = {"+": 1, "-": 1, "*": 2}


@dataclass(frozen=True)
class Expr:
    """One expression: its tokens (strings), token ids and value mod ``MOD``."""

    tokens: tuple[str, ...]
    ids: tuple[int, ...]
    value: int

    @property
    def n_ops(self) -> int:
        """Number of operators in the expression."""
        return sum(t in OPERATORS for t in self.tokens)


def _apply(op: str, x: int, y: int) -> int:
    return {"+": x + y, "-": x - y, "*": x * y}[op] % MOD


def _tree(rng: np.random.Generator, n_ops: int):
    """A random binary tree: an int leaf or (op, left, right)."""
    if n_ops == 0:
        return int(rng.integers(10))
    k = int(rng.integers(n_ops))  # operators in the left subtree
    return (OPERATORS[int(rng.integers(3))], _tree(rng, k), _tree(rng, n_ops - 1 - k))


def _render(node, rng: np.random.Generator, p_paren: float) -> tuple[list[str], int]:
    if isinstance(node, int):
        return [str(node)], node
    op, left, right = node
    lt, lv = _render(left, rng, p_paren)
    rt, rv = _render(right, rng, p_paren)
    need_l = isinstance(left, tuple) and _PREC[left[0]] < _PREC[op]
    need_r = isinstance(right, tuple) and _PREC[right[0]] <= _PREC[op]
    if isinstance(left, tuple) and (need_l or rng.random() < p_paren):
        lt = ["("] + lt + [")"]
    if isinstance(right, tuple) and (need_r or rng.random() < p_paren):
        rt = ["("] + rt + [")"]
    return lt + [op] + rt, _apply(op, lv, rv)


def sample(rng: np.random.Generator, n_ops: int, p_paren: float = 0.15) -> Expr:
    """One expression with exactly ``n_ops`` operators."""
    tokens, value = _render(_tree(rng, n_ops), rng, p_paren)
    return Expr(tuple(tokens), tuple(W2I[t] for t in tokens), value)


def dataset(rng: np.random.Generator, n: int, ops: list[int], p_paren: float = 0.15) -> list[Expr]:
    """``n`` expressions, operator counts drawn uniformly from ``ops``."""
    return [sample(rng, int(rng.choice(ops)), p_paren) for _ in range(n)]


def evaluate(tokens: list[str] | tuple[str, ...]) -> int:
    """The value mod ``MOD`` of an infix expression (a reference evaluator for tests)."""
    return gold_tree_value(tokens)[1]


def gold_tree_value(tokens) -> tuple[list[int], int]:
    """HINT's dependency heads (operators head their operands, parentheses attach to the
    operator they enclose, root -1) and the value, by shunting-yard."""
    head = [-1] * len(tokens)
    values: list[int] = []  # indices of finished subtrees
    vals: dict[int, int] = {}
    ops: list[int] = []

    def reduce_op() -> None:
        o = ops.pop()
        r, l_ = values.pop(), values.pop()
        head[l_], head[r] = o, o
        vals[o] = _apply(tokens[o], vals[l_], vals[r])
        values.append(o)

    for i, t in enumerate(tokens):
        if t == "(":
            ops.append(i)
        elif t == ")":
            while tokens[ops[-1]] != "(":
                reduce_op()
            lp = ops.pop()
            head[lp], head[i] = values[-1], values[-1]
        elif t in OPERATORS:
            while ops and tokens[ops[-1]] != "(" and _PREC[tokens[ops[-1]]] >= _PREC[t]:
                reduce_op()
            ops.append(i)
        else:
            vals[i] = int(t)
            values.append(i)
    while ops:
        reduce_op()
    root = values.pop()
    head[root] = -1
    return head, vals[root]
