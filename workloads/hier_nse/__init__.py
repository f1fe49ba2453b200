"""Read, Highlight and Summarize: Hierarchical Neural Semantic Encoder (Ambati, Bandyopadhyay
and Mitra 2019): toy scale.

An abstractive summariser whose encoder is a hierarchy of Neural Semantic Encoders (one memory
per sentence plus a document memory, each step reading, composing and writing memory) and whose
decoder is an NSE over the sentence memories with a pointer-generator copy; optional factored
inputs (word + lemma + inflection + POS embeddings). Against a flat bi-LSTM attention + copy
seq2seq on synthetic highlight documents, by ROUGE-L (rouge-score), overall and on a split with
rare inflections.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from workloads.api import WorkloadConfig, WorkloadDef
from workloads.checks import at_most


class Config(WorkloadConfig):
    steps: int = Field(400, ge=1, description="Adam steps (batches of documents).")
    eval_every: int = Field(400, ge=1, description="Evaluate every this many steps.")
    model: Literal["hier_nse", "flat"] = Field("hier_nse", description="Hierarchical NSE summariser, or the flat bi-LSTM attention + copy seq2seq.")
    factored: bool = Field(True, description="Input embedding: [word; lemma; inflection; POS] (True) or word only (False).")
    use_copy: bool = Field(True, description="Pointer-generator output (copy from the document); False: vocabulary softmax only.")
    d: int = Field(32, ge=8, description="Embedding, memory and LSTM width (the flat encoder is d per direction).")
    word_dropout: float = Field(0.1, ge=0, lt=1, description="Probability a training document's content word gets the UNK word vector (its factors stay).")
    lr: float = Field(2.0e-2, gt=0, description="Adam learning rate (cosine decay to a tenth).")
    batch: int = Field(32, ge=1, description="Documents per step.")
    clip: float = Field(1.0, gt=0, description="Gradient-norm clipping threshold.")
    n_train: int = Field(10000, ge=10, description="Training documents.")
    n_test: int = Field(500, ge=10, description="Documents in the test set and in the rare-inflection test split.")
    n_sent: int = Field(8, ge=2, description="Sentences per document.")
    sent_len: int = Field(8, ge=4, description="Tokens per sentence: a marker, a period and sent_len - 2 content words.")
    n_highlights: int = Field(2, ge=1, description="Highlight (cue-marked) sentences per document; the summary is their content words.")
    summary_form: Literal["base_rare", "surface", "base"] = Field("base_rare", description="How the summary states a word: base_rare puts the rare inflection in base form (inflection 0) and copies the rest; surface copies all; base restates all.")
    n_lemmas: int = Field(120, ge=4, description="Lemmas; the word vocabulary is n_lemmas x n_infl.")
    n_infl: int = Field(4, ge=2, description="Inflections per lemma; the last one is rare in training.")
    rare_p_train: float = Field(0.3, ge=0, le=1, description="Probability a training word of a rare-taking lemma (half of them) has the rare inflection.")
    rare_p_test: float = Field(0.5, ge=0, le=1, description="Probability a word of the rare split (any lemma) has the rare inflection.")

    @model_validator(mode="after")
    def _fits(self) -> "Config":
        at_most(self, "n_highlights", "n_sent", strict=True, why="some sentences must not be highlights")
        if self.factored and self.d % 8:
            raise ValueError(f"d ({self.d}) must be divisible by 8 when factored is true: the embedding is [word d/2; lemma d/4; inflection d/8; POS d/8]")
        return self


def build(cfg: Config, device: str):
    """A HierNse run; torch is imported inside the trainer."""
    from workloads.hier_nse.trainer import HierNse

    return HierNse(cfg, device)


WORKLOAD = WorkloadDef(
    name="hier_nse",
    title="Read, Highlight and Summarize: A Hierarchical Neural Semantic Encoder-based Approach",
    arxiv="1910.03177",
    family="applied",
    config=Config,
    build=build,
    metric="val/rougeL",
    mode="max",
    summary="Hierarchical NSE summariser (memory read/compose/write + copy) vs flat bi-LSTM copy seq2seq; ROUGE-L on highlight documents.",
)
