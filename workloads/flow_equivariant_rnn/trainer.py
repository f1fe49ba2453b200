"""Training and evaluation of one flow_equivariant_rnn run."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from workloads.flow_equivariant_rnn.model import FlowRNN, equivariance_error
from workloads.tasks.moving_patterns import moving_bumps
from workloads.training import load_training_state, optimiser_step, training_state

_TRAIN_STREAM, _TEST_STREAM = 1_000_001, 1_000_003  # rng streams of the fixed pools


class FlowRun:
    """One run: batches drawn from a fixed training pool by ``(seed, step)``; fixed test sets."""

    def __init__(self, cfg, device: str = "cpu") -> None:
        self.cfg, self.device = cfg, device
        torch.manual_seed(cfg.seed)
        self.model = FlowRNN(cfg.hidden, cfg.kernel, cfg.max_velocity).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        seen = list(range(-cfg.train_velocity, cfg.train_velocity + 1))
        unseen = [v for v in range(-cfg.test_velocity, cfg.test_velocity + 1) if abs(v) > cfg.train_velocity]
        frames = cfg.t_in + cfg.t_out
        self.train = self._tensor(moving_bumps(np.random.default_rng([cfg.seed, _TRAIN_STREAM]), cfg.n_train, frames, cfg.size, seen)[0])
        rng = np.random.default_rng([cfg.seed, _TEST_STREAM])
        long = cfg.t_in + cfg.t_eval
        self.test_seen = self._tensor(moving_bumps(rng, cfg.n_test, long, cfg.size, seen)[0])
        self.test_unseen = self._tensor(moving_bumps(rng, cfg.n_test, long, cfg.size, unseen)[0]) if unseen else None

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(x).to(self.device)

    def train_step(self, step: int) -> dict[str, float]:
        """Observe t_in frames, roll out t_out with own predictions fed back; MSE; one Adam step."""
        cfg = self.cfg
        idx = np.random.default_rng([cfg.seed, step]).integers(0, cfg.n_train, size=cfg.batch)
        seq = self.train[torch.from_numpy(idx).to(self.device)]  # (B, t_in + t_out, N)
        self.model.train()
        pred, _ = self.model(seq[:, : cfg.t_in], cfg.t_out)
        loss = F.mse_loss(pred, seq[:, cfg.t_in :])
        return {"loss": optimiser_step(loss, self.model, self.opt)}

    @torch.no_grad()
    def _rollout_mse(self, seq: torch.Tensor, n_out: int) -> float:
        pred, _ = self.model(seq[:, : self.cfg.t_in], n_out)
        return float(F.mse_loss(pred, seq[:, self.cfg.t_in : self.cfg.t_in + n_out]))

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Rollout MSE over t_eval frames at training velocities (``val/mse``) and unseen ones
        (``val/mse_unseen``), over t_out frames (``val/mse_short``), and the hidden-state
        equivariance error under a flow of velocity 1 (``val/equiv_error``)."""
        self.model.eval()
        cfg = self.cfg
        out = {
            "val/mse": self._rollout_mse(self.test_seen, cfg.t_eval),
            "val/mse_short": self._rollout_mse(self.test_seen, cfg.t_out),
        }
        if self.test_unseen is not None:
            out["val/mse_unseen"] = self._rollout_mse(self.test_unseen, cfg.t_eval)
        out["val/equiv_error"] = equivariance_error(self.model, self.test_seen[:32, : cfg.t_in], 1)
        return out

    def state_dict(self) -> dict:
        """Model and optimiser state."""
        return training_state(self.model, self.opt)

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` saved."""
        load_training_state(state, self.model, self.opt)
