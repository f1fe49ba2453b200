"""In-Context Language Learning (Akyürek et al. 2024): REGBENCH at toy scale.

Each training prompt is a run of strings from its own random probabilistic DFA; a model learns
to continue unseen languages from the prompt alone. Transformers do it better than recurrent
models because they form n-gram heads; a hard-wired n-gram head closes part of the gap.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads import checks
from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(800, ge=1, description="Adam steps, one batch of fresh DFAs each (catalogue: 1000–1500).")
    eval_every: int = Field(200, ge=1, description="Evaluate and report every this many steps.")
    arch: Literal["transformer", "lstm", "lstm_ngram"] = Field(
        "transformer", description="Model: tiny Transformer, LSTM, or LSTM with a hard-wired n-gram head."
    )
    layers: int = Field(2, ge=1, description="Transformer blocks or LSTM layers.")
    d_model: int = Field(64, ge=8, description="Transformer width.")
    n_heads: int = Field(4, ge=1, description="Transformer attention heads.")
    lstm_emb: int = Field(64, ge=4, description="LSTM token-embedding width.")
    lstm_hidden: int = Field(80, ge=4, description="LSTM hidden size (80: parameter-matched to the d=64 Transformer).")
    ngram_k: int = Field(2, ge=1, description="n-gram head context lengths 1..k (k = 2: up to a 3-gram head).")
    lr: float = Field(3.0e-3, gt=0, description="Adam learning rate.")
    batch: int = Field(32, ge=1, description="Prompts (each from its own DFA) per step.")
    seq_len: int = Field(64, ge=8, description="Tokens per prompt (about 10 strings).")
    vocab: int = Field(16, ge=4, description="Symbol vocabulary shared by all DFAs (plus one separator).")
    min_states: int = Field(4, ge=1, description="Fewest DFA states.")
    max_states: int = Field(6, ge=1, description="Most DFA states.")
    min_symbols: int = Field(4, ge=2, description="Smallest DFA alphabet.")
    max_symbols: int = Field(8, ge=2, description="Largest DFA alphabet.")
    min_out: int = Field(1, ge=1, description="Smallest out-degree of a DFA state.")
    max_out: int = Field(3, ge=1, description="Largest out-degree of a DFA state (capped at alphabet − 1).")
    min_len: int = Field(3, ge=1, description="Shortest string.")
    max_len: int = Field(8, ge=1, description="Longest string.")
    eval_prompts: int = Field(500, ge=1, description="Unseen test DFAs (one prompt each).")

    @model_validator(mode="after")
    def _ranges(self) -> "Config":
        for low, high in (("min_states", "max_states"), ("min_symbols", "max_symbols"), ("min_out", "max_out"), ("min_len", "max_len")):
            checks.at_most(self, low, high)
        checks.at_most(self, "max_symbols", "vocab", why="a DFA's alphabet is drawn from the vocabulary without replacement")
        if self.arch == "transformer":
            checks.heads_fit(self)
        return self


def build(cfg: Config, device: str):
    """An ICLL run on CPU."""
    from workloads.icll.trainer import ICLL

    return ICLL(cfg)


WORKLOAD = WorkloadDef(
    name="icll",
    title="In-Context Language Learning: Architectures and Algorithms",
    arxiv="2401.12973",
    family="algorithmic",
    config=Config,
    build=build,
    metric="val/acc",
    mode="max",
    summary="Random-DFA prompts: Transformer vs LSTM vs LSTM + n-gram head on next-token legality.",
)
