"""S4 (Gu, Goel & Ré 2022) at toy scale: sequential glyph digits at L = 1024, every model at equal steps.

S4 with the DPLR HiPPO-LegS kernel (:class:`workloads.nn.s4.S4`) against a full-attention
Transformer and an LSTM, each trained for the same number of AdamW steps at the same batch
(cosine decay, gradient-norm clip), each at a learning rate picked for it on calibration seeds.
The S4 arm also checks that its recurrent and convolutional views agree;
``benchmarks/s4_kernel.py`` times kernel generation against LSSL's dense-A Krylov kernel.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads import checks
from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(100, ge=1, description="AdamW steps (the same for every model in the claim); the cosine decay ends here.")
    eval_every: int = Field(100, ge=1, description="Evaluate and report every this many steps.")
    model: Literal["s4", "s4d", "transformer", "lstm"] = Field("s4", description="Sequence classifier.")
    side: int = Field(32, ge=8, description="Image side; the sequence length is side².")
    noise: float = Field(0.2, ge=0, description="Std of the pixel noise.")
    H: int = Field(64, ge=1, description="SSM channels.")
    N: int = Field(32, ge=1, description="SSM state size.")
    layers: int = Field(2, ge=1, description="SSM blocks, Transformer blocks or LSTM layers.")
    d_model: int = Field(64, ge=8, description="Transformer width.")
    n_heads: int = Field(4, ge=1, description="Transformer heads (full attention over all side² pixels).")
    lstm_hidden: int = Field(96, ge=1, description="LSTM hidden size.")
    lstm_init: Literal["default", "unit_forget", "chrono"] = Field(
        "chrono",
        description="LSTM gate biases: PyTorch's default; unit_forget (forget bias 1, Jozefowicz et al. 2015); or chrono "
        "(Tallec & Ollivier 2018: forget bias log U(1, T − 1), input bias its negative, T = side²).",
    )
    lr: float = Field(4.0e-3, gt=0, description="AdamW peak learning rate (cosine decay to 0 over steps).")
    ssm_lr: float = Field(1.0e-3, gt=0, description="Learning rate of the SSM's Λ, Δ and P (no weight decay).")
    clip: float = Field(1.0, gt=0, description="Gradient-norm clip of every step.")
    batch: int = Field(16, ge=1, description="Images per step.")
    eval_batch: int = Field(500, ge=1, description="Held-out images.")
    check_modes: bool = Field(True, description="S4/S4D: report val/mode_gap, max |conv − recurrent| of the first layer on 2 images.")

    @model_validator(mode="after")
    def _heads_fit(self) -> "Config":
        if self.model == "transformer":
            checks.heads_fit(self)
        return self


def build(cfg: Config, device: str):
    """A sequential-digits run on ``device``."""
    from workloads.s4.trainer import DigitsRun

    return DigitsRun(cfg, device)


WORKLOAD = WorkloadDef(
    name="s4",
    title="Efficiently Modeling Long Sequences with Structured State Spaces",
    arxiv="2111.00396",
    family="recurrent",
    config=Config,
    build=build,
    metric="val/acc",
    mode="max",
    summary="Sequential glyph digits at L = 1024: S4 vs Transformer vs LSTM at equal steps; conv = recurrent.",
)
