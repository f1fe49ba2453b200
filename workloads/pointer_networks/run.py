"""The sorting run: train Ptr-Net or the baseline on n ∈ [n_min, n_max], test at n_max and n_long.

The batch of step k is drawn from ``default_rng([seed, k])``, one length per batch. Test sets
come from their own stream and are decoded greedily (and with beam search at n_max).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from workloads.nn.decoding import beam_search, greedy_decode
from workloads.pointer_networks.model import IndexSeq2Seq, PointerNet
from workloads.tasks.sorting import exact_match, position_accuracy, sort_batch
from workloads.training import load_training_state, optimiser_step, training_state


class SortRun:
    """One sorting run (the workload's Trainable)."""

    def __init__(self, cfg, device: str) -> None:
        if cfg.n_min > cfg.n_max:
            raise ValueError(f"n_min {cfg.n_min} > n_max {cfg.n_max}")
        self.cfg, self.device = cfg, device
        torch.manual_seed(cfg.seed)
        if cfg.variant == "pointer":
            self.model: nn.Module = PointerNet(cfg.hidden, cfg.layers, cfg.emb)
        else:
            self.model = IndexSeq2Seq(cfg.hidden, cfg.layers, cfg.emb, cfg.n_max)
        self.model.to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        rng = np.random.default_rng([cfg.seed, 0, 1])  # test stream, apart from every [seed, step]
        self.tests = {n: sort_batch(rng, cfg.eval_size, n) for n in sorted({cfg.n_max, cfg.n_long})}

    def train_step(self, step: int) -> dict[str, float]:
        cfg = self.cfg
        rng = np.random.default_rng([cfg.seed, step])
        n = int(rng.integers(cfg.n_min, cfg.n_max + 1))
        x, target = (torch.as_tensor(a, device=self.device) for a in sort_batch(rng, cfg.batch, n))
        self.model.train()
        logits = self.model(x, target, cfg.mask_visited)  # (B, n, classes)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))  # (B*n, C) vs (B*n,)
        return {"loss": optimiser_step(loss, self.model, self.opt, clip=cfg.clip), "n": float(n)}

    @torch.no_grad()
    def predict(self, x: np.ndarray, beam: int = 1) -> np.ndarray:
        """Predicted orders ``(B, n)`` for values ``(B, n)`` (greedy, or the best beam)."""
        self.model.eval()
        xt = torch.as_tensor(x, device=self.device)
        start, state = self.model.start_state(xt)
        step = self.model.step_fn(self.cfg.mask_visited)
        if beam == 1:
            tokens, _ = greedy_decode(step, state, start, x.shape[1])
        else:
            tokens = beam_search(step, state, start, x.shape[1], beam)[0][:, 0]
        return tokens.cpu().numpy()

    def evaluate(self) -> dict[str, float]:
        """Per-position and exact accuracy and permutation validity at n_max and n_long; beam exact at n_max."""
        cfg = self.cfg
        out: dict[str, float] = {}
        for n, (x, target) in self.tests.items():
            pred = self.predict(x)
            suffix = "" if n == cfg.n_max else f"_n{n}"
            out[f"val/pos_acc{suffix}"] = position_accuracy(pred, target)
            out[f"val/exact{suffix}"] = exact_match(pred, target)
            out[f"val/valid_perm{suffix}"] = float(np.mean(np.all(np.sort(pred, axis=1) == np.arange(n), axis=1)))
        x, target = self.tests[cfg.n_max]
        out["val/exact_beam"] = exact_match(self.predict(x, cfg.beam), target)
        return out

    def state_dict(self) -> dict:
        return training_state(self.model, self.opt)

    def load_state_dict(self, state: dict) -> None:
        load_training_state(state, self.model, self.opt)
