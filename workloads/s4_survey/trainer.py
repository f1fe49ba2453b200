"""Train an S4-family model or an LSTM on the adding problem; held-out MSE and training throughput."""

from __future__ import annotations


import numpy as np
import torch

from workloads.nn.rnn import LastStateLSTM
from workloads.nn.s4 import SSMModel, ssm_param_groups
from workloads.tasks.synthetic_memory import adding_problem
from workloads.training import cosine_schedule, load_training_state, optimiser_step, training_state


class AddingRun:
    """One run: model, AdamW (smaller lr for the SSM's A and Δ), fixed held-out set."""

    def __init__(self, cfg, device: str = "cpu") -> None:
        self.cfg, self.device = cfg, device
        torch.manual_seed(cfg.seed)
        if cfg.model == "lstm":
            self.model = LastStateLSTM(2, cfg.lstm_hidden, cfg.layers, 1).to(device)
            groups = [{"params": list(self.model.parameters()), "lr": cfg.lr}]
        else:
            self.model = SSMModel(
                2, 1, cfg.H, cfg.N, cfg.layers, kind=cfg.model, init=cfg.init, dt_min=cfg.dt_min, dt_max=cfg.dt_max
            ).to(device)
            groups = ssm_param_groups(self.model, cfg.lr, cfg.ssm_lr)
        self.opt = torch.optim.AdamW(groups, weight_decay=0.0)
        self.sched = cosine_schedule(self.opt, cfg.steps, floor=0.1)
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
        return {"loss": optimiser_step(loss, self.model, self.opt, self.sched)}

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
        return training_state(self.model, self.opt, self.sched)

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        load_training_state(state, self.model, self.opt, self.sched)
