"""AR-Net's training run: one linear layer, MSE + λ·sparsity regularizer, Adam with per-epoch decay.

The windows are fixed by ``cfg.seed``; epoch e visits them in the order of a permutation drawn
from ``(seed, e)``, so the batch of step k depends only on ``(seed, k)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from workloads.tasks.autoregressive import ar_series, lag_windows, ols_ar, stpe
from workloads.training import load_training_state, training_state


def regularizer(w: torch.Tensor, c1: float = 3.0, c2: float = 3.0) -> torch.Tensor:
    """AR-Net's sparsity penalty mean_i [2 / (1 + exp(−c1·|w_i|^{1/c2})) − 1], a scalar in [0, 1).

    |w| is floored at 1e-12 so the gradient of |w|^{1/c2} stays finite at w = 0.
    """
    mag = w.abs().clamp_min(1e-12).pow(1.0 / c2)
    return (2.0 / (1.0 + torch.exp(-c1 * mag)) - 1.0).mean()


def reg_weight(sparsity: float) -> float:
    """λ = 0.02·(1/s − 1), the official code's rule for the regularizer's weight."""
    return 0.02 * (1.0 / sparsity - 1.0)


class ArNetRun:
    """One AR-Net run (the workload's Trainable)."""

    def __init__(self, cfg, device: str) -> None:
        self.cfg = cfg
        self.device = device
        torch.manual_seed(cfg.seed)
        w_true = np.asarray(cfg.coefficients, dtype=np.float64)
        series = ar_series(w_true, cfg.n_train + cfg.n_test, noise=cfg.noise, seed=cfg.seed)
        X, Y = lag_windows(series[: cfg.n_train], cfg.order)  # (N, p), (N,)
        Xt, Yt = lag_windows(series[cfg.n_train - cfg.order :], cfg.order)  # test windows follow on
        self.w_true = w_true
        self.X = torch.tensor(X, dtype=torch.float32, device=device)
        self.Y = torch.tensor(Y, dtype=torch.float32, device=device)
        self.X_test = torch.tensor(Xt, dtype=torch.float32, device=device)
        self.Y_test = torch.tensor(Yt, dtype=torch.float32, device=device)
        self.batches_per_epoch = math.ceil(len(Y) / cfg.batch)
        self.lam = reg_weight(cfg.sparsity) if cfg.regularize else 0.0

        self.ols_w, self.ols_b = ols_ar(X, Y)
        oracle_X = X[:, : len(w_true)] if cfg.order >= len(w_true) else None
        self.oracle_w = ols_ar(oracle_X, Y)[0] if oracle_X is not None else None
        self.ols_test_mse = float(np.mean((Xt @ self.ols_w + self.ols_b - Yt) ** 2))

        self.model = nn.Linear(cfg.order, 1).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)

    def _batch(self, step: int) -> torch.Tensor:
        epoch, k = divmod(step, self.batches_per_epoch)
        perm = np.random.default_rng([self.cfg.seed, epoch]).permutation(len(self.Y))
        idx = perm[k * self.cfg.batch : (k + 1) * self.cfg.batch]
        return torch.as_tensor(idx, device=self.device)

    def train_step(self, step: int) -> dict[str, float]:
        cfg = self.cfg
        epoch = step // self.batches_per_epoch
        for group in self.opt.param_groups:
            group["lr"] = cfg.lr * cfg.lr_decay**epoch
        idx = self._batch(step)
        pred = self.model(self.X[idx]).squeeze(-1)  # (b, 1) -> (b,)
        mse = torch.mean((pred - self.Y[idx]) ** 2)
        reg = regularizer(self.model.weight, cfg.reg_c1, cfg.reg_c2)
        loss = mse + self.lam * reg
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return {"loss": loss.item(), "mse": mse.item(), "reg": reg.item(), "lr": self.opt.param_groups[0]["lr"]}

    def coefficients(self) -> np.ndarray:
        """The net's lag weights, lag 1 first; shape ``(order,)``."""
        return self.model.weight.detach().cpu().double().numpy()[0]

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """sTPE of the net and of OLS, the net's largest gap to OLS, and held-out one-step MSE."""
        w = self.coefficients()
        pred = self.model(self.X_test).squeeze(-1)  # (n, 1) -> (n,)
        out = {
            "val/stpe": stpe(w, self.w_true),
            "val/stpe_ols": stpe(self.ols_w, self.w_true),
            "val/max_gap_to_ols": float(np.max(np.abs(w - self.ols_w))),
            "val/mse": float(torch.mean((pred - self.Y_test) ** 2)),
            "val/mse_ols": self.ols_test_mse,
        }
        if self.oracle_w is not None:
            out["val/stpe_ols_oracle"] = stpe(self.oracle_w, self.w_true)
        return out

    def state_dict(self) -> dict:
        return training_state(self.model, self.opt)

    def load_state_dict(self, state: dict) -> None:
        load_training_state(state, self.model, self.opt)
