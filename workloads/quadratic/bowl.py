"""The bowl itself, in numpy: f(w) = ½ Σ_i a_i (w_i − w*_i)², a_i spread over [1, condition]."""

from __future__ import annotations

import os
import time

import numpy as np


class Bowl:
    def __init__(self, cfg) -> None:
        self.cfg = cfg
        rng = np.random.default_rng(cfg.seed)
        self.curvature = np.geomspace(1.0, cfg.condition, cfg.dim)  # (dim,)
        self.target = rng.normal(size=cfg.dim)  # (dim,)
        self.w = np.zeros(cfg.dim)
        self.velocity = np.zeros(cfg.dim)
        self.restored = False

    def _loss(self) -> float:
        return float(0.5 * np.sum(self.curvature * (self.w - self.target) ** 2))

    def train_step(self, step: int) -> dict[str, float]:
        cfg = self.cfg
        if step == cfg.hang_at_step:
            while True:  # a step that never returns, as a deadlocked collective would
                time.sleep(3600)
        if step == cfg.fail_at_step:
            raise RuntimeError(f"quadratic: failing at step {step} as configured")
        if step == cfg.transient_fail_at_step and not self.restored:
            raise RuntimeError(f"quadratic: transient failure at step {step} (a restored run passes)")
        if cfg.sleep_s:
            time.sleep(cfg.sleep_s)
        rng = np.random.default_rng([cfg.seed, step])  # the batch depends on (seed, step) only
        grad = self.curvature * (self.w - self.target) + cfg.noise * rng.normal(size=cfg.dim)
        self.velocity = cfg.momentum * self.velocity - cfg.lr * grad
        self.w = self.w + self.velocity
        loss = self._loss()
        if cfg.nan_at_step >= 0 and step >= cfg.nan_at_step:
            loss = float("nan")
        return {"loss": loss}

    def evaluate(self) -> dict[str, float]:
        loss = self._loss()
        if self.cfg.nan_at_step >= 0 and not np.isfinite(self.w).all():
            loss = float("nan")
        metrics = {"val/loss": loss}
        if self.cfg.report_env:  # where the orchestrator placed this trial (multi-node tests)
            metrics["env/cuda_visible_devices"] = gpu_mask(os.environ.get("CUDA_VISIBLE_DEVICES"))
        return metrics

    def state_dict(self) -> dict:
        return {"w": self.w.copy(), "velocity": self.velocity.copy()}

    def load_state_dict(self, state: dict) -> None:
        self.w = np.array(state["w"])
        self.velocity = np.array(state["velocity"])
        self.restored = True


def gpu_mask(visible: str | None) -> float:
    """CUDA_VISIBLE_DEVICES as a float bitmask ("0" -> 1, "1" -> 2, "0,1" -> 3); -1 when unset or empty."""
    ids = [int(i) for i in (visible or "").split(",") if i.strip().isdigit()]
    return float(sum(1 << i for i in ids)) if ids else -1.0
