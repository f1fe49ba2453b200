"""DefSent+ (Liu 2024) against DefSent (Tsukagoshi et al. 2021) and mean pooling, at toy scale.

A small masked LM is pretrained on sentences of a synthetic dictionary language
(:mod:`workloads.defsent_plus.lexicon`); then the encoder is fine-tuned to classify a definition
into its dictionary entry. DefSent scores entries with the frozen tied word embeddings (so only
single-token entries, in an anisotropic space); DefSent+ scores them by cosine against the
encoder's own encodings of the entry names (every entry, multi-token ones included), whitened
and refreshed as training goes. Sentence embeddings are scored by Spearman ρ on a toy STS set of
novel concepts whose gold similarity is the cosine of their feature vectors.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(1100, ge=1, description="Total steps: pretrain_steps of MLM, then definition fine-tuning (mean: all MLM).")
    eval_every: int = Field(1100, ge=1, description="Evaluate and report every this many steps.")
    method: Literal["mean", "defsent", "defsent_plus"] = Field(
        "defsent_plus",
        description="'mean': the pretrained LM's pooled states; 'defsent': fine-tune on single-token entries via the "
        "frozen tied embeddings; 'defsent_plus': fine-tune on all entries via isotropic name encodings.",
    )
    pretrain_steps: int = Field(800, ge=0, description="MLM pretraining steps (each of `batch` synthetic sentences).")
    pooling: Literal["mean", "cls"] = Field("mean", description="Sentence embedding: mean over non-pad states, or the CLS state.")
    isotropy: Literal["none", "normalize", "whiten"] = Field(
        "whiten", description="DefSent+: how entry encodings are processed before the cosine (then L2-normalised)."
    )
    tau: float = Field(0.05, gt=0, description="DefSent+: cosine temperature.")
    refresh_every: int = Field(25, ge=0, description="DefSent+: rebuild entry embeddings every this many fine-tuning steps (0: only once).")
    coverage: float = Field(1.0, gt=0, le=1, description="DefSent+: share of the dictionary's entries used (a fixed random subset).")
    d_model: int = Field(64, ge=8, description="Encoder width.")
    n_layers: int = Field(2, ge=1, description="Encoder blocks.")
    n_heads: int = Field(4, ge=1, description="Attention heads.")
    batch: int = Field(64, ge=2, description="Sentences (pretraining) or definitions (fine-tuning) per step.")
    pretrain_lr: float = Field(3.0e-3, gt=0, description="AdamW learning rate of MLM pretraining (cosine decay).")
    lr: float = Field(1.0e-3, gt=0, description="AdamW learning rate of definition fine-tuning (cosine decay).")
    warmup: int = Field(50, ge=0, description="Linear learning-rate warmup steps at the start of each phase.")
    mask_rate: float = Field(0.3, gt=0, lt=1, description="MLM: share of the non-CLS tokens masked.")
    n_concepts: int = Field(300, ge=10, description="Dictionary entries.")
    n_features: int = Field(24, ge=4, description="Semantic features.")
    n_categories: int = Field(12, ge=2, description="Concept prototypes (categories).")
    proto_features: int = Field(5, ge=1, description="Features per prototype.")
    n_synonyms: int = Field(2, ge=1, description="Interchangeable tokens per feature.")
    multi_share: float = Field(0.4, ge=0, lt=1, description="Share of entries with 2-3-token names.")
    n_pieces: int = Field(60, ge=2, description="Pool of meaningless pieces multi-token names are built from.")
    n_pairs: int = Field(1000, ge=10, description="STS pairs of novel descriptions.")

    @model_validator(mode="after")
    def _phases_fit(self) -> "Config":
        if self.steps < self.pretrain_steps:
            raise ValueError(f"steps ({self.steps}) must be at least pretrain_steps ({self.pretrain_steps})")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        if self.proto_features > self.n_features:
            raise ValueError(f"proto_features ({self.proto_features}) exceeds n_features ({self.n_features})")
        if self.method == "defsent" and self.multi_share > 0.95:
            raise ValueError(f"method 'defsent' needs single-token entries: multi_share ({self.multi_share}) leaves almost none")
        return self


def build(cfg: Config, device: str):
    """A DefSent run on CPU."""
    from workloads.defsent_plus.trainer import DefSentRun

    return DefSentRun(cfg)


WORKLOAD = WorkloadDef(
    name="defsent_plus",
    title="DefSent+: Improving sentence embeddings of language models by projecting definition sentences into a "
    "quasi-isotropic or isotropic vector space of unlimited dictionary entries",
    arxiv="2405.16153",
    family="applied",
    config=Config,
    build=build,
    metric="val/spearman",
    mode="max",
    summary="Synthetic dictionary + toy STS: DefSent+ (whitened name encodings) vs DefSent (tied embeddings) vs mean pooling.",
)
