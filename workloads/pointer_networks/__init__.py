"""Pointer Networks (Vinyals, Fortunato, Jaitly 2015) on sorting, against seq2seq + attention.

An LSTM encodes the input values; an LSTM decoder's state d_i scores every encoder state e_j
with u_j = vᵀ tanh(W1 e_j + W2 d_i), and softmax_j(u_j) *is* the output distribution: the
model points at an input position, so its output vocabulary grows with the input. The baseline
is an LSTM encoder-decoder with additive attention that emits index tokens from a fixed
vocabulary {0..n_vocab−1}, so it cannot name positions past ``n_vocab``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads import checks
from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(1200, ge=1, description="Adam steps (batches); the catalogue's 4000 trimmed to fit the claim budget.")
    eval_every: int = Field(400, ge=1, description="Evaluate every this many steps.")
    variant: Literal["pointer", "seq2seq"] = Field(
        "pointer", description="pointer: Ptr-Net; seq2seq: encoder-decoder + attention emitting index tokens."
    )
    n_min: int = Field(5, ge=2, description="Shortest training input (one length per batch).")
    n_max: int = Field(10, ge=2, description="Longest training input; also the baseline's index vocabulary.")
    n_long: int = Field(20, ge=2, description="Longer test length for length generalisation.")
    mask_visited: bool = Field(False, description="Forbid pointing at (or emitting) an index already output (off: the net must learn it).")
    hidden: int = Field(128, ge=1, description="LSTM width (encoder and decoder).")
    layers: int = Field(1, ge=1, description="LSTM layers (encoder and decoder).")
    emb: int = Field(64, ge=1, description="Width of the input projection / index embedding.")
    lr: float = Field(1.0e-3, gt=0, description="Adam learning rate.")
    batch: int = Field(128, ge=1, description="Examples per step.")
    clip: float = Field(2.0, gt=0, description="Gradient-norm clipping threshold.")
    beam: int = Field(2, ge=1, description="Beam width for the beam-search metric at n_max.")
    eval_size: int = Field(500, ge=1, description="Held-out examples per test length.")

    @model_validator(mode="after")
    def _lengths_ordered(self) -> "Config":
        checks.at_most(self, "n_min", "n_max", why="training lengths are drawn from [n_min, n_max]")
        return self


def build(cfg: Config, device: str):
    from workloads.pointer_networks.run import SortRun

    return SortRun(cfg, device)


WORKLOAD = WorkloadDef(
    name="pointer_networks",
    title="Pointer Networks",
    arxiv="1506.03134",
    family="foundation",
    config=Config,
    build=build,
    metric="val/pos_acc",
    mode="max",
    summary="Ptr-Net vs seq2seq + attention on sorting n floats; generalises to longer n than trained on.",
)
