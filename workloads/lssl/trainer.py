"""Train an LSSL or an LSTM classifier on permuted sequential digits."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from workloads.nn.lssl import LSSLClassifier
from workloads.nn.rnn import LastStateLSTM, lstm_gate_bias_
from workloads.tasks.digit_sequences import digit_sequences
from workloads.training import cosine_schedule, load_training_state, optimiser_step, training_state


class DigitsRun:
    """One run: model, AdamW with cosine decay, the fixed train/test split."""

    def __init__(self, cfg, device: str = "cpu") -> None:
        self.cfg, self.device = cfg, device
        torch.manual_seed(cfg.seed)
        if cfg.model == "lssl":
            self.model = LSSLClassifier(1, 10, cfg.H, cfg.N, cfg.layers, init=cfg.init, dt_min=cfg.dt_min, dt_max=cfg.dt_max)
        else:
            self.model = LastStateLSTM(1, cfg.lstm_hidden, cfg.layers, 10)
            lstm_gate_bias_(self.model.lstm, cfg.lstm_init, cfg.side**2)
        self.model.to(device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=0.0)
        self.sched = cosine_schedule(self.opt, cfg.steps)
        xtr, ytr, xte, yte = digit_sequences(cfg.side, cfg.permute)
        self.train_set = (torch.from_numpy(xtr)[..., None].to(device), torch.from_numpy(ytr).to(device))  # (n, L) -> (n, L, 1)
        self.test_set = (torch.from_numpy(xte[: cfg.eval_size])[..., None].to(device), torch.from_numpy(yte[: cfg.eval_size]).to(device))

    def train_step(self, step: int) -> dict[str, float]:
        """One AdamW step (clipped gradient norm) on the batch drawn by (seed, step)."""
        idx = torch.from_numpy(np.random.default_rng([self.cfg.seed, step]).integers(0, len(self.train_set[1]), self.cfg.batch))
        x, y = self.train_set[0][idx], self.train_set[1][idx]
        loss = F.cross_entropy(self.model(x), y)
        return {"loss": optimiser_step(loss, self.model, self.opt, self.sched, clip=self.cfg.clip)}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """``val/acc`` on the held-out digits; LSSL: ``val/view_gap`` (max |conv − recurrent|, first layer)."""
        self.model.eval()
        x, y = self.test_set
        acc = sum(float((self.model(xb).argmax(-1) == yb).sum()) for xb, yb in zip(x.split(128), y.split(128))) / len(y)
        out = {"val/acc": acc}
        if self.cfg.model == "lssl" and self.cfg.check_views:
            block = self.model.blocks[0]
            u = block.norm(self.model.encoder(x[:2]))
            out["val/view_gap"] = float((block.ssm(u) - block.ssm.recurrent(u)).abs().max())
        self.model.train()
        return out

    def state_dict(self) -> dict:
        """Model, optimiser and schedule."""
        return training_state(self.model, self.opt, self.sched)

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        load_training_state(state, self.model, self.opt, self.sched)
