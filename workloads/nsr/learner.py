"""NSR-lite: deduction-abduction learning of a parser and per-symbol programs from
(expression, value) pairs alone. One ``train_step`` is one EM iteration:

1. deduce: sample ``samples`` parses per training expression (plus the greedy one) and
   evaluate them with the current programs;
2. abduce: when none gives the gold value, beam-search the cheapest minimal edit
   (abduction.py) that does;
3. re-induce each symbol's program from the (inputs, output) pairs at the nodes of the fixed
   trees of the last ``memory`` iterations (programs.py);
4. retrain the parser on the fixed trees in which every node has a value (parser.py).
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch

from workloads.nsr import parser as P
from workloads.nsr.abduction import Abducer, Fix, children, evaluate
from workloads.nsr.programs import EMPTY, EMPTY_PROG, MISSING, UNKNOWN, induce
from workloads.tasks import arith

N_SYM = len(arith.VOCAB)
PAREN_IDS = {arith.W2I["("], arith.W2I[")"]}
TRAIN_OPS, TRAIN_OPS_P = [0, 1, 2, 3], [0.1, 0.3, 0.3, 0.3]  # operator counts of training expressions


def long_split(seed: int, n_test: int, p_paren: float) -> dict[str, list[arith.Expr]]:
    """Test sets: ``n_test`` expressions each with 4, 5 and 6 operators, and with 1-3."""
    rng = np.random.default_rng([seed, 2])
    sets = {f"ops{k}": arith.dataset(rng, n_test, [k], p_paren) for k in (4, 5, 6)}
    sets["short"] = arith.dataset(rng, n_test, [1, 2, 3], p_paren)
    return sets


class NSRRun:
    """One NSR-lite run (see the module docstring)."""

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng([cfg.seed, 0])
        ops = rng.choice(TRAIN_OPS, size=cfg.n_train, p=TRAIN_OPS_P)
        self.train = [arith.sample(rng, int(k), cfg.p_paren) for k in ops]
        self.test = long_split(cfg.seed, cfg.n_test, cfg.p_paren)
        self.net = P.ParserNet(N_SYM + 1, hidden=cfg.hidden, lstm=cfg.lstm)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        self.progs = {s: (EMPTY_PROG if s in PAREN_IDS else UNKNOWN) for s in range(N_SYM)}
        self.lik = {s: 0.0 for s in range(N_SYM)}
        self.examples: deque = deque(maxlen=cfg.memory)  # per iteration: {sym: [(xs, y)]}
        self.trees: deque = deque(maxlen=cfg.memory)  # per iteration: [(sent, head)]

    def _batch(self, step: int) -> list[arith.Expr]:
        cfg = self.cfg
        max_ops = min(3, 1 + step // cfg.curriculum)
        pool = [e for e in self.train if e.n_ops <= max_ops]
        rng = np.random.default_rng([cfg.seed, 1, step])  # depends on (seed, step) only
        return [pool[i] for i in rng.integers(len(pool), size=cfg.batch)]

    def train_step(self, step: int) -> dict[str, float]:
        """One EM iteration: deduce, abduce, re-induce programs, retrain the parser."""
        cfg = self.cfg
        batch = self._batch(step)
        gen = torch.Generator().manual_seed(cfg.seed * 100_003 + step)
        sents = [e.ids for e in batch]
        self.net.eval()
        greedy = P.parse(self.net, sents)
        sampled = P.parse(self.net, [s for s in sents for _ in range(cfg.samples)], gen, cfg.temp)
        ab = Abducer(self.progs, self.lik, cfg.c_val, cfg.c_prog, cfg.c_tree, cfg.beam, cfg.depth)
        ex: dict[int, list] = {}
        trees, fwd, found = [], 0, 0
        for i, e in enumerate(batch):
            cands = [greedy[i]] + sampled[i * cfg.samples : (i + 1) * cfg.samples]
            best_lp = max(st.logp for st in cands)
            starts, seen = [], set()
            for st in cands:
                if tuple(st.head) not in seen:
                    seen.add(tuple(st.head))
                    starts.append(Fix(st.head, cfg.c_parse * (best_lp - st.logp)))
            fwd += evaluate(e.ids, greedy[i].head, self.progs)[greedy[i].head.index(-1)] == e.value
            fix, _ = ab.search(e.ids, starts, e.value)
            if fix is None:
                continue
            found += 1
            if all(v is not MISSING for v in fix.values):  # grounded: every node explained
                trees.append((e.ids, fix.head))
            kids = children(fix.head)
            for n, s in enumerate(e.ids):
                if s in PAREN_IDS:
                    continue
                xs = tuple(fix.values[c] for c in kids[n] if fix.values[c] != EMPTY)
                if fix.values[n] is not MISSING and MISSING not in xs:
                    ex.setdefault(s, []).append((xs, fix.values[n]))
        self.examples.append(ex)
        self.trees.append(trees)
        for s in range(N_SYM):
            if s not in PAREN_IDS:
                self.progs[s], self.lik[s] = induce([x for it in self.examples for x in it.get(s, [])])
        data = []
        for it in self.trees:
            for sent, head in it:
                pairs = P.oracle(sent, head)
                if pairs:
                    data.extend(pairs)
        self.net.train()
        rng = np.random.default_rng([cfg.seed, 3, step])
        loss = P.train(self.net, self.opt, data, cfg.parser_steps, cfg.parser_batch, rng) if data else 0.0
        return {"loss": loss, "fwd_acc": fwd / len(batch), "abduced": found / len(batch), "grounded": len(trees) / len(batch)}

    def accuracy(self, exprs: list[arith.Expr]) -> float:
        """Greedy parse + programs: fraction of expressions whose value is right."""
        self.net.eval()
        states = P.parse(self.net, [e.ids for e in exprs])
        hits = [evaluate(e.ids, st.head, self.progs)[st.head.index(-1)] == e.value for e, st in zip(exprs, states)]
        return float(np.mean(hits))

    def evaluate(self) -> dict[str, float]:
        """Accuracy on 4-6 operators (val/acc), per operator count, and on 1-3 operators."""
        out = {f"val/acc_{k}": self.accuracy(v) for k, v in self.test.items()}
        out["val/acc"] = float(np.mean([out[f"val/acc_ops{k}"] for k in (4, 5, 6)]))
        truth = {arith.W2I[o]: n for o, n in (("+", "add"), ("-", "sub"), ("*", "mul"))}
        truth.update({i: str(i) for i in range(10)})
        out["val/programs_right"] = float(np.mean([self.progs[s].name == n for s, n in truth.items()]))
        return out
