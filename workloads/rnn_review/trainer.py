"""Training and evaluation of one rnn_review run (adding problem or future tagging)."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from workloads.rnn_review.model import RecurrentNet
from workloads.tasks.adding import adding_batch, future_tagging_batch
from workloads.training import load_training_state, training_state

_TEST_STREAM = 1_000_003  # rng stream of the held-out set, apart from every training step


class RNNReview:
    """One run: ``train_step`` on fresh batches from ``(seed, step)``, ``evaluate`` on a fixed set."""

    def __init__(self, cfg, device: str = "cpu") -> None:
        self.cfg, self.device = cfg, device
        torch.manual_seed(cfg.seed)
        adding = cfg.task == "adding"
        self.model = RecurrentNet(
            cfg.cell, cfg.hidden, cfg.layers, cfg.bidirectional, 1 if adding else cfg.vocab,
            in_features=2 if adding else None, vocab=None if adding else cfg.vocab,
            per_step=not adding, forget_bias=cfg.forget_bias,
        ).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.test = self._batch(np.random.default_rng([cfg.seed, _TEST_STREAM]), cfg.n_test)

    def _batch(self, rng: np.random.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.cfg
        if cfg.task == "adding":
            x, y = adding_batch(rng, n, cfg.length)
        else:
            x, y = future_tagging_batch(rng, n, cfg.length, cfg.vocab, cfg.shift)
        return torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device)

    def _loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model(x)
        if self.cfg.task == "adding":
            return F.mse_loss(out.squeeze(-1), y), out
        return F.cross_entropy(out.flatten(0, 1), y.flatten(), ignore_index=-100), out  # (B*T, V)

    def train_step(self, step: int) -> dict[str, float]:
        """One Adam step with gradient-norm clipping on the batch for ``(seed, step)``."""
        x, y = self._batch(np.random.default_rng([self.cfg.seed, step]), self.cfg.batch)
        self.model.train()
        loss, _ = self._loss(x, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip)
        self.opt.step()
        return {"loss": float(loss.detach()), "grad_norm": float(grad_norm)}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """``val/loss`` (MSE or cross-entropy) on the held-out set, plus ``val/mse`` or ``val/acc``."""
        self.model.eval()
        x, y = self.test
        loss, out = self._loss(x, y)
        metrics = {"val/loss": float(loss)}
        if self.cfg.task == "adding":
            metrics["val/mse"] = float(loss)
        else:
            valid = y != -100
            metrics["val/acc"] = float((out.argmax(-1) == y)[valid].float().mean())
        return metrics

    def state_dict(self) -> dict:
        """Model and optimiser state."""
        return training_state(self.model, self.opt)

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` saved."""
        load_training_state(state, self.model, self.opt)
