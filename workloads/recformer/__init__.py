"""Recformer (Li et al. 2023): items as key-value text, one encoder for sequences and items.

On a synthetic catalogue whose attributes explain user choices, with a quarter of the items cold
(never chosen by a training user), Recformer-lite (a 2-layer bidirectional encoder over
``[CLS]`` + the recent items' attribute tokens, cos/τ scoring against the same encoder's item
vectors) is compared with an ID-based SASRec and a SASRec over summed attribute embeddings, on
Recall@10 / NDCG@10 over all items, split by warm and cold targets, with all or 10 % of the users.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads.api import WorkloadConfig, WorkloadDef
from workloads.checks import at_most, heads_fit


class Config(WorkloadConfig):
    steps: int = Field(600, ge=1, description="Adam steps of `batch` training users each.")
    eval_every: int = Field(600, ge=1, description="Evaluate and report every this many steps.")
    model: Literal["recformer", "sasrec_id", "sasrec_attr"] = Field(
        "recformer",
        description="'recformer' (text encoder, no IDs), 'sasrec_id' (item-ID embeddings) or 'sasrec_attr' (summed attribute embeddings).",
    )
    train_frac: float = Field(1.0, gt=0, le=1, description="Share of the n_train training users used (0.1 = the low-resource setting).")
    d_model: int = Field(64, ge=4, description="Width of every model.")
    n_layers: int = Field(2, ge=1, description="Transformer blocks (Recformer's bidirectional encoder, SASRec's causal stack).")
    n_heads: int = Field(4, ge=1, description="Attention heads per block.")
    max_items: int = Field(6, ge=1, description="Most recent history items a model reads to predict the next one (catalogue 10; 6 gives its ~60 tokens).")
    tau: float = Field(0.05, gt=0, description="Recformer temperature τ of the cos(h_s, h_i)/τ score.")
    refresh_every: int = Field(50, ge=1, description="Recformer: steps between re-encodings of the item matrix (the stale negatives).")
    mlm_weight: float = Field(0.0, ge=0, description="Recformer: weight of the masked-value-token MLM loss added to the contrastive loss (0 = off).")
    mask_prob: float = Field(0.15, gt=0, lt=1, description="Recformer MLM: share of value tokens masked.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout in every model's blocks / input.")
    lr: float = Field(1.0e-3, gt=0, description="Adam learning rate (constant).")
    batch: int = Field(32, ge=2, description="Training users per step (Recformer: one random cut each; SASRec: every position).")
    n_items: int = Field(1000, ge=20, description="Items in the catalogue (catalogue 2,000; halved so ID embeddings see ~80 interactions each).")
    cold_frac: float = Field(0.25, ge=0, lt=1, description="Share of items that no training user ever chooses (cold items).")
    n_categories: int = Field(20, ge=2, description="Item categories.")
    n_brands: int = Field(60, ge=2, description="Item brands.")
    n_colours: int = Field(8, ge=1, description="Item colours.")
    words_per_category: int = Field(20, ge=1, description="Title words in each category's word list.")
    title_len: int = Field(3, ge=1, description="Words per item title.")
    n_train: int = Field(6000, ge=10, description="Training users (before train_frac).")
    n_eval: int = Field(800, ge=10, description="Held-out users in each of the validation and test splits.")
    len_min: int = Field(5, ge=2, description="Fewest items per user sequence.")
    len_max: int = Field(15, ge=2, description="Most items per user sequence.")
    n_fav_brands: int = Field(3, ge=1, description="Favourite brands per user.")
    fav_boost: float = Field(2.0, ge=0, description="Log-boost of a user's 2 favourite categories in the category chain.")
    brand_weight: float = Field(4.0, ge=0, description="Choice logit bonus of an item of a favourite brand.")
    colour_weight: float = Field(2.0, ge=0, description="Choice logit bonus of an item of the favourite colour.")
    quality_std: float = Field(0.5, ge=0, description="Std of the hidden per-item quality term (learnable by ID embeddings only).")

    @model_validator(mode="after")
    def _check(self) -> "Config":
        at_most(self, "len_min", "len_max")
        heads_fit(self)
        at_most(self, "n_fav_brands", "n_brands")
        if self.n_categories < 2:
            raise ValueError("n_categories must be >= 2: users have 2 favourite categories")
        if round(self.train_frac * self.n_train) < self.batch:
            raise ValueError(
                f"train_frac ({self.train_frac}) x n_train ({self.n_train}) = {round(self.train_frac * self.n_train)} "
                f"users must be >= batch ({self.batch})"
            )
        return self


def build(cfg: Config, device: str):
    """A Recformer or SASRec run on ``device``."""
    from workloads.recformer.trainer import RecRun

    return RecRun(cfg, device)


WORKLOAD = WorkloadDef(
    name="recformer",
    title="Text Is All You Need: Learning Language Representations for Sequential Recommendation",
    arxiv="2305.13731",
    family="applied",
    config=Config,
    build=build,
    metric="val/recall10_cold",
    mode="max",
    summary="Items as attribute text (no IDs) vs ID-based SASRec on cold items and with 10% of the users.",
)
