"""Train a matrix-mixer model on bidirectional MQAR; accuracy at query positions, by side."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from workloads.nn.hydra import MixerModel
from workloads.tasks.bidirectional_recall import IGNORE, bidirectional_mqar, vocab_size
from workloads.training import cosine_schedule, load_training_state, optimiser_step, training_state


class RecallRun:
    """One run: model, AdamW with cosine decay, a fixed held-out set."""

    def __init__(self, cfg, device: str = "cpu") -> None:
        self.cfg, self.device = cfg, device
        torch.manual_seed(cfg.seed)
        self.model = MixerModel(
            vocab_size(cfg.n_keys, cfg.n_values), cfg.n_values, cfg.d_model, cfg.layers, mixer=cfg.mixer,
            d_state=cfg.d_state, expand=cfg.expand, headdim=cfg.headdim, d_conv=cfg.d_conv, seq_len=cfg.seq_len, backend=cfg.backend,
        ).to(device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=0.0)
        self.sched = cosine_schedule(self.opt, cfg.steps)
        self.eval_set = self._batch(np.random.default_rng([cfg.seed, 10**6]), cfg.eval_size)

    def _batch(self, rng: np.random.Generator, n: int) -> tuple[torch.Tensor, ...]:
        c = self.cfg
        arrays = bidirectional_mqar(rng, n, c.seq_len, c.n_pairs, c.n_keys, c.n_values)
        return tuple(torch.from_numpy(a).to(self.device) for a in arrays)

    def train_step(self, step: int) -> dict[str, float]:
        """One AdamW step on the batch drawn by (seed, step); loss on query positions only."""
        tokens, targets, _ = self._batch(np.random.default_rng([self.cfg.seed, step]), self.cfg.batch)
        logits = self.model(tokens)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE)  # (B, T, V) -> (B·T, V)
        return {"loss": optimiser_step(loss, self.model, self.opt, self.sched)}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """``val/acc`` and ``val/loss`` over all queries; ``val/acc_right`` (pair after the query) and ``val/acc_left``."""
        self.model.eval()
        tokens, targets, side = self.eval_set
        logits = torch.cat([self.model(t) for t in tokens.split(128)])
        hit = logits.argmax(-1) == targets
        queried = side != 0
        loss = torch.nn.functional.cross_entropy(logits[queried], targets[queried])
        self.model.train()
        return {
            "val/acc": float(hit[queried].float().mean()),
            "val/loss": float(loss),
            "val/acc_right": float(hit[side > 0].float().mean()),
            "val/acc_left": float(hit[side < 0].float().mean()),
        }

    def state_dict(self) -> dict:
        """Model, optimiser and schedule."""
        return training_state(self.model, self.opt, self.sched)

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        load_training_state(state, self.model, self.opt, self.sched)
