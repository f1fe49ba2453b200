"""DeltaProduct (Siems et al. 2025): n_h delta-rule steps per token, β ∈ [0, 2].

Toy claim: on the S₃ word problem (running product of permutations), a 1-layer DeltaProduct
with n_h = 2 and β ∈ [0, 2] tracks the state, while DeltaNet (n_h = 1) and n_h = 2 with
β ∈ [0, 1] (no negative eigenvalues) do not.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from workloads import checks
from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(600, ge=1, description="AdamW steps.")
    eval_every: int = Field(300, ge=1, description="Evaluate and report every this many steps.")
    group: str = Field("S3", pattern=r"^[SZ][0-9]+$", description="Word-problem group: Sn (permutations) or Zm (cyclic; Z2 = parity).")
    n_householder: int = Field(2, ge=1, le=4, description="n_h: delta-rule (Householder) steps per token; 1 is DeltaNet.")
    negative_eigenvalues: bool = Field(True, description="β = 2σ(·) ∈ [0, 2] (eigenvalues in [−1, 1]); False: β ∈ [0, 1].")
    short_conv: bool = Field(False, description="Causal depthwise conv (size 4) + SiLU on q, k, v, as in fla; False (default): SiLU on q, k only, so a token's transition depends on that token alone.")
    layers: int = Field(1, ge=1, description="Stacked DeltaProduct blocks.")
    d_model: int = Field(64, ge=4, description="Model width.")
    n_heads: int = Field(4, ge=1, description="Heads.")
    head_dim: int = Field(16, ge=1, description="Per-head key/value size.")
    train_length: int = Field(32, ge=2, description="Training sequence length.")
    test_length: int = Field(64, ge=2, description="Length of the longer test sequences (extrapolation).")
    batch: int = Field(32, ge=1, description="Sequences per step.")
    lr: float = Field(3.0e-3, gt=0, description="AdamW learning rate.")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay.")
    n_test: int = Field(512, ge=8, description="Held-out sequences per test length (fixed per seed).")
    backend: str | None = Field(None, description="delta_rule kernel backend (None: chunked on CPU, Triton on CUDA).")

    @model_validator(mode="after")
    def _group_nontrivial(self) -> "Config":
        if int(self.group[1:]) < 2:
            raise ValueError(f"group ({self.group!r}) needs n >= 2 (S2, S3, ... or Z2, Z3, ...): smaller groups have under 2 elements")
        return self


def build(cfg: Config, device: str):
    """A DeltaProduct language model on the word problem."""
    from workloads.deltaproduct.trainer import DeltaProductRun

    return DeltaProductRun(cfg, device)


WORKLOAD = WorkloadDef(
    name="deltaproduct",
    title="DeltaProduct: Improving State-Tracking in Linear RNNs via Householder Products",
    arxiv="2502.10297",
    family="recurrent",
    config=Config,
    build=build,
    metric="val/acc",
    mode="max",
    summary="S3 word problem: DeltaProduct n_h=2, β∈[0,2] vs DeltaNet and β∈[0,1].",
)
