"""IDNP (interest dynamics with generative neural processes, Du et al. 2022): toy scale.

A user's interest is a function of time drawn from a neural process: sessions at irregular
times are encoded at several scales, paired with their time encodings and aggregated into a
context; a global latent z and an attention from the query time t* decode an interest vector
that scores every item. Compared with a SASRec on the flattened item sequence (no timestamps)
and with IDNP fed session indices instead of timestamps, on synthetic drifting interests.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(560, ge=1, description="Adam steps (560 = 15 epochs of 2,400 users at batch 64).")
    eval_every: int = Field(280, ge=1, description="Evaluate and report every this many steps.")
    model: Literal["idnp", "sasrec"] = Field("idnp", description="'idnp' (neural process) or 'sasrec' (flattened items, no time).")
    time_input: Literal["timestamp", "index"] = Field(
        "timestamp", description="IDNP's time input: real session times, or session indices 0, 1, ... (the no-time ablation)."
    )
    time_encoding: Literal["sinusoidal", "learned"] = Field("sinusoidal", description="Fixed geometric frequencies or learned ones.")
    d_model: int = Field(32, ge=4, description="Item embedding and hidden width.")
    z_dim: int = Field(16, ge=1, description="IDNP latent size.")
    n_scales: int = Field(3, ge=1, le=3, description="Session encoder scales used, in order: item mean, 3-gram conv, attention pooling.")
    beta: float = Field(1.0, ge=0, description="KL weight β of the ELBO.")
    min_context: int = Field(1, ge=1, description="Training: fewest context sessions before a randomly placed target session.")
    n_heads: int = Field(2, ge=1, description="Attention heads (IDNP pooling and time attention; SASRec blocks).")
    sasrec_layers: int = Field(2, ge=1, description="SASRec causal blocks.")
    lr: float = Field(1.0e-3, gt=0, description="Adam learning rate.")
    batch: int = Field(64, ge=1, description="Users per step.")
    n_items: int = Field(400, ge=8, description="Items in the catalogue.")
    n_genres: int = Field(8, ge=2, description="Genres (items split evenly).")
    n_train: int = Field(2400, ge=10, description="Training users.")
    n_eval: int = Field(300, ge=10, description="Users in each of the validation and test splits.")
    sessions_min: int = Field(4, ge=2, description="Fewest sessions per user.")
    sessions_max: int = Field(8, ge=2, description="Most sessions per user.")
    session_len: int = Field(6, ge=1, description="Items per session.")
    amplitude: float = Field(3.0, ge=0, description="Largest amplitude A of the sinusoidal genre drift.")
    omega_max: float = Field(1.5, gt=0, description="Drift frequencies ω are uniform in [0.3, omega_max].")

    @model_validator(mode="after")
    def _check(self) -> "Config":
        if self.sessions_max < self.sessions_min:
            raise ValueError(f"sessions_max ({self.sessions_max}) must be >= sessions_min ({self.sessions_min})")
        if self.min_context >= self.sessions_min:
            raise ValueError(f"min_context ({self.min_context}) must be < sessions_min ({self.sessions_min}): a target needs context")
        if self.d_model % self.n_heads or (self.d_model // self.n_heads) % 2:
            raise ValueError(f"d_model ({self.d_model}) must split into n_heads ({self.n_heads}) heads of even size")
        if self.n_items < self.n_genres:
            raise ValueError(f"n_items ({self.n_items}) must be >= n_genres ({self.n_genres})")
        if self.omega_max < 0.3:
            raise ValueError(f"omega_max ({self.omega_max}) must be >= 0.3, the lowest drift frequency")
        return self


def build(cfg: Config, device: str):
    """An IDNP (or SASRec) run on ``device``."""
    from workloads.idnp.trainer import InterestRun

    return InterestRun(cfg, device)


WORKLOAD = WorkloadDef(
    name="idnp",
    title="IDNP: Interest Dynamics Modeling using Generative Neural Processes for Sequential Recommendation",
    arxiv="2208.04600",
    family="applied",
    config=Config,
    build=build,
    metric="val/ndcg10",
    mode="max",
    summary="Drifting synthetic interests: a neural process over timed sessions vs SASRec without time.",
)
