"""Training and evaluation of one deltaproduct run on a group word problem."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from workloads.deltaproduct.model import DeltaProductTagger
from workloads.tasks.state_tracking import group, word_problem_batch
from workloads.training import load_training_state, optimiser_step, training_state

_TEST_STREAM = 1_000_003  # rng stream of the held-out sets, apart from every training step


class DeltaProductRun:
    """One run: fresh word problems per ``(seed, step)``; fixed test sets at two lengths."""

    def __init__(self, cfg, device: str = "cpu") -> None:
        self.cfg, self.device = cfg, device
        self.table = group(cfg.group)
        torch.manual_seed(cfg.seed)
        self.model = DeltaProductTagger(
            self.table.shape[0], cfg.d_model, cfg.n_heads, cfg.head_dim, cfg.layers,
            cfg.n_householder, cfg.negative_eigenvalues, cfg.backend, cfg.short_conv,
        ).to(device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        rng = np.random.default_rng([cfg.seed, _TEST_STREAM])
        self.tests = {
            "": self._batch(rng, cfg.n_test, cfg.train_length),
            f"_len{cfg.test_length}": self._batch(rng, cfg.n_test, cfg.test_length),
        }

    def _batch(self, rng: np.random.Generator, n: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = word_problem_batch(self.table, rng, n, length)
        return torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device)

    def train_step(self, step: int) -> dict[str, float]:
        """One AdamW step (gradient norm clipped at 1) on the batch for ``(seed, step)``."""
        x, y = self._batch(np.random.default_rng([self.cfg.seed, step]), self.cfg.batch, self.cfg.train_length)
        self.model.train()
        logits = self.model(x)  # (B, T, G)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())  # (B*T, G)
        optimiser_step(loss, self.model, self.opt)
        acc = (logits.argmax(-1) == y).float().mean()
        return {"loss": float(loss.detach()), "acc": float(acc)}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Per-token accuracy ``val/acc`` at the training length and ``val/acc_len{test_length}``."""
        self.model.eval()
        out = {}
        for suffix, (x, y) in self.tests.items():
            out[f"val/acc{suffix}"] = float((self.model(x).argmax(-1) == y).float().mean())
        return out

    def state_dict(self) -> dict:
        """Model and optimiser state."""
        return training_state(self.model, self.opt)

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` saved."""
        load_training_state(state, self.model, self.opt)
