"""The baseline: a small causal Transformer reads ``expression =`` and emits the value's two
digits (zero-padded, mod 100). It trains on fresh expressions each step, with 0-3 operators in
the proportions of NSR's training pool (more data than NSR's pool, a generous baseline), under a
linear warm-up and a cosine decay, and is tested on 4-6 operators."""

from __future__ import annotations

import math

import numpy as np
import torch

from workloads.nn.transformer import TinyTransformer, sequence_cross_entropy
from workloads.nsr.learner import TRAIN_OPS, TRAIN_OPS_P, long_split
from workloads.tasks import arith
from workloads.training import optimiser_step

EQ = len(arith.VOCAB)  # '=' separates expression and answer
PAD = EQ + 1
MAX_LEN = 64
WARMUP = 100  # steps of linear learning-rate warm-up


def encode(exprs: list[arith.Expr]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(B, T) tokens ``expr = d1 d2`` right-padded, (B, T) next-token targets on the digits,
    and (B,) positions of '='."""
    T = max(len(e.ids) for e in exprs) + 3
    tok = torch.full((len(exprs), T), PAD, dtype=torch.long)
    tgt = torch.full((len(exprs), T), -100, dtype=torch.long)
    eq = torch.tensor([len(e.ids) for e in exprs])
    for b, e in enumerate(exprs):
        d1, d2 = divmod(e.value, 10)
        n = len(e.ids)
        tok[b, : n + 3] = torch.tensor([*e.ids, EQ, d1, d2])
        tgt[b, n], tgt[b, n + 1] = d1, d2  # position n ('=') predicts d1, n+1 (d1) predicts d2
    return tok, tgt, eq


class TransformerRun:
    """Seq2seq-by-LM baseline run."""

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        torch.manual_seed(cfg.seed)
        self.model = TinyTransformer(PAD + 1, cfg.d_model, cfg.n_layers, cfg.n_heads, MAX_LEN, causal=True, n_out=10, pos=cfg.pos)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=0.01)
        self.test = long_split(cfg.seed, cfg.n_test, cfg.p_paren)

    def lr_at(self, step: int) -> float:
        """Learning rate of ``step``: linear warm-up over ``WARMUP`` steps times a half cosine
        from ``lr`` down to 0 at ``steps``."""
        cfg = self.cfg
        return cfg.lr * min(1.0, (step + 1) / WARMUP) * 0.5 * (1.0 + math.cos(math.pi * min(step, cfg.steps) / cfg.steps))

    def train_step(self, step: int) -> dict[str, float]:
        """One AdamW step on a fresh batch (it depends on (seed, step) only)."""
        cfg = self.cfg
        rng = np.random.default_rng([cfg.seed, 4, step])
        ops = rng.choice(TRAIN_OPS, size=cfg.batch, p=TRAIN_OPS_P)  # NSR's pool proportions
        tok, tgt, _ = encode([arith.sample(rng, int(k), cfg.p_paren) for k in ops])
        lr = self.lr_at(step)
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.model.train()
        loss = sequence_cross_entropy(self.model(tok), tgt)
        return {"loss": optimiser_step(loss, self.model, self.opt)}

    @torch.no_grad()
    def accuracy(self, exprs: list[arith.Expr]) -> float:
        """Greedy two-digit answers: fraction exactly right."""
        self.model.eval()
        tok, _, eq = encode(exprs)
        rows = torch.arange(len(exprs))
        d1 = self.model(tok)[rows, eq].argmax(-1)  # (B,)
        tok[rows, eq + 1] = d1
        d2 = self.model(tok)[rows, eq + 1].argmax(-1)
        pred = d1 * 10 + d2
        return float((pred == torch.tensor([e.value for e in exprs])).float().mean())

    @torch.no_grad()
    def nll(self, exprs: list[arith.Expr]) -> float:
        """Teacher-forced cross-entropy (nats per answer digit)."""
        self.model.eval()
        tok, tgt, _ = encode(exprs)
        return float(sequence_cross_entropy(self.model(tok), tgt))

    def evaluate(self) -> dict[str, float]:
        """Accuracy on 4-6 operators (val/acc), per operator count, and on 1-3 operators; and the
        answer digits' cross-entropy on 1-3 operators (val/nll_short)."""
        out = {f"val/acc_{k}": self.accuracy(v) for k, v in self.test.items()}
        out["val/acc"] = float(np.mean([out[f"val/acc_ops{k}"] for k in (4, 5, 6)]))
        out["val/nll_short"] = self.nll(self.test["short"])
        return out
