"""Bigram Subnetworks (Chang & Bergen 2025) at toy scale.

Train a small tied-embedding GPT on bigram-chain text with copy episodes, then learn a binary
mask over its non-embedding parameters by continuous sparsification so that the masked model
reproduces the corpus bigram distribution P(w_{t+1} | w_t). Evaluation reports how small the
mask is, how well it matches the bigrams, where it sits, and how much ablating it hurts the
full model, each beside a random mask of the same size.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from workloads import checks
from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(900, ge=1, description="Total steps: lm_steps of language modelling, then mask training.")
    eval_every: int = Field(900, ge=1, description="Evaluate and report every this many steps.")
    lm_steps: int = Field(600, ge=0, description="Steps that train the language model; the rest train the mask.")
    vocab: int = Field(128, ge=8, description="Vocabulary size of the bigram chain.")
    concentration: float = Field(0.1, gt=0, description="Dirichlet concentration of the chain's rows (smaller: peakier bigrams).")
    copy_frac: float = Field(0.3, ge=0, le=0.9, description="Fraction of tokens that are copies of earlier spans.")
    seq_len: int = Field(64, ge=8, description="Tokens per training document.")
    batch: int = Field(16, ge=1, description="Documents per batch (LM and mask training).")
    d_model: int = Field(64, ge=8, description="Transformer width.")
    n_layers: int = Field(4, ge=1, description="Transformer blocks.")
    n_heads: int = Field(4, ge=1, description="Attention heads per block.")
    tied: bool = Field(True, description="Tie the unembedding to the token embedding (as GPT-2 does).")
    lr: float = Field(3.0e-3, gt=0, description="AdamW learning rate of the language model.")
    mask_lr: float = Field(0.1, gt=0, description="Adam learning rate of the mask logits.")
    mask_init: float = Field(2.0, description="Initial mask logit s (soft mask sigmoid(beta*s) starts near 1).")
    beta_final: float = Field(100.0, ge=1, description="Final sigmoid temperature beta (annealed geometrically from 1).")
    sparsity: float = Field(2.0, ge=0, description="Weight lambda of the penalty on the mean soft mask.")
    eval_docs: int = Field(64, ge=1, description="Held-out documents for the KL and LM-loss figures.")

    @model_validator(mode="after")
    def _heads_fit(self) -> "Config":
        checks.heads_fit(self)
        return self


def build(cfg: Config, device: str):
    from workloads.bigram_subnetworks.run import BigramSubnetworkRun

    return BigramSubnetworkRun(cfg, device)


WORKLOAD = WorkloadDef(
    name="bigram_subnetworks",
    title="Bigram Subnetworks: Mapping to Next Tokens in Transformer Language Models",
    arxiv="2504.15471",
    family="algorithmic",
    config=Config,
    build=build,
    metric="val/kl",
    mode="min",
    summary="Learned mask (<10% of parameters) that reproduces bigram predictions; location and ablation.",
)
