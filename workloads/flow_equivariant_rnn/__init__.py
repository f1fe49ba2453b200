"""Flow Equivariant Recurrent Neural Networks (Keller 2025) on moving 1-D patterns.

A hidden state lifted over velocities, each channel transported along its own flow, makes the
RNN equivariant to moving inputs: it predicts moving bumps further ahead and at velocities it
never trained on, where the same RNN without the lift (G-RNN) does not.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from workloads import checks
from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(800, ge=1, description="Adam steps.")
    eval_every: int = Field(400, ge=1, description="Evaluate and report every this many steps.")
    max_velocity: int = Field(2, ge=0, description="Lifted velocities −m … m; 0 is the G-RNN baseline.")
    hidden: int = Field(16, ge=1, description="Hidden channels per velocity.")
    kernel: int = Field(5, ge=1, description="Circular convolution width (odd).")
    size: int = Field(32, ge=8, description="Pixels on the ring.")
    train_velocity: int = Field(1, ge=0, description="Training velocities are −w … w.")
    test_velocity: int = Field(2, ge=1, description="Unseen velocities tested: ±(train_velocity+1) … ±this.")
    t_in: int = Field(10, ge=1, description="Observed frames.")
    t_out: int = Field(10, ge=1, description="Predicted frames in training (autoregressive rollout).")
    t_eval: int = Field(40, ge=1, description="Predicted frames at evaluation (length generalisation).")
    batch: int = Field(32, ge=1, description="Sequences per step.")
    n_train: int = Field(5000, ge=1, description="Training sequences (a fixed pool, sampled per step).")
    n_test: int = Field(256, ge=8, description="Held-out sequences per evaluation set.")
    lr: float = Field(1.0e-3, gt=0, description="Adam learning rate.")

    @model_validator(mode="after")
    def _kernel_fits(self) -> "Config":
        checks.odd(self, "kernel", why="the circular convolutions keep the ring's size")
        if self.kernel // 2 > self.size:
            raise ValueError(
                f"kernel ({self.kernel}) // 2 must be <= size ({self.size}): circular padding cannot wrap around the ring more than once"
            )
        return self


def build(cfg: Config, device: str):
    """A FERNN / G-RNN run on moving bumps."""
    from workloads.flow_equivariant_rnn.trainer import FlowRun

    return FlowRun(cfg, device)


WORKLOAD = WorkloadDef(
    name="flow_equivariant_rnn",
    title="Flow Equivariant Recurrent Neural Networks",
    arxiv="2507.14793",
    family="recurrent",
    config=Config,
    build=build,
    metric="val/mse",
    mode="min",
    summary="Moving 1-D bumps: velocity-lifted RNN (FERNN) vs G-RNN rollouts, unseen velocities, equivariance error.",
)
