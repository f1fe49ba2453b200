"""Verbatim short-term memory in LMs (Armeni, Honey & Linzen 2022) at toy scale.

A causal LM (the shared tiny Transformer or an LSTM) is trained on Markov filler text in
which noun lists recur; evaluation measures *repeat surprisal*, 100 x mean surprisal of the
second list / mean surprisal of the first, across delays, list orders and list positions.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads import checks
from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(800, ge=1, description="Optimisation steps (train_step calls).")
    eval_every: int = Field(400, ge=1, description="Evaluate and report every this many steps.")
    arch: Literal["transformer", "lstm"] = Field("transformer", description="Language model: the shared tiny Transformer or a 1-layer LSTM.")
    n_layers: int = Field(2, ge=1, description="Transformer blocks (ignored by the LSTM).")
    d_model: int = Field(64, ge=8, description="Transformer width and LSTM embedding size.")
    n_heads: int = Field(4, ge=1, description="Attention heads per Transformer block.")
    pos: Literal["learned", "rope"] = Field("learned", description="Transformer positions: learned absolute table or rotary (relative).")
    lstm_hidden: int = Field(128, ge=8, description="LSTM hidden size.")
    batch: int = Field(16, ge=1, description="Documents per training batch.")
    doc_len: int = Field(96, ge=32, description="Tokens per training document.")
    lr: float = Field(1.0e-2, gt=0, description="AdamW learning rate (linear warm-up over 50 steps, cosine decay).")
    p_episode: float = Field(0.8, ge=0, le=1, description="Probability that each episode slot of a training document holds a list episode.")
    episodes_per_doc: int = Field(3, ge=1, description="Episode slots per training document (1: one episode at a random offset).")
    max_delay: int = Field(30, ge=0, description="Longest filler gap between the two lists in training.")
    n_filler: int = Field(200, ge=2, description="Filler vocabulary (Markov chain states).")
    n_nouns: int = Field(100, ge=10, description="Noun vocabulary.")
    eval_lists: int = Field(100, ge=1, description="Probe episodes per test cell (n = 10; k = 4, 16, 48; three conditions).")

    @model_validator(mode="after")
    def _heads_fit(self) -> "Config":
        if self.arch == "transformer":
            checks.heads_fit(self, rope=self.pos == "rope")
        return self


def build(cfg: Config, device: str):
    from workloads.verbatim_memory.run import VerbatimRun

    return VerbatimRun(cfg, device)


WORKLOAD = WorkloadDef(
    name="verbatim_memory",
    title="Characterizing Verbatim Short-Term Memory in Neural Language Models",
    arxiv="2210.13569",
    family="algorithmic",
    config=Config,
    build=build,
    metric="val/rs",
    mode="min",
    summary="Repeat surprisal of a recurring noun list: Transformer vs LSTM, 1 vs 2 layers.",
)
