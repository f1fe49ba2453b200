"""Training and evaluation of one miras run on (noisy) MQAR."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from workloads.miras.model import MQARModel
from workloads.tasks.mqar import IGNORE, mqar
from workloads.training import load_training_state, optimiser_step, training_state

_TEST_STREAM = 1_000_003  # rng stream of the held-out set, apart from every training step


class MirasRun:
    """One run: fresh MQAR batches per ``(seed, step)``; a fixed test set per seed."""

    def __init__(self, cfg, device: str = "cpu") -> None:
        self.cfg, self.device = cfg, device
        torch.manual_seed(cfg.seed)
        self.model = MQARModel(cfg.n_keys + cfg.n_values + 1, cfg).to(device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=0.0)
        self.test = self._batch(np.random.default_rng([cfg.seed, _TEST_STREAM]), cfg.n_test)

    def _batch(self, rng: np.random.Generator, n: int) -> tuple[torch.Tensor, ...]:
        c = self.cfg
        noisy = dict(collide=c.collide, outlier_frac=c.outlier_frac, outlier_scale=c.outlier_scale,
                     noise_dim=c.d_model) if c.noisy else {}
        x, y, z = mqar(rng, n, c.n_pairs, c.n_queries, c.n_keys, c.n_values, n_filler=c.n_filler, **noisy)
        return tuple(torch.from_numpy(a).to(self.device) for a in (x, y, z))

    def train_step(self, step: int) -> dict[str, float]:
        """One AdamW step (gradient norm clipped at 1) on the batch for ``(seed, step)``."""
        x, y, z = self._batch(np.random.default_rng([self.cfg.seed, step]), self.cfg.batch)
        self.model.train()
        logits = self.model(x, z)  # (B, T, vocab)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=IGNORE)  # (B*T, vocab)
        optimiser_step(loss, self.model, self.opt)
        mask = y != IGNORE
        acc = (logits.argmax(-1)[mask] == y[mask]).float().mean()
        return {"loss": float(loss.detach()), "acc": float(acc)}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """``val/acc``: accuracy at the query positions of the held-out set; ``val/loss``."""
        self.model.eval()
        x, y, z = self.test
        logits = self.model(x, z)
        mask = y != IGNORE
        return {
            "val/acc": float((logits.argmax(-1)[mask] == y[mask]).float().mean()),
            "val/loss": float(F.cross_entropy(logits[mask], y[mask])),
        }

    def state_dict(self) -> dict:
        """Model and optimiser state."""
        return training_state(self.model, self.opt)

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` saved."""
        load_training_state(state, self.model, self.opt)
