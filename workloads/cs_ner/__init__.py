"""Computer Science Named Entity Recognition in the Open Research Knowledge Graph (D'Souza and
Auer 2022): toy scale.

A BIO tagger for 7 contribution-centric entity types (research problem, solution, resource,
language, tool, method, dataset) on procedurally generated CS titles. The paper's tagger is a
pretrained transformer with a CRF; here a BiLSTM trained from scratch, with a per-token softmax
or a linear-chain CRF (learned transitions, Viterbi decoding), with or without a char-CNN, and
an exact-match gazetteer. Entity F1 (seqeval) overall and on names never seen in training.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads.api import WorkloadConfig, WorkloadDef


class Config(WorkloadConfig):
    steps: int = Field(500, ge=1, description="Adam steps (batches); ignored by the gazetteer.")
    eval_every: int = Field(500, ge=1, description="Evaluate every this many steps.")
    model: Literal["tagger", "gazetteer"] = Field("tagger", description="BiLSTM tagger, or exact lexicon match of training names.")
    crf: bool = Field(True, description="Tagger output: linear-chain CRF (True) or per-token softmax (False).")
    chars: bool = Field(True, description="Tagger input: add char-CNN word features to the word embedding.")
    emb: int = Field(64, ge=1, description="Word embedding width.")
    hidden: int = Field(64, ge=1, description="BiLSTM width per direction.")
    dropout: float = Field(0.3, ge=0, lt=1, description="Dropout on the BiLSTM input and output.")
    word_dropout: float = Field(0.5, ge=0, le=1, description="Probability a singleton training word is replaced by UNK.")
    lr: float = Field(3.0e-3, gt=0, description="Adam learning rate.")
    crf_lr_scale: float = Field(30.0, gt=0, description="The CRF's transition, start and end scores learn at lr times this.")
    batch: int = Field(32, ge=1, description="Sentences per step.")
    clip: float = Field(5.0, gt=0, description="Gradient-norm clipping threshold.")
    n_train: int = Field(5000, ge=10, description="Training sentences.")
    n_test: int = Field(1000, ge=10, description="Sentences in the test set and in the all-unseen test set.")
    unseen_frac: float = Field(0.3, ge=0, le=1, description="Probability a test mention is a name held out from training.")
    held_out: float = Field(0.3, ge=0, lt=1, description="Fraction of each type's names held out from training.")
    names_per_type: int = Field(80, ge=10, description="Names in each type's lexicon (real ones included).")
    templates: int = Field(40, ge=1, le=40, description="Sentence templates used (the first n of 40).")

    @model_validator(mode="after")
    def _held_out_names_exist(self) -> "Config":
        if self.held_out * self.names_per_type < 1:
            raise ValueError(
                f"held_out ({self.held_out}) x names_per_type ({self.names_per_type}) < 1: no names are held out, "
                "so the unseen test set cannot be drawn"
            )
        return self


def build(cfg: Config, device: str):
    """A CsNer run; torch is imported inside the trainer's tagger branch."""
    from workloads.cs_ner.trainer import CsNer

    return CsNer(cfg, device)


WORKLOAD = WorkloadDef(
    name="cs_ner",
    title="Computer Science Named Entity Recognition in the Open Research Knowledge Graph",
    arxiv="2203.14579",
    family="applied",
    config=Config,
    build=build,
    metric="val/f1",
    mode="max",
    summary="BiLSTM-CRF + char-CNN vs BiLSTM-softmax and a gazetteer on synthetic CS titles; F1 on unseen names.",
)
