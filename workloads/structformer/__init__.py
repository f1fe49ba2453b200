"""Linguistic structure induction with StructFormer (Shen et al. 2021; Momen's thesis) at toy scale.

A StructFormer is trained by masked language modelling on sentences of an English-like PCFG;
its parser's distances give binary constituency trees and its parent distribution gives
dependency trees, scored against the grammar's gold trees beside left-branching,
right-branching and random trees and a right-chain dependency baseline.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from workloads import checks
from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(600, ge=1, description="Optimisation steps (train_step calls).")
    eval_every: int = Field(300, ge=1, description="Evaluate and report every this many steps.")
    n_train: int = Field(4000, ge=10, description="Training sentences drawn from the PCFG.")
    n_test: int = Field(500, ge=10, description="Test sentences with gold trees.")
    batch: int = Field(64, ge=1, description="Sentences per batch (one sentence length per batch, so no padding).")
    d_model: int = Field(64, ge=8, description="Width of embeddings, parser and blocks.")
    n_layers: int = Field(2, ge=1, description="Dependency-gated attention blocks.")
    n_heads: int = Field(4, ge=1, description="Attention heads per block.")
    parser_layers: int = Field(2, ge=1, description="Convolution layers in the parser.")
    conv_size: int = Field(3, ge=1, description="Kernel width of the parser's convolutions (odd).")
    dropout: float = Field(0.1, ge=0, lt=1, description="Dropout in the blocks.")
    mask_rate: float = Field(0.15, gt=0, lt=1, description="Fraction of words masked for the MLM loss.")
    lr: float = Field(3.0e-3, gt=0, description="AdamW learning rate (warm-up 100 steps, cosine decay).")

    @model_validator(mode="after")
    def _shapes_fit(self) -> "Config":
        checks.odd(self, "conv_size", why="the parser's convolutions keep the sentence length")
        checks.heads_fit(self)
        return self


def build(cfg: Config, device: str):
    from workloads.structformer.run import StructFormerRun

    return StructFormerRun(cfg, device)


WORKLOAD = WorkloadDef(
    name="structformer",
    title="StructFormer: Joint Unsupervised Induction of Dependency and Constituency Structure from Masked Language Modeling",
    arxiv="2012.00857",
    family="algorithmic",
    config=Config,
    build=build,
    metric="val/f1",
    mode="max",
    summary="Constituency F1 and dependency UAS induced by MLM on a PCFG, vs branching baselines.",
)
