"""Next-element prediction compared across fields (Tax, Teinemaa and van Zelst 2020): toy scale.

Machine-learning (Markov-k, HMM, GRU), process-mining (prefix-tree transition system) and
grammar-inference (ALERGIA) predictors on synthetic process logs whose F/G event depends on a
choice made before a loop of random length: only a model with unbounded memory gets it right.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(1000, ge=1, description="GRU: Adam steps. hmm/baselines: Baum-Welch iterations.")
    eval_every: int = Field(250, ge=1, description="Evaluate and report every this many steps.")
    model: Literal["gru", "hmm", "baselines"] = Field(
        "gru", description="'gru'; 'hmm' alone; 'baselines' = Markov-1/2/3, prefix tree, ALERGIA and HMM, best reported."
    )
    hidden: int = Field(64, ge=4, description="GRU width.")
    lr: float = Field(3.0e-3, gt=0, description="GRU Adam learning rate.")
    batch: int = Field(32, ge=1, description="GRU traces per step.")
    hmm_states: int = Field(8, ge=1, description="HMM hidden states.")
    alergia_alpha: float = Field(0.05, gt=0, lt=1, description="ALERGIA's Hoeffding test level (ε).")
    n_train: int = Field(2000, ge=10, description="Training traces.")
    n_test: int = Field(500, ge=10, description="Test traces.")
    loop_mean: float = Field(3.0, ge=1.0, description="Mean number of loop iterations (geometric, ≥ 1).")
    noise: float = Field(0.05, ge=0, lt=1, description="Probability of a random activity inserted after each event.")
    n_activities: int = Field(10, ge=8, description="Activities (A..H plus noise-only ones).")


def build(cfg: Config, device: str):
    """A NextElement run on CPU."""
    from workloads.next_element.trainer import NextElement

    return NextElement(cfg)


WORKLOAD = WorkloadDef(
    name="next_element",
    title="An Interdisciplinary Comparison of Sequence Modeling Methods for Next-Element Prediction",
    arxiv="1811.00062",
    family="algorithmic",
    config=Config,
    build=build,
    metric="val/acc",
    mode="max",
    summary="Process logs with a long-range choice: GRU vs Markov-k, HMM, prefix tree and ALERGIA.",
)
