"""GPipe (Huang et al., 2019): pipeline parallelism with micro-batches and one synchronous update.

A causal Transformer LM on a synthetic Markov language, written as a list of layers
(embedding, N blocks, head) so it runs as one process (``build``: the list chained, gradients
accumulated over ``micro_batches``) or as a DeepSpeed pipeline across Ray Train workers
(``pipeline``: the same list as layer specs, for ``kind: job`` files; see orchestrator/job.py).
With one synchronous update per mini-batch both give the same training, up to reduction order;
the idle fraction of the pipeline's schedule is (p − 1)/(m + p − 1).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(300, ge=1, description="Optimisation steps (one synchronous update per mini-batch).")
    eval_every: int = Field(100, ge=1, description="Evaluate every this many steps.")
    vocab: int = Field(16, ge=2, description="Vocabulary size of the synthetic Markov language.")
    order: int = Field(2, ge=1, description="Markov order of the language (tokens of context that matter).")
    branching: int = Field(3, ge=1, description="Successors each context allows (Dirichlet-weighted).")
    seq_len: int = Field(32, ge=2, description="Tokens per training sequence.")
    batch_size: int = Field(32, ge=1, description="Sequences per mini-batch (split into micro-batches).")
    d_model: int = Field(64, ge=8, description="Transformer width.")
    n_layers: int = Field(4, ge=1, description="Transformer blocks (the pipeline cuts between layers).")
    n_heads: int = Field(4, ge=1, description="Attention heads per block.")
    lr: float = Field(3.0e-3, gt=0, description="Adam learning rate.")
    micro_batches: int = Field(
        1, ge=1, description="Micro-batches per mini-batch in a single-process run (gradient accumulation)."
    )
    schedule_stages: int = Field(
        2, ge=1, description="Stages p for the schedule metrics evaluate() reports (a job's parallelism sets the real p)."
    )

    @model_validator(mode="after")
    def _divisible(self) -> "Config":
        if self.batch_size % self.micro_batches:
            raise ValueError(f"batch_size {self.batch_size} is not divisible by micro_batches {self.micro_batches}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        if self.seq_len <= self.order:
            raise ValueError(f"seq_len {self.seq_len} must exceed order {self.order}")
        if self.branching > self.vocab:
            raise ValueError(f"branching ({self.branching}) must be <= vocab ({self.vocab}): each context picks distinct successors")
        return self


def build(cfg: Config, device: str):
    from workloads.gpipe.run import GPipeRun

    return GPipeRun(cfg, device)


def pipeline(cfg: Config):
    from workloads.gpipe.parts import pipeline_parts

    return pipeline_parts(cfg)


WORKLOAD = WorkloadDef(
    name="gpipe",
    title="GPipe: Efficient Training of Giant Neural Networks using Pipeline Parallelism",
    arxiv="1811.06965",
    family="large-model jobs",
    config=Config,
    build=build,
    metric="val/loss",
    mode="min",
    summary="Transformer LM as layer specs: one process or a DeepSpeed pipeline on Ray Train; bubble (p-1)/(m+p-1).",
    pipeline=pipeline,
)
