"""Train a linear self-attention layer on random regression prompts; evaluate shifts."""

from __future__ import annotations

import numpy as np
import torch

from workloads.linear_icl.lsa import LinearSelfAttention
from workloads.tasks.icl_regression import optimal_lsa_matrix, regression_prompts, target_variance
from workloads.training import load_training_state, training_state

#: metric suffix -> powers of cfg.shift for (task, query, covariate) scales; power 0 = no shift
_SHIFTS = {"": (0, 0, 0), "_task_shift": (1, 0, 0), "_query_shift": (0, 1, 0), "_cov_up": (0, 0, 1), "_cov_down": (0, 0, -1)}


class LinearICL:
    """One run: ``variant='lsa'`` trains the layer; ``'optimum'`` is the closed-form global minimum."""

    def __init__(self, cfg) -> None:
        self.cfg = cfg
        self.lam = np.geomspace(1.0, cfg.lambda_spread, cfg.d)  # (d,) diagonal of Λ
        gen = torch.Generator().manual_seed(cfg.seed)
        self.model = LinearSelfAttention(cfg.d, cfg.init_scale, generator=gen)
        self.target = torch.tensor(optimal_lsa_matrix(self.lam, cfg.n_ctx), dtype=torch.float32)  # (d, d)
        if cfg.variant == "optimum":
            with torch.no_grad():  # the global minimum: p = e_{d+1}, W^{KQ}_{11} = Γ⁻¹, the rest 0
                self.model.w_pv.zero_()
                self.model.w_kq.zero_()
                self.model.w_pv[-1, -1] = 1.0
                self.model.w_kq[: cfg.d, : cfg.d] = self.target.T
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)

    def _batch(self, rng: np.random.Generator, batch: int, n_ctx: int, scales=(1.0, 1.0, 1.0)):
        t, q, c = scales
        arrays = regression_prompts(rng, batch, self.cfg.d, n_ctx, lam=self.lam, task_scale=t, query_scale=q, covariate_scale=c)
        return [torch.from_numpy(a) for a in arrays]

    def train_step(self, step: int) -> dict[str, float]:
        """One Adam step on a fresh batch of prompts drawn from (seed, step)."""
        cfg = self.cfg
        x, y, x_q, y_q = self._batch(np.random.default_rng([cfg.seed, step]), cfg.batch, cfg.n_ctx)
        loss = ((self.model(x, y, x_q) - y_q) ** 2).mean()
        if cfg.variant == "lsa":
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        return {"loss": float(loss.detach()) / float(np.sum(self.lam))}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Relative MSE (MSE / E[y_q²]) in distribution and under each shift, and the matrix match."""
        cfg = self.cfg
        out: dict[str, float] = {}
        for index, (suffix, powers) in enumerate(_SHIFTS.items()):
            scales = tuple(cfg.shift**p for p in powers)
            rng = np.random.default_rng([cfg.seed, 10**6, index])  # a fixed eval set per shift
            x, y, x_q, y_q = self._batch(rng, cfg.eval_prompts, cfg.eval_n_ctx or cfg.n_ctx, scales)
            mse = float(((self.model(x, y, x_q) - y_q) ** 2).mean())
            t, q, c = scales
            out[f"val/rel_mse{suffix}"] = mse / target_variance(self.lam, task_scale=t, query_scale=q, covariate_scale=c)
        a = self.model.effective_matrix().flatten()
        b = self.target.flatten()
        out["val/matrix_cos"] = float(a @ b / (a.norm() * b.norm() + 1e-12))
        out["val/matrix_rel_err"] = float((a - b).norm() / b.norm())
        return out

    def state_dict(self) -> dict:
        """Model and optimiser state."""
        return training_state(self.model, self.opt)

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` saved."""
        load_training_state(state, self.model, self.opt)
