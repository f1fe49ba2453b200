"""The baseline: a small causal Transformer reads ``expression =`` and emits the value's two
digits (zero-padded, mod 100). It trains on fresh expressions with <= 3 operators each step
(more data than NSR's pool, a generous baseline) and is tested on 4-6 operators."""

from __future__ import annotations

import numpy as np
import torch

from workloads.nn.transformer import TinyTransformer, sequence_cross_entropy
from workloads.nsr.learner import long_split
from workloads.tasks import arith
from workloads.training import optimiser_step

EQ = len(arith.VOCAB)  # '=' separates expression and answer
PAD = EQ + 1
MAX_LEN = 64


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
        self.model = TinyTransformer(PAD + 1, cfg.d_model, cfg.n_layers, 4, MAX_LEN, causal=True, n_out=10)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=0.01)
        self.test = long_split(cfg.seed, cfg.n_test, cfg.p_paren)

    def train_step(self, step: int) -> dict[str, float]:
        """One AdamW step on a fresh batch (it depends on (seed, step) only)."""
        cfg = self.cfg
        rng = np.random.default_rng([cfg.seed, 4, step])
        tok, tgt, _ = encode(arith.dataset(rng, cfg.batch, [0, 1, 2, 3], cfg.p_paren))
        lr = cfg.lr * min(1.0, (step + 1) / 100)
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

    def evaluate(self) -> dict[str, float]:
        """Accuracy on 4-6 operators (val/acc), per operator count, and on 1-3 operators."""
        out = {f"val/acc_{k}": self.accuracy(v) for k, v in self.test.items()}
        out["val/acc"] = float(np.mean([out[f"val/acc_ops{k}"] for k in (4, 5, 6)]))
        return out
