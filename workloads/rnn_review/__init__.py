"""A Critical Review of Recurrent Neural Networks for Sequence Learning (Lipton et al. 2015).

The survey's two headline points at toy scale: gated memory (LSTM) learns the adding problem at
T = 100 where a tanh RNN stays at the no-memory line, and a bidirectional RNN tags with future
context (label_t = x_{t+2}) where a causal one is at chance.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads import checks
from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(3000, ge=1, description="Adam steps.")
    eval_every: int = Field(500, ge=1, description="Evaluate and report every this many steps.")
    task: Literal["adding", "tagging"] = Field(
        "adding", description="'adding': sum of the two marked values (MSE); 'tagging': label_t = x_{t+shift} (accuracy)."
    )
    cell: Literal["rnn", "gru", "lstm"] = Field("lstm", description="Recurrent cell: tanh RNN, GRU or LSTM.")
    bidirectional: bool = Field(False, description="Run a forward and a backward RNN and concatenate their states.")
    length: int = Field(100, ge=4, description="Sequence length T.")
    hidden: int = Field(64, ge=2, description="Hidden units per direction.")
    layers: int = Field(1, ge=1, description="Stacked recurrent layers.")
    batch: int = Field(64, ge=1, description="Sequences per step.")
    lr: float = Field(1.0e-3, gt=0, description="Adam learning rate.")
    clip: float = Field(1.0, gt=0, description="Gradient-norm clipping threshold.")
    forget_bias: float = Field(1.0, description="LSTM forget-gate bias at init (0 or 1 in the survey's discussion).")
    vocab: int = Field(10, ge=2, description="Tagging: token vocabulary (chance = 1/vocab).")
    shift: int = Field(2, ge=0, description="Tagging: the label at t is the token at t + shift.")
    n_test: int = Field(1000, ge=10, description="Held-out sequences for evaluation (fixed per seed).")

    @model_validator(mode="after")
    def _shift_fits(self) -> "Config":
        if self.task == "tagging":
            checks.at_most(self, "shift", "length", strict=True, why="task 'tagging' labels position t with the token at t + shift")
        return self


def build(cfg: Config, device: str):
    """An RNN / GRU / LSTM run on the configured task."""
    from workloads.rnn_review.trainer import RNNReview

    return RNNReview(cfg, device)


WORKLOAD = WorkloadDef(
    name="rnn_review",
    title="A Critical Review of Recurrent Neural Networks for Sequence Learning",
    arxiv="1506.00019",
    family="recurrent",
    config=Config,
    build=build,
    metric="val/loss",
    mode="min",
    summary="Adding problem (LSTM vs tanh RNN) and future-context tagging (BiLSTM vs LSTM).",
)
