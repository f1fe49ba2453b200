"""Sparse Modular Activation / SeqBoat (Ren et al. 2023): an S4D stack whose attention runs only
on the tokens a learned gate activates.

Toy claim: on MQAR with filler tokens (4 pairs, 4 queries, 24 filler tokens: L = 36), SeqBoat keeps within 3 points of the dense
hybrid (S4D + attention on every token) and ≥ pure S4D + 10 points, with attention active on
≤ 40% of the (layer, token) pairs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads import checks
from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(400, ge=1, description="AdamW steps.")
    eval_every: int = Field(200, ge=1, description="Evaluate and report every this many steps.")
    variant: Literal["ssm", "dense", "seqboat"] = Field(
        "seqboat", description="Pure S4D stack, dense hybrid (attention on all tokens), or SeqBoat (SMA-gated attention)."
    )
    n_pairs: int = Field(4, ge=1, description="Key-value pairs per sequence.")
    n_queries: int = Field(4, ge=1, description="Queries at the end of the sequence.")
    n_keys: int = Field(16, ge=2, description="Key vocabulary.")
    n_values: int = Field(16, ge=2, description="Value vocabulary.")
    n_filler: int = Field(24, ge=0, description="Filler tokens among the pairs (L = 2·pairs + queries + filler).")
    layers: int = Field(2, ge=1, description="S4D (+ attention) layers.")
    d_model: int = Field(64, ge=4, description="Model width (S4D channels).")
    state: int = Field(32, ge=1, description="S4D modes per channel.")
    window: int = Field(32, ge=1, description="SeqBoat attention window, counted in activated tokens.")
    dense_window: int = Field(64, ge=1, description="Dense hybrid attention window, in tokens.")
    temperature: float = Field(1.0, gt=0, description="τ of the gate's tempered softmax.")
    gate_bias: float = Field(0.0, description="Initial activate-minus-skip gate logit (negative: start sparse).")
    sample_gate: bool = Field(True, description="Train with sampled gates (on with probability p) instead of p > 1/2.")
    sparsity: float = Field(0.5, ge=0, description="Weight of the hinge max(0, mean gate probability - act_target) added to the SeqBoat loss.")
    act_target: float = Field(0.25, ge=0, le=1, description="Expected activation ratio above which the sparsity hinge acts.")
    batch: int = Field(32, ge=1, description="Sequences per step.")
    lr: float = Field(3.0e-3, gt=0, description="AdamW learning rate (S4D's A and Δ use min(lr, 1e-3)).")
    n_test: int = Field(256, ge=8, description="Held-out sequences (fixed per seed).")

    @model_validator(mode="after")
    def _keys_fit(self) -> "Config":
        checks.at_most(self, "n_pairs", "n_keys", why="each pair binds a distinct key")
        checks.at_most(self, "n_queries", "n_pairs", why="each query asks a different bound key")
        return self


def build(cfg: Config, device: str):
    """An MQAR run with the chosen model."""
    from workloads.sma.trainer import SMARun

    return SMARun(cfg, device)


WORKLOAD = WorkloadDef(
    name="sma",
    title="Sparse Modular Activation for Efficient Sequence Modeling",
    arxiv="2306.11197",
    family="recurrent",
    config=Config,
    build=build,
    metric="val/acc",
    mode="max",
    summary="MQAR: SeqBoat (S4D + SMA-gated attention) vs dense hybrid and pure S4D, with activation ratio.",
)
