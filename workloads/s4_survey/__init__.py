"""S4-family survey (Somvanshi et al. 2025) at toy scale: the adding problem at L = 512.

S4D (diagonal, Vandermonde kernel), S4 (DPLR HiPPO-LegS, Cauchy kernel) and S5 (MIMO diagonal)
from :mod:`workloads.nn.s4` against an LSTM, same step budget. The survey's headline: SSMs
carry long-range dependencies at near-linear cost where RNNs struggle.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(400, ge=1, description="Optimisation steps (train_step calls).")
    eval_every: int = Field(100, ge=1, description="Evaluate and report every this many steps.")
    model: Literal["s4d", "s4", "s5", "lstm"] = Field("s4d", description="Sequence model.")
    init: Literal["lin", "inv", "legs", "random"] = Field("lin", description="S4D initialisation of A.")
    H: int = Field(32, ge=1, description="SSM channels (model width).")
    N: int = Field(32, ge=1, description="State size: complex modes per channel (S4D, S4) or shared state (S5).")
    layers: int = Field(2, ge=1, description="SSM blocks (or LSTM layers).")
    lstm_hidden: int = Field(64, ge=1, description="LSTM hidden size.")
    dt_min: float = Field(1.0e-3, gt=0, description="Smallest initial Δ.")
    dt_max: float = Field(1.0e-1, gt=0, description="Largest initial Δ.")
    lr: float = Field(4.0e-3, gt=0, description="AdamW learning rate (cosine decay to 10%).")
    ssm_lr: float = Field(1.0e-3, gt=0, description="Learning rate of A, Δ and P (no weight decay).")
    batch: int = Field(32, ge=1, description="Sequences per step.")
    seq_len: int = Field(512, ge=2, description="Sequence length L of the adding problem.")
    eval_batch: int = Field(512, ge=1, description="Held-out sequences.")


def build(cfg: Config, device: str):
    """An adding-problem run on ``device``."""
    from workloads.s4_survey.trainer import AddingRun

    return AddingRun(cfg, device)


WORKLOAD = WorkloadDef(
    name="s4_survey",
    title="A Survey on Structured State Space Sequence (S4) Models",
    arxiv="2503.18970",
    family="recurrent",
    config=Config,
    build=build,
    metric="val/mse",
    mode="min",
    summary="Adding problem at L = 512: S4D, S4, S5 vs LSTM at one step budget, with throughput.",
)
