"""Stuffed Mamba (Chen et al. 2024): state collapse beyond the training length, and its mitigation.

A tiny :class:`workloads.nn.ssm.MambaLM` char-LM on Python stdlib source
(:mod:`workloads.tasks.stdlib_text`) is trained at ``train_len`` tokens and evaluated at
``eval_len``: per-position loss at short and long positions, the state norm, and the long-position
loss under two training-free mitigations (a block-restart state window, and Δ scaling).
``task: passkey`` trains passkey retrieval (:mod:`workloads.tasks.passkey`) and measures the
longest context with ≥ 90 % retrieval (the paper's state-capacity experiment).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads import checks
from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    task: Literal["lm", "passkey"] = Field("lm", description="lm: char-LM length extrapolation; passkey: retrieval capacity.")
    steps: int = Field(300, ge=1, description="Optimisation steps (train_step calls).")
    eval_every: int = Field(300, ge=1, description="Evaluate and report every this many steps.")
    train_len: int = Field(64, ge=2, description="Training sequence length (tokens).")
    eval_len: int = Field(2048, ge=4, description="Held-out sequence length for the per-position loss.")
    short_len: int = Field(64, ge=1, description="val/loss averages positions < short_len.")
    long_from: int = Field(1024, ge=1, description="val/loss_long averages positions >= long_from (< eval_len).")
    d_model: int = Field(32, ge=4, description="Model width.")
    n_layers: int = Field(2, ge=1, description="Residual Mamba blocks.")
    d_state: int = Field(16, ge=1, description="SSM state size N per channel.")
    expand: int = Field(2, ge=1, description="d_inner = expand · d_model.")
    heads: int = Field(1, ge=1, description="Kernel heads (layout only; B and C are shared as in Mamba-1).")
    dt_min: float = Field(1.0e-3, gt=0, description="Smallest initial Δ.")
    dt_max: float = Field(1.0e-1, gt=0, description="Largest initial Δ.")
    chunk_size: int = Field(16, ge=1, description="selective_scan chunk size (a power of two).")
    lr: float = Field(3.0e-3, gt=0, description="AdamW learning rate (cosine decay to 10%).")
    batch: int = Field(16, ge=1, description="Sequences per step.")
    eval_batch: int = Field(8, ge=1, description="Held-out sequences of eval_len tokens (passkey: per length).")
    short_batch: int = Field(128, ge=1, description="Held-out windows of short_len tokens for val/loss.")
    window: int = Field(64, ge=1, description="Mitigation: state window r (block restart, r..2r-1 tokens seen).")
    delta_scale: float = Field(2.0, gt=0, description="Mitigation: Δ multiplied by this at evaluation.")
    n_digits: int = Field(5, ge=1, description="Passkey: digits in the key.")
    n_filler: int = Field(16, ge=1, description="Passkey: filler vocabulary (the filler repeats one phrase).")
    passkey_lengths: tuple[int, ...] = Field((128, 256, 512, 1024), description="Passkey: evaluation lengths.")

    @model_validator(mode="after")
    def _sizes_fit(self) -> "Config":
        checks.power_of_two(self, "chunk_size", why="selective_scan's chunk size")
        checks.divisible(self, ("expand", "d_model"), "heads", why="d_inner splits into equal kernel heads")
        if self.task == "lm" and not self.short_len <= self.long_from < self.eval_len:
            raise ValueError(
                f"task 'lm' needs short_len ({self.short_len}) <= long_from ({self.long_from}) < eval_len ({self.eval_len})"
            )
        if self.task == "passkey":
            if not self.passkey_lengths:
                raise ValueError("passkey_lengths (()) is empty: task 'passkey' evaluates at these lengths")
            shortest = 2 * self.n_digits + 3
            for name, length in (("train_len", self.train_len), ("passkey_lengths", min(self.passkey_lengths))):
                if length < shortest:
                    raise ValueError(
                        f"{name} ({length}) is too short for n_digits ({self.n_digits}): task 'passkey' needs "
                        f">= 2 x n_digits + 3 = {shortest} tokens"
                    )
        return self


def build(cfg: Config, device: str):
    """A Stuffed Mamba run on ``device``."""
    from workloads.stuffed_mamba.trainer import StuffedMambaRun

    if cfg.task == "lm" and not cfg.short_len <= cfg.long_from < cfg.eval_len:
        raise ValueError(f"need short_len <= long_from < eval_len, got {cfg.short_len}, {cfg.long_from}, {cfg.eval_len}")
    return StuffedMambaRun(cfg, device)


WORKLOAD = WorkloadDef(
    name="stuffed_mamba",
    title="Stuffed Mamba: State Collapse and State Capacity of RNN-Based Long-Context Modeling",
    arxiv="2410.07145",
    family="recurrent",
    config=Config,
    build=build,
    metric="val/loss",
    mode="min",
    summary="Char-LM Mamba trained at 64 tokens: loss and state norm at 2048, state window and Δ scaling.",
)
