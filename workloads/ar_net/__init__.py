"""AR-Net (Triebe et al., 2019): a linear autoregressive net with a sparsity regularizer.

ŷ_t = b + Σ_{i=1..p} w_i·y_{t−i}, trained by Adam on MSE + λ·mean_i R(w_i) with
R(w) = 2/(1 + exp(−c1·|w|^{1/c2})) − 1 and λ = 0.02·(1/s − 1) for an estimated fraction s of
nonzero coefficients. evaluate() reports the coefficient error (sTPE) of the net and of an
ordinary least-squares AR fit on the same windows, so one run compares both.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from workloads import checks
from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(1560, ge=1, description="Adam steps; 1560 is 40 epochs of 39 batches at the defaults.")
    eval_every: int = Field(390, ge=1, description="Evaluate every this many steps (390 = 10 epochs).")
    coefficients: tuple[float, ...] = Field(
        (0.2, -0.3, 0.4), min_length=1, description="True AR coefficients, lag 1 first (stationary)."
    )
    noise: float = Field(1.0, gt=0, description="Std of the Gaussian innovation ε_t.")
    n_train: int = Field(5000, ge=10, description="Training series length (points).")
    n_test: int = Field(1000, ge=10, description="Held-out series length for one-step MSE.")
    order: int = Field(50, ge=1, description="Model order p (lags the net sees).")
    regularize: bool = Field(True, description="Add the sparsity regularizer λ·mean R(w).")
    sparsity: float = Field(0.06, gt=0, le=1, description="Estimated nonzero fraction s; λ = 0.02·(1/s − 1).")
    reg_c1: float = Field(3.0, gt=0, description="Regularizer steepness c1.")
    reg_c2: float = Field(3.0, gt=0, description="Regularizer root c2 (|w|^{1/c2}).")
    lr: float = Field(0.01, gt=0, description="Adam learning rate at epoch 0.")
    lr_decay: float = Field(0.9, gt=0, le=1, description="Learning rate factor per epoch.")
    batch: int = Field(128, ge=1, description="Windows per batch.")

    @model_validator(mode="after")
    def _series_fit(self) -> "Config":
        checks.at_most(self, "order", "n_train", strict=True, why="the training series needs windows of order + 1 points")
        import numpy as np  # light, and only here: the stationarity test needs polynomial roots

        roots = np.roots(np.concatenate([[1.0], -np.asarray(self.coefficients, dtype=np.float64)]))
        if roots.size and np.max(np.abs(roots)) >= 1.0:
            raise ValueError(
                f"coefficients ({list(self.coefficients)}) are not stationary (a characteristic root has "
                f"|root| = {np.max(np.abs(roots)):.3f} >= 1), so the series explodes"
            )
        return self


def build(cfg: Config, device: str):
    from workloads.ar_net.model import ArNetRun

    return ArNetRun(cfg, device)


WORKLOAD = WorkloadDef(
    name="ar_net",
    title="AR-Net: A simple Auto-Regressive Neural Network for time-series",
    arxiv="1911.12436",
    family="foundation",
    config=Config,
    build=build,
    metric="val/stpe",
    mode="min",
    summary="Sparse AR coefficients by a linear net + sparsity regularizer, versus least squares.",
)
