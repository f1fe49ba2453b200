"""Creating A Neural Pedagogical Agent by Jointly Learning to Review and Assess (Lee et al. 2019): toy scale.

A bidirectional LSTM over a student's recent interactions, read by an attention whose query is
the target question, predicts whether the student answers it correctly; the attention weights
say which past items to review. Compared by AUC on new synthetic students with DKT (a forward
LSTM), logistic regression on [question, per-tag running accuracy] and the per-user mean.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(1500, ge=1, description="Adam steps (cosine decay to 0 over them).")
    eval_every: int = Field(500, ge=1, description="Evaluate and report every this many steps.")
    model: Literal["npa", "dkt", "logistic"] = Field(
        "npa", description="'npa' (the paper), 'dkt' (forward LSTM), 'logistic' (also reports the per-user mean)."
    )
    hidden: int = Field(64, ge=4, description="Embedding width d and LSTM width (per direction for NPA).")
    bidirectional: bool = Field(True, description="NPA: BiLSTM over the history window (off: forward LSTM).")
    attention: bool = Field(True, description="NPA: target-question attention over the window (off: masked mean).")
    use_tags: bool = Field(True, description="NPA and DKT: add the mean tag embedding to each question embedding.")
    history_window: int = Field(50, ge=1, description="NPA: past interactions it encodes per target (>= length: all).")
    lr: float = Field(3.0e-3, gt=0, description="Adam learning rate (peak of the cosine schedule).")
    batch: int = Field(32, ge=1, description="Students per step.")
    targets_per_student: int = Field(8, ge=1, description="NPA: random target steps per student per step (DKT and logistic use all).")
    clip: float = Field(1.0, gt=0, description="Gradient-norm clip.")
    n_skills: int = Field(10, ge=2, description="Skills K (tags).")
    n_questions: int = Field(200, ge=2, description="Questions Q, each with 1-2 tags.")
    n_train: int = Field(4000, ge=1, description="Training students.")
    n_test: int = Field(1000, ge=2, description="New test students (AUC is computed on them).")
    length: int = Field(50, ge=2, description="Interactions per student.")
    eta_low: float = Field(0.02, ge=0, description="Lower end of the per-student learning rate η ~ U(eta_low, eta_high).")
    eta_high: float = Field(0.1, ge=0, description="Upper end of η.")
    new_user_max: int = Field(10, ge=0, description="A prediction with at most this many prior interactions counts as a new user's.")

    @model_validator(mode="after")
    def _ranges(self) -> "Config":
        if self.eta_high < self.eta_low:
            raise ValueError(f"eta_high ({self.eta_high}) must be >= eta_low ({self.eta_low})")
        if self.new_user_max >= self.length - 1:
            raise ValueError(f"new_user_max ({self.new_user_max}) must be < length - 1 ({self.length - 1}) so both AUC subsets are non-empty")
        return self


def build(cfg: Config, device: str):
    """A PedagogicalAgent run on CPU."""
    from workloads.pedagogical_agent.trainer import PedagogicalAgent

    return PedagogicalAgent(cfg, device)


WORKLOAD = WorkloadDef(
    name="pedagogical_agent",
    title="Creating A Neural Pedagogical Agent by Jointly Learning to Review and Assess",
    arxiv="1906.10910",
    family="applied",
    config=Config,
    build=build,
    metric="val/auc",
    mode="max",
    summary="BiLSTM + target-question attention (NPA) vs DKT and logistic regression on synthetic students, by AUC.",
)
