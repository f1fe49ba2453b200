"""Hydra (Hwang et al. 2024) at toy scale: bidirectional multi-query associative recall.

2-layer matrix-mixer models (:mod:`workloads.nn.hydra`) that differ only in the sequence mixer:
Hydra's quasiseparable mixer, the Add and Concat bidirectional combinations of two SSDs, a
data-independent Toeplitz mixer, and a causal SSD (sanity: at chance on queries whose pair lies
to the right). Task: :func:`workloads.tasks.bidirectional_recall.bidirectional_mqar`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads import checks
from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(350, ge=1, description="Optimisation steps (train_step calls).")
    eval_every: int = Field(350, ge=1, description="Evaluate and report every this many steps.")
    mixer: Literal["hydra", "add", "concat", "toeplitz", "causal"] = Field("hydra", description="Sequence mixer of every block.")
    seq_len: int = Field(32, ge=4, description="Tokens per sequence.")
    n_pairs: int = Field(4, ge=1, description="Key-value pairs (and queries) per sequence.")
    n_keys: int = Field(8, ge=1, description="Key vocabulary.")
    n_values: int = Field(8, ge=2, description="Value vocabulary (chance = 1 / n_values).")
    d_model: int = Field(32, ge=4, description="Model width.")
    layers: int = Field(2, ge=1, description="Mixer blocks.")
    d_state: int = Field(16, ge=1, description="SSD state size N.")
    expand: int = Field(2, ge=1, description="d_inner = expand · d_model.")
    headdim: int = Field(16, ge=1, description="Channels per head P.")
    d_conv: int = Field(3, ge=1, description="Depthwise convolution width.")
    backend: Literal["quadratic", "scan"] = Field("quadratic", description="SSD as its materialised matrix (fast on CPU at toy T) or on kernels.selective_scan.")
    lr: float = Field(1.0e-2, gt=0, description="AdamW peak learning rate (cosine decay to 0 over steps).")
    batch: int = Field(32, ge=1, description="Sequences per step.")
    eval_size: int = Field(512, ge=1, description="Held-out sequences evaluated.")

    @model_validator(mode="after")
    def _sizes_fit(self) -> "Config":
        checks.divisible(self, ("expand", "d_model"), "headdim", why="d_inner splits into heads of headdim channels")
        if 3 * self.n_pairs > self.seq_len:
            raise ValueError(
                f"3 x n_pairs ({self.n_pairs}) = {3 * self.n_pairs} must be <= seq_len ({self.seq_len}): "
                "each pair takes 2 tokens and its query 1"
            )
        checks.at_most(self, "n_pairs", "n_keys", why="each pair has a distinct key")
        return self


def build(cfg: Config, device: str):
    """A bidirectional-MQAR run on ``device``."""
    from workloads.hydra.trainer import RecallRun

    return RecallRun(cfg, device)


WORKLOAD = WorkloadDef(
    name="hydra",
    title="Hydra: Bidirectional State Space Models Through Generalized Matrix Mixers",
    arxiv="2407.09941",
    family="recurrent",
    config=Config,
    build=build,
    metric="val/acc",
    mode="max",
    summary="Bidirectional MQAR: quasiseparable (Hydra) vs Add / Concat SSDs vs Toeplitz vs causal SSD.",
)
