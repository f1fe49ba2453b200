"""Neural-Symbolic Recursive Machine (Li et al., ICLR 2024) at toy scale: HINT-lite.

Arithmetic expressions over digits with + - x and parentheses, supervised only by their value
mod 100; trained on <= 3 operators, tested on 4-6. NSR-lite learns a transition parser and one
DSL program per symbol by deduction-abduction; the baseline is a small Transformer emitting the
value digits.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(30, ge=1, description="nsr: EM iterations (catalogue: ~20); transformer: Adam steps.")
    eval_every: int = Field(10, ge=1, description="Evaluate and report every this many steps.")
    variant: Literal["nsr", "transformer"] = Field("nsr", description="'nsr' (parser + programs + abduction) or the 'transformer' baseline.")
    n_train: int = Field(2000, ge=10, description="Training expressions (<= 3 operators; NSR's pool).")
    n_test: int = Field(100, ge=1, description="Test expressions per operator count (4, 5, 6; and 1-3).")
    p_paren: float = Field(0.5, ge=0, le=1, description="Chance of redundant parentheses around a sub-expression (train and test).")
    batch: int = Field(100, ge=1, description="nsr: expressions per EM iteration; transformer: sequences per step.")
    curriculum: int = Field(3, ge=1, description="nsr: EM iterations per curriculum stage (max operators 1, 2, then 3).")
    samples: int = Field(8, ge=1, description="nsr: sampled parses per expression in deduction.")
    temp: float = Field(0.5, gt=0, description="nsr: sampling temperature of the parser in deduction.")
    beam: int = Field(10, ge=1, description="nsr: abduction beam width.")
    depth: int = Field(2, ge=0, description="nsr: abduction depth (edits along one branch).")
    c_val: float = Field(1.0, ge=0, description="nsr: base cost of a value edit.")
    c_prog: float = Field(0.5, ge=0, description="nsr: base cost of a program edit.")
    c_tree: float = Field(1.0, ge=0, description="nsr: cost of a tree edit (arc rotation).")
    c_parse: float = Field(0.5, ge=0, description="nsr: cost per nat of parse log-probability below the best sample.")
    memory: int = Field(3, ge=1, description="nsr: EM iterations of fixed trees and examples kept for induction and parser training.")
    hidden: int = Field(64, ge=4, description="nsr: parser MLP width.")
    lstm: int = Field(0, ge=0, description="nsr: BiLSTM width for contextual parser features (0: none, the feature-only MLP; 32 is ~10x slower and did not help on seed 100).")
    parser_steps: int = Field(150, ge=1, description="nsr: parser updates per EM iteration.")
    parser_batch: int = Field(128, ge=1, description="nsr: transitions per parser update.")
    d_model: int = Field(128, ge=8, description="transformer: width.")
    n_layers: int = Field(2, ge=1, description="transformer: layers (the claim uses 4: depth, not width, lifted 1-3 operator accuracy in calibration).")
    n_heads: int = Field(4, ge=1, description="transformer: attention heads per layer (must divide d_model).")
    pos: Literal["learned", "rope"] = Field(
        "learned",
        description="transformer: 'learned' absolute positions (untrained past the longest training expression) "
        "or 'rope' rotary positions (relative, defined at any length).",
    )
    lr: float = Field(3.0e-3, gt=0, description="Adam learning rate (parser; or the Transformer's peak, after 100 warm-up steps and before a cosine decay to 0).")

    @model_validator(mode="after")
    def _transformer_shape(self) -> "Config":
        if self.variant == "transformer" and self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        if self.variant == "transformer" and self.pos == "rope" and (self.d_model // self.n_heads) % 2:
            raise ValueError(f"pos 'rope' needs an even head size; d_model / n_heads is {self.d_model // self.n_heads}")
        return self


def build(cfg: Config, device: str):
    """An NSR-lite or Transformer run on CPU."""
    if cfg.variant == "nsr":
        from workloads.nsr.learner import NSRRun

        return NSRRun(cfg)
    from workloads.nsr.baseline import TransformerRun

    return TransformerRun(cfg)


WORKLOAD = WorkloadDef(
    name="nsr",
    title="Neural-Symbolic Recursive Machine for Systematic Generalization",
    arxiv="2210.01603",
    family="algorithmic",
    config=Config,
    build=build,
    metric="val/acc",
    mode="max",
    summary="NSR-lite (parser + induced programs + abduction) vs a Transformer on HINT-lite length split.",
    checkpointable=False,  # its runs offer no state_dict
)
