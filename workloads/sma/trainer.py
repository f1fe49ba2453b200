"""Training and evaluation of one sma run on MQAR with filler tokens."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from workloads.nn.s4 import ssm_param_groups
from workloads.sma.model import SeqBoatLM
from workloads.tasks.mqar import IGNORE, mqar
from workloads.training import load_training_state, training_state

_TEST_STREAM = 1_000_003  # rng stream of the held-out set, apart from every training step


class SMARun:
    """One run: fresh MQAR batches per ``(seed, step)``; a fixed test set per seed."""

    def __init__(self, cfg, device: str = "cpu") -> None:
        self.cfg, self.device = cfg, device
        torch.manual_seed(cfg.seed)
        self.model = SeqBoatLM(cfg.n_keys + cfg.n_values + 1, cfg).to(device)
        self.opt = torch.optim.AdamW(ssm_param_groups(self.model, cfg.lr, min(cfg.lr, 1e-3)), lr=cfg.lr)
        self.test = self._batch(np.random.default_rng([cfg.seed, _TEST_STREAM]), cfg.n_test)

    def _batch(self, rng: np.random.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.cfg
        x, y, _ = mqar(rng, n, c.n_pairs, c.n_queries, c.n_keys, c.n_values, n_filler=c.n_filler)
        return torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device)

    def train_step(self, step: int) -> dict[str, float]:
        """One AdamW step (gradient norm clipped at 1) on cross-entropy at the queries plus, for
        SeqBoat, ``sparsity`` × max(0, mean gate probability − ``act_target``); also logs the activation ratio.

        The hinge holds the expected activation near the target without pushing it to zero, so the
        sampled gates keep exploring until the task tells the gate which tokens need attention."""
        x, y = self._batch(np.random.default_rng([self.cfg.seed, step]), self.cfg.batch)
        self.model.train()
        noise = None
        if self.cfg.sample_gate:  # gate samples depend only on (seed, step), like the batch
            g = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + step)
            noise = torch.rand(self.cfg.layers, *x.shape, generator=g).to(self.device)  # (layers, B, T)
        logits, active, probs = self.model(x, noise)  # (B, T, vocab), (layers, B, T), (layers, B, T)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=IGNORE)  # (B*T, vocab)
        total = loss + self.cfg.sparsity * F.relu(probs.mean() - self.cfg.act_target) if self.cfg.variant == "seqboat" else loss
        self.opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        return {"loss": float(loss.detach()), "act_ratio": float(active.float().mean())}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """``val/acc`` at the query positions; ``val/act_ratio``: share of (layer, token) pairs with attention on."""
        self.model.eval()
        x, y = self.test
        logits, active, _ = self.model(x)
        mask = y != IGNORE
        return {
            "val/acc": float((logits.argmax(-1)[mask] == y[mask]).float().mean()),
            "val/act_ratio": float(active.float().mean()),
        }

    def state_dict(self) -> dict:
        """Model and optimiser state."""
        return training_state(self.model, self.opt)

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` saved."""
        load_training_state(state, self.model, self.opt)
