"""Miras (Behrouz et al. 2025): attentional bias + retention memories Moneta, Yaad, Memora.

Toy claim: on multi-query associative recall (MQAR) the delta-rule (DeltaNet) and Miras
memories are far above linear attention; on noisy MQAR (key collisions and large-norm outlier
tokens) at least one of Moneta / Yaad / Memora is ≥ DeltaNet (exploratory).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads import checks
from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(200, ge=1, description="AdamW steps.")
    eval_every: int = Field(100, ge=1, description="Evaluate and report every this many steps.")
    variant: Literal["linear", "deltanet", "moneta", "yaad", "memora"] = Field(
        "yaad", description="Memory: linear attention (dot bias), DeltaNet (ℓ2), Moneta (ℓp/ℓq), Yaad (Huber), Memora (KL)."
    )
    noisy: bool = Field(False, description="Noisy MQAR: key collisions and large-norm outlier tokens.")
    n_pairs: int = Field(8, ge=1, description="Key-value pairs per sequence.")
    n_queries: int = Field(6, ge=1, description="Queries per sequence (distinct keys).")
    n_keys: int = Field(32, ge=2, description="Key vocabulary.")
    n_values: int = Field(32, ge=2, description="Value vocabulary.")
    n_filler: int = Field(12, ge=0, description="Filler tokens scattered between the pairs (Zoology's noise tokens).")
    collide: float = Field(0.25, ge=0, lt=1, description="Noisy only: fraction of pairs re-binding an earlier key.")
    outlier_frac: float = Field(0.1, ge=0, description="Noisy only: inserted outlier tokens per clean token.")
    outlier_scale: float = Field(4.0, ge=0, description="Noisy only: std of the outliers' Gaussian embedding noise.")
    layers: int = Field(1, ge=1, description="Stacked mixer + MLP blocks.")
    d_model: int = Field(64, ge=4, description="Model width.")
    n_heads: int = Field(1, ge=1, description="Heads.")
    head_dim: int = Field(16, ge=1, description="Per-head key/value size (matrix memory K = V).")
    p: float = Field(3.0, ge=1, description="Moneta's ℓp attentional-bias exponent.")
    q_norm: float = Field(4.0, ge=2, description="Moneta's ℓq retention exponent.")
    kl_lr: float = Field(1.0, gt=0, description="Memora's largest inner learning rate (its update is multiplicative).")
    batch: int = Field(64, ge=1, description="Sequences per step.")
    lr: float = Field(1.0e-2, gt=0, description="AdamW learning rate.")
    n_test: int = Field(256, ge=8, description="Held-out sequences (fixed per seed).")
    backend: str | None = Field(None, description="Kernel backend for DeltaNet / linear attention (None: chunked on CPU).")

    @model_validator(mode="after")
    def _keys_fit(self) -> "Config":
        collisions = int(round(self.collide * self.n_pairs)) if self.noisy else 0
        distinct = self.n_pairs - collisions
        if distinct > self.n_keys:
            raise ValueError(
                f"n_pairs ({self.n_pairs}) minus collisions ({collisions}) = {distinct} distinct keys must be <= n_keys ({self.n_keys})"
            )
        if self.n_queries > distinct:
            raise ValueError(
                f"n_queries ({self.n_queries}) must be <= the distinct keys, n_pairs ({self.n_pairs}) minus "
                f"collisions ({collisions}) = {distinct}: each query asks a different key"
            )
        return self


def build(cfg: Config, device: str):
    """An MQAR run with the chosen memory."""
    from workloads.miras.trainer import MirasRun

    return MirasRun(cfg, device)


WORKLOAD = WorkloadDef(
    name="miras",
    title="It's All Connected: A Journey Through Test-Time Memorization, Attentional Bias, Retention, and Online Optimization",
    arxiv="2504.13173",
    family="recurrent",
    config=Config,
    build=build,
    metric="val/acc",
    mode="max",
    summary="MQAR: DeltaNet and Moneta/Yaad/Memora vs linear attention; noisy MQAR robustness (exploratory).",
)
