"""Train an S4-family model or an LSTM on the adding problem; held-out MSE and training throughput."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from workloads.nn.s4 import SSMModel, ssm_param_groups
from workloads.tasks.synthetic_memory import adding_problem


class LSTMRegressor(nn.Module):
    """LSTM over (B, T, 2) inputs; a linear head on the last hidden state -> (B, 1)."""

    def __init__(self, hidden: int, layers: int) -> None:
        super().__init__()
        self.lstm = nn.LSTM(2, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, 2) -> (B, 1)."""
        return self.head(self.lstm(x)[0][:, -1])


class AddingRun:
    """One run: model, AdamW (smaller lr for the SSM's A and Δ), fixed held-out set."""

    def __init__(self, cfg, device: str = "cpu") -> None:
        self.cfg, self.device = cfg, device
        torch.manual_seed(cfg.seed)
        if cfg.model == "lstm":
            self.model = LSTMRegressor(cfg.lstm_hidden, cfg.layers).to(device)
            groups = [{"params": list(self.model.parameters()), "lr": cfg.lr}]
        else:
            self.model = SSMModel(
                2, 1, cfg.H, cfg.N, cfg.layers, kind=cfg.model, init=cfg.init, dt_min=cfg.dt_min, dt_max=cfg.dt_max
            ).to(device)
            groups = ssm_param_groups(self.model, cfg.lr, cfg.ssm_lr)
        self.opt = torch.optim.AdamW(groups, weight_decay=0.0)
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda s: 0.1 + 0.45 * (1 + math.cos(math.pi * min(s, cfg.steps) / cfg.steps))
        )
        x, y = adding_problem(np.random.default_rng([cfg.seed, 10**6]), cfg.eval_batch, cfg.seq_len)
        self.eval_set = (x.to(device), y.to(device))

    def train_step(self, step: int) -> dict[str, float]:
        """One AdamW step of MSE on the batch drawn from (seed, step).

        Throughput is measured by ``benchmarks/throughput.py``, not reported here: the
        contract's restore check compares train_step metrics exactly, so they hold no timings.
        """
        x, y = adding_problem(np.random.default_rng([self.cfg.seed, step]), self.cfg.batch, self.cfg.seq_len)
        x, y = x.to(self.device), y.to(self.device)
        loss = ((self.model(x)[:, 0] - y) ** 2).mean()
        self.opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        self.sched.step()
        return {"loss": float(loss.detach())}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """``val/mse`` on the held-out set, and ``val/mse_rel`` = MSE / (1/6), the predict-the-mean MSE."""
        self.model.eval()
        x, y = self.eval_set
        mse = float(((self.model(x)[:, 0] - y) ** 2).mean())
        self.model.train()
        return {"val/mse": mse, "val/mse_rel": mse * 6.0, "val/params": float(sum(p.numel() for p in self.model.parameters()))}

    def state_dict(self) -> dict:
        """Model, optimiser and schedule."""
        return {"model": self.model.state_dict(), "opt": self.opt.state_dict(), "sched": self.sched.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.sched.load_state_dict(state["sched"])
