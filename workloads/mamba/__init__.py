"""Mamba (Gu & Dao 2023): selective (S6) vs time-invariant SSM on selective copying and induction heads.

A 2-layer :class:`workloads.nn.ssm.MambaLM` with the S6 scan (Δ, B, C computed from the input)
or, with ``selective: false``, the same block with a time-invariant SSM whose Δ, B and C are
learned per channel as in S4D (:class:`workloads.mamba.lti.LTIMambaBlock`). Tasks from
:mod:`workloads.tasks.synthetic_memory`; evaluation also runs at ``extrapolate`` × the
training length (the induction-head extrapolation of paper Table 2).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads import checks
from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(400, ge=1, description="Optimisation steps (train_step calls).")
    eval_every: int = Field(100, ge=1, description="Evaluate and report every this many steps.")
    task: Literal["selective_copy", "induction"] = Field("selective_copy", description="Synthetic task.")
    selective: bool = Field(True, description="True: S6 (input-dependent Δ, B, C); False: LTI with per-channel Δ, B, C (S4D-like).")
    d_model: int = Field(32, ge=4, description="Model width.")
    n_layers: int = Field(2, ge=1, description="Residual Mamba blocks.")
    d_state: int = Field(16, ge=1, description="SSM state size N per channel.")
    expand: int = Field(2, ge=1, description="d_inner = expand · d_model.")
    d_conv: int = Field(4, ge=1, description="Width of the causal depthwise convolution.")
    dt_min: float = Field(1.0e-3, gt=0, description="Smallest initial Δ.")
    dt_max: float = Field(1.0e-1, gt=0, description="Largest initial Δ.")
    chunk_size: int = Field(4, ge=1, description="selective_scan chunk size (a power of two; 4 is the fastest at T = 36).")
    lr: float = Field(6.0e-3, gt=0, description="AdamW learning rate (cosine decay to 10%).")
    batch: int = Field(16, ge=1, description="Sequences per step.")
    seq_len: int = Field(32, ge=4, description="Training length: noise prefix L (copying) or whole sequence (induction).")
    n_data: int = Field(4, ge=1, description="Selective copying: data tokens to memorise and copy.")
    vocab: int = Field(8, ge=2, description="Data-token vocabulary (model vocabulary is vocab + 2).")
    extrapolate: int = Field(4, ge=1, description="val/acc_long is measured at extrapolate × seq_len.")
    eval_batch: int = Field(256, ge=1, description="Held-out sequences per evaluation length.")

    @model_validator(mode="after")
    def _sizes_fit(self) -> "Config":
        checks.power_of_two(self, "chunk_size", why="selective_scan's chunk size")
        if self.task == "selective_copy":
            checks.at_most(self, "n_data", "seq_len", why="task 'selective_copy' places n_data tokens among seq_len")
        return self


def build(cfg: Config, device: str):
    """A Mamba run on ``device``."""
    from workloads.mamba.trainer import MambaRun

    return MambaRun(cfg, device)


WORKLOAD = WorkloadDef(
    name="mamba",
    title="Mamba: Linear-Time Sequence Modeling with Selective State Spaces",
    arxiv="2312.00752",
    family="recurrent",
    config=Config,
    build=build,
    metric="val/acc",
    mode="max",
    summary="Selective copying and induction heads: S6 vs LTI SSM in the Mamba block; 4x length extrapolation.",
)
